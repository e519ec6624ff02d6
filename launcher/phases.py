"""The launcher's phases over one Context: resolve -> (cache) -> download -> run -> collect -> upload -> record."""

from __future__ import annotations

import json
import os
import signal
import time
import traceback
from pathlib import Path
from typing import Any, Callable

from launcher import cache, values, wire
from launcher.context import Context, InputArtifact, OutputArtifact
from launcher.errors import LauncherError, NotFound, RecordError, SpecError
from launcher.invocation import command_line
from launcher.metrics import write_metrics
from launcher.options import ReferenceEdit
from launcher.placeholders import references
from launcher.process import Terminated, run_command
from launcher.publish import publish_outputs
from launcher.records import build_record, open_sink
from launcher.stores import split_uri
from launcher.stores.base import remove_path

WORKSPACE_PLACEHOLDER = "{{$.workspace_path}}"
"""The KFP SDK passes the pipeline workspace's path to a task as this constant input value."""

SDK_MOUNTS = {"s3": "s3", "minio": "minio", "gs": "gcs"}
"""URI scheme -> the KFP SDK's local mount directory (kfp.dsl.types.artifact_types)."""


def execute(ctx: Context) -> int:
    """Run every phase; always try to write the record; return the task's exit code."""
    try:
        _timed(ctx, "resolve", resolve)
        if ctx.options.cache:
            _timed(ctx, "cache", check_cache)
        if not ctx.cache_hit:
            _timed(ctx, "download", download)
            _timed(ctx, "run", run)
            if ctx.exit_code == 0 and not ctx.error:
                _timed(ctx, "collect", collect)
                _timed(ctx, "upload", upload)
    except LauncherError as error:
        _fail(ctx, str(error), 1)
    except Terminated as stop:
        _fail(ctx, f"stopped by {signal.Signals(stop.signum).name}", 128 + stop.signum)
    except Exception as error:  # a launcher bug: report it with its traceback, still record the attempt
        ctx.say("internal error, please report:\n" + traceback.format_exc())
        _fail(ctx, f"internal error: {error!r}", 1)
    finally:
        for path in ctx.staging:
            remove_path(path)
    return finish(ctx)


def finish(ctx: Context) -> int:
    """Record the attempt; only then, and only on success, publish outputs and the cache entry."""
    succeeded = ctx.exit_code == 0 and not ctx.error
    record = build_record(ctx)
    if ctx.options.records:
        try:
            open_sink(ctx.options.records, ctx.stores).write(record)
        except RecordError as error:
            ctx.say(str(error))
            if succeeded:
                ctx.error, ctx.exit_code, succeeded = str(error), 1, False
                record = build_record(ctx)
    if succeeded:
        try:
            publish_outputs(ctx.options.outputs_dir, ctx.spec, ctx.output_values, ctx.published_refs,
                            ctx.options.escape_tags)
        except OSError as error:
            ctx.say(f"cannot write the outputs to {ctx.options.outputs_dir}: {error.strerror or error}")
            return 1
        if ctx.cache_key and not ctx.cache_hit:
            cache.save(ctx, ctx.cache_key)
        ctx.say(f"succeeded in {time.time() - ctx.started:.2f} s" + (" (cache hit)" if ctx.cache_hit else ""))
    else:
        ctx.say(f"failed: {ctx.error}; no outputs published")
    if ctx.options.metrics_file:
        try:
            write_metrics(ctx.options.metrics_file, record)
        except OSError as error:
            ctx.say(f"metrics file {ctx.options.metrics_file} not written: {error}")
    return 0 if succeeded else (ctx.exit_code or 1)


# ---------------------------------------------------------------------------------------------
# resolve


def resolve(ctx: Context) -> None:
    """Type the input values, parse artifact references, and lay out every local path."""
    spec, options = ctx.spec, ctx.options
    for flag, given, known in (("--param", options.params, spec.input_params),
                               ("--artifact", options.artifacts, spec.input_artifacts)):
        unknown = sorted(set(given) - set(known))
        if unknown:
            raise SpecError(f"{flag} {', '.join(unknown)}: not an input of this component")
    for name, declared in spec.input_params.items():
        if name in options.params and not (options.escape_tags and options.params[name] == wire.ABSENT):
            try:
                value = _decode_input(options.params[name], declared.type, options.escape_tags)
                if isinstance(value, str) and WORKSPACE_PLACEHOLDER in value:  # dsl.WORKSPACE_PATH_PLACEHOLDER
                    value = value.replace(WORKSPACE_PLACEHOLDER, options.workspace_path)
                ctx.params[name] = value
            except values.TypeMismatch as error:
                raise SpecError(f"input parameter {name!r}: {error}") from None
        elif declared.has_default and declared.default is not None:
            ctx.params[name] = declared.default
        elif not declared.optional:
            raise SpecError(f"input parameter {name!r} is required but was not passed")
    for name, declared in spec.input_artifacts.items():
        if name in options.artifacts and not (options.escape_tags and options.artifacts[name] == wire.ABSENT):
            edits = options.artifact_edits.get(name)
            refs = _references(options.artifacts[name], name, declared.is_list, need_uri=not edits)
            if edits:
                refs = [_edited(refs, name, edits)]
            if options.escape_tags:
                refs = [wire.unescape_tree(ref) for ref in refs]
            ctx.inputs[name] = [_input(ctx, name, ref, declared.schema_title, declared.schema_version) for ref in refs]
        elif not declared.optional:
            raise SpecError(f"input artifact {name!r} is required but was not passed")
    outputs_tmp = ctx.scratch / "outputs"
    for name in spec.output_params:
        ctx.output_files[name] = outputs_tmp / "parameters" / name
    ctx.executor_output = outputs_tmp / "executor_output.json"
    for name, declared in spec.output_artifacts.items():
        uri = f"{options.output_root}/{name}"
        own = ctx.stores.for_uri(uri).local_path(uri)
        if own is not None:
            staging = own.parent / f".kfp-staging-{os.urandom(4).hex()}"
            ctx.staging.append(staging)
            local, executor_uri = staging / own.name, str(staging / own.name)
        else:
            local, executor_uri = _mount_path(ctx, uri)
        ctx.outputs[name] = OutputArtifact(name, uri, declared.schema_title, declared.schema_version,
                                           declared.is_list, local, executor_uri)


def _decode_input(text: str, kind: str, escaped: bool) -> Any:
    """A ``--param`` value typed; tag-escaped text (``launcher.wire``) decoded first when ``escaped``."""
    if not escaped:
        return values.decode(text, kind)
    value = values.decode(wire.unescape_text(text), kind)
    return value if kind == values.STRING else wire.unescape_tree(value)


def _references(text: str, name: str, is_list: bool, need_uri: bool = True) -> list[dict[str, Any]]:
    """``--artifact`` value -> reference objects (docs/task-spec.md, "References")."""
    refs = []
    for item in _flatten(_maybe_json(text)):
        if isinstance(item, str):
            item = {"uri": item}
        if not isinstance(item, dict) or not isinstance(item.get("uri"), str) or (need_uri and not item["uri"]):
            raise SpecError(f"--artifact {name}: {str(item)[:80]!r} is not an artifact reference with a uri")
        refs.append(item)
    if not is_list and len(refs) != 1:
        raise SpecError(f"--artifact {name}: expected one artifact reference, got {len(refs)}")
    return refs


def _edited(refs: list[dict[str, Any]], name: str, edits: list[ReferenceEdit]) -> dict[str, Any]:
    """The one reference of ``name`` with run-time strings put in (values first, then key names)."""
    if len(refs) != 1:
        raise SpecError(f"--artifact-set/--artifact-key {name}: needs exactly one reference, got {len(refs)}")
    ref = refs[0]
    for edit in sorted(edits, key=lambda e: (e.key, -len(e.path))):  # deepest keys first: paths stay valid
        parent: Any = ref
        try:
            for step in edit.path[:-1]:
                parent = parent[step]
            last = edit.path[-1]
            if edit.key:
                parent[edit.text] = parent.pop(last)
            else:
                parent[last] = edit.text
        except (KeyError, IndexError, TypeError):
            raise SpecError(f"--artifact-set/--artifact-key {name}: {list(edit.path)} is not in the reference") from None
    if not isinstance(ref.get("uri"), str) or not ref["uri"]:
        raise SpecError(f"--artifact {name}: the reference has no uri after its run-time parts were set")
    return ref


def _maybe_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text  # a bare URI


def _flatten(data: Any) -> list[Any]:
    """References from nested lists (collected across nested loops) and JSON-encoded elements, in order."""
    if isinstance(data, str):
        decoded = _maybe_json(data)
        return [decoded] if isinstance(decoded, str) else _flatten(decoded)
    if isinstance(data, list):
        return [ref for item in data for ref in _flatten(item)]
    return [data]


def _input(ctx: Context, name: str, ref: dict[str, Any], title: str, version: str) -> InputArtifact:
    kind = ref.get("type") if isinstance(ref.get("type"), dict) else {}
    artifact = InputArtifact(name, ref["uri"], str(ref.get("name") or name), kind.get("schemaTitle") or title,
                             kind.get("schemaVersion") or version, dict(ref.get("metadata") or {}),
                             ref.get("digest"), ref.get("size"))
    own = ctx.stores.for_uri(artifact.uri).local_path(artifact.uri)
    if own is not None:
        artifact.local, artifact.executor_uri = own, str(own)
    else:
        artifact.local, executor_uri = _mount_path(ctx, artifact.uri)
        artifact.executor_uri = executor_uri
    return artifact


def _mount_path(ctx: Context, uri: str) -> tuple[Path, str]:
    """Local path of a remote artifact, and the URI to show the KFP SDK.

    With the mount root ``/`` (the default when writable) the paths are the SDK's own ``/s3/...``,
    ``/gcs/...``, ``/minio/...`` and the SDK sees the real URI; elsewhere it sees the local path as URI.
    """
    if ctx.mount_root is None:
        root = ctx.options.mount_root
        ctx.mount_root = root if root is not None else (Path("/") if os.access("/", os.W_OK) else ctx.scratch / "mnt")
    scheme, _ = split_uri(uri)
    local = ctx.mount_root / SDK_MOUNTS[scheme] / uri.split("://", 1)[1]
    return local, (uri if ctx.mount_root == Path("/") else str(local))


# ---------------------------------------------------------------------------------------------
# cache, download, run


def check_cache(ctx: Context) -> None:
    for items in ctx.inputs.values():
        for artifact in items:
            if not artifact.digest:
                try:
                    stat = ctx.stores.for_uri(artifact.uri).stat(artifact.uri, digest=True)
                except NotFound:
                    artifact.digest = "absent"  # metadata only (see download)
                    continue
                artifact.digest, artifact.size = stat.digest, stat.size
    ctx.cache_key = cache.cache_key(ctx)
    entry = cache.lookup(ctx, ctx.cache_key)
    if entry is None:
        ctx.say(f"cache miss (key {ctx.cache_key[:12]})")
        return
    outputs = entry.get("outputs", {})
    ctx.output_values = dict(outputs.get("parameters", {}))
    ctx.published_refs = dict(outputs.get("artifacts", {}))
    ctx.cache_source = {"run_id": entry.get("run_id"), "task_path": entry.get("task_path")}
    ctx.cache_hit, ctx.exit_code = True, 0
    source = f"{entry.get('run_id')}/{entry.get('task_path')}"
    ctx.say(f"cache hit (key {ctx.cache_key[:12]}): reusing the outputs of {source}")


def download(ctx: Context) -> None:
    """Fetch the input artifacts whose content the command can read (file-store inputs are read in place).

    An artifact without content is not an error here: producers publish metadata-only artifacts
    (``Metrics``, ``ClassificationMetrics``); a command that reads the path fails on its own.
    """
    needed = _needs_content(ctx)
    for name, items in ctx.inputs.items():
        for artifact in items:
            assert artifact.local is not None
            if name not in needed:
                continue
            store = ctx.stores.for_uri(artifact.uri)
            try:
                if store.local_path(artifact.uri) is not None:
                    if not artifact.local.exists():
                        raise NotFound(artifact.uri)
                    continue
                stat = store.download(artifact.uri, artifact.local)
            except NotFound:
                ctx.say(f"input artifact {name!r} has no content at {artifact.uri} (metadata only)")
                continue
            artifact.digest = artifact.digest or stat.digest
            artifact.size = stat.size
            ctx.bytes_in += stat.size


def _needs_content(ctx: Context) -> set[str]:
    used = references(ctx.spec.command) | references(ctx.spec.args)
    if any(kind == "executorInput" for kind, _ in used):
        return set(ctx.inputs)
    return {name for kind, name in used if kind in ("inputPath", "inputArtifact")}


def run(ctx: Context) -> None:
    for path in [*ctx.output_files.values(), ctx.executor_output]:
        path.parent.mkdir(parents=True, exist_ok=True)
    for output in ctx.outputs.values():
        remove_path(output.local)
        output.local.parent.mkdir(parents=True, exist_ok=True)
    argv = command_line(ctx)
    if not argv:
        raise SpecError("task spec: the command is empty")
    env = {**ctx.options.environ, **ctx.spec.env}
    if ctx.options.container_runtime:
        from launcher.containers import container_command

        argv, env = container_command(ctx.options.container_runtime, ctx.spec.image, argv, ctx.spec.env,
                                      _host_directories(ctx), ctx.options.task_path)
        ctx.say(f"running {ctx.spec.image} with {ctx.options.container_runtime}")
    else:
        ctx.say(f"running {argv[0]} with {len(argv) - 1} arguments")
    code, forwarded = run_command(argv, env, ctx.say)
    ctx.exit_code = code
    if forwarded:
        names = ", ".join(sorted({signal.Signals(s).name for s in forwarded}))
        ctx.error = f"the command was stopped ({names} forwarded), exit code {code}"
        if code == 0:
            ctx.exit_code = 128 + forwarded[0]
    elif code != 0:
        ctx.error = f"the command exited with code {code}"


def _host_directories(ctx: Context) -> list[Path]:
    """Every directory the command's paths point into (mounted at the same path in a container)."""
    directories = [ctx.scratch, *(output.local.parent for output in ctx.outputs.values())]
    for items in ctx.inputs.values():
        for artifact in items:
            if artifact.local is not None:
                directories.append(artifact.local if artifact.local.is_dir() else artifact.local.parent)
    return directories


# ---------------------------------------------------------------------------------------------
# collect, upload


def collect(ctx: Context) -> None:
    """Output parameters (executor output first, then files) typed per the spec; artifact metadata."""
    executor_output = _read_executor_output(ctx.executor_output)
    reported = executor_output.get("parameterValues") or {}
    for name, declared in ctx.spec.output_params.items():
        file = ctx.output_files[name]
        try:
            if name in reported:
                ctx.output_values[name] = values.check(reported[name], declared.type)
            elif file.is_file():
                ctx.output_values[name] = values.decode(file.read_text(encoding="utf-8"), declared.type)
            else:
                raise LauncherError(f"output parameter {name!r} was not written (expected the file {file} "
                                    f"or parameterValues[{name!r}] in the executor output)")
        except values.TypeMismatch as error:
            raise LauncherError(f"output parameter {name!r}: {error}") from None
    for name, output in ctx.outputs.items():
        listed = ((executor_output.get("artifacts") or {}).get(name) or {}).get("artifacts") or []
        if not listed:
            continue
        runtime = listed[0]
        output.metadata.update(runtime.get("metadata") or {})
        uri = runtime.get("uri")
        if uri and uri != output.executor_uri:
            output.uri, output.local = uri, _sdk_local_path(uri)


def _read_executor_output(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise LauncherError(f"the executor output file {path} is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise LauncherError(f"the executor output file {path} does not hold a JSON object")
    return data


def _sdk_local_path(uri: str) -> Path:
    """Where the KFP SDK puts the content of an artifact whose URI the user code set itself."""
    scheme, _ = split_uri(uri)
    if scheme == "file":
        return Path(uri[len("file://"):] if uri.startswith("file://") else uri)
    return Path("/") / SDK_MOUNTS[scheme] / uri.split("://", 1)[1]


def upload(ctx: Context) -> None:
    """Publish every output artifact that has content; one written without content keeps only its metadata."""
    for name, output in ctx.outputs.items():
        store = ctx.stores.for_uri(output.uri)
        if not output.local.exists():
            ctx.say(f"output artifact {name!r} has no content; publishing its reference and metadata only")
            own = store.local_path(output.uri)
            if own is not None:
                remove_path(own)  # an earlier attempt's content must not pass for this one's
            continue
        output.stat = store.upload(output.local, output.uri)
        ctx.bytes_out += output.stat.size
    ctx.published_refs = {name: [o.ref()] if o.is_list else o.ref() for name, o in ctx.outputs.items()}


# ---------------------------------------------------------------------------------------------


def _timed(ctx: Context, phase: str, function: Callable[[Context], None]) -> None:
    started = time.monotonic()
    try:
        function(ctx)
    finally:
        ctx.timings[phase] = time.monotonic() - started


def _fail(ctx: Context, message: str, code: int) -> None:
    ctx.error = message
    if not ctx.exit_code:
        ctx.exit_code = code
