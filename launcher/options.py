"""The command line (docs/task-spec.md, "Command line") and environment, read once into one ``Options``."""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from launcher import values, wire
from launcher.errors import SpecError
from launcher.retry import RetryPolicy
from launcher.stores import StoreConfig


@dataclass(frozen=True)
class Options:
    spec: dict[str, Any]
    run_id: str
    task_path: str
    task_name: str
    job_name: str
    pipeline_root: str
    output_root: str
    outputs_dir: Path
    params: dict[str, str] = field(default_factory=dict)
    """Raw input parameter values (``--param``, ``--param-file``)."""
    artifacts: dict[str, str] = field(default_factory=dict)
    """Raw artifact references (JSON or a bare URI)."""
    artifact_edits: dict[str, list[ReferenceEdit]] = field(default_factory=dict)
    """Strings to put into an artifact reference (``--artifact-set`` / ``--artifact-key``), per input."""
    cache: bool = False
    cache_root: str = ""
    records: str = ""
    attempt: int = 1
    metrics_file: Path | None = None
    mount_root: Path | None = None
    """Where remote artifacts are staged locally; None: ``/`` (the KFP SDK's /s3/, /gcs/, /minio/ paths)
    when writable, else a scratch directory."""
    workspace_path: str = "/kfp-workspace"
    container_runtime: str = ""
    """``docker``/``podman``: run the command in the spec's image through that CLI (``launcher.containers``)."""
    escape_tags: bool = False
    """Values on the engine channel are tag-escaped (``launcher.wire``): decode inputs, encode outputs."""
    pod_name: str = ""
    run_values: dict[str, str] = field(default_factory=dict)
    """Values for run-level placeholders the engine does not pass on the command line (from the environment)."""
    store: StoreConfig = field(default_factory=StoreConfig)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    environ: dict[str, str] = field(default_factory=dict, repr=False)
    """The environment the user's command inherits (the launcher's own, then the spec's ``env``)."""


@dataclass(frozen=True)
class ReferenceEdit:
    """Set the string at ``path`` of a reference (or, with ``key``, rename the key ``path`` ends with)."""

    path: tuple[str | int, ...]
    text: str
    key: bool = False


def _edits(values: Sequence[str], flag: str, key: bool, into: dict[str, list[ReferenceEdit]]) -> None:
    """``NAME=PATH=TEXT`` where PATH is a JSON list of keys and indices; TEXT is taken as it is."""
    for item in values:
        name, sep, rest = item.partition("=")
        try:
            path, end = json.JSONDecoder().raw_decode(rest)
        except ValueError:
            path, end = None, 0
        valid = isinstance(path, list) and path and all(isinstance(p, (str, int)) for p in path)
        if not sep or not name or not valid or rest[end:end + 1] != "=" or (key and not isinstance(path[-1], str)):
            raise SpecError(f"{flag} {item[:60]!r}: expected NAME=[\"key\", 0, ...]=TEXT")
        into.setdefault(name, []).append(ReferenceEdit(tuple(path), rest[end + 1:], key))


def _pairs(values: Sequence[str], flag: str) -> dict[str, str]:
    result = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise SpecError(f"{flag} {item[:60]!r}: expected NAME=VALUE")
        result[name] = value
    return result


def _absolute(location: str) -> str:
    """A relative local path made absolute (references must hold wherever they are read); URIs unchanged."""
    return location if not location or "://" in location else os.path.abspath(location)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kfp-launcher", description="Run one KFP task (see docs/task-spec.md).")
    spec = p.add_mutually_exclusive_group(required=True)
    spec.add_argument("--spec", help="task spec JSON")
    spec.add_argument("--spec-file", help="file holding the task spec JSON")
    p.add_argument("--run-id", required=True)
    p.add_argument("--task-path", required=True)
    p.add_argument("--task-name", default="", help="default: the last segment of --task-path")
    p.add_argument("--job-name", default="", help="default: the run id")
    p.add_argument("--pipeline-root", default="")
    p.add_argument("--output-root", required=True, help="output artifacts go to <output-root>/<output name>")
    p.add_argument("--outputs-dir", required=True, type=Path)
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument("--param-file", action="append", default=[], metavar="NAME=FILE")
    p.add_argument("--artifact", action="append", default=[], metavar="NAME=REF")
    p.add_argument("--artifact-set", action="append", default=[], metavar="NAME=PATH=TEXT",
                   help="put TEXT at PATH (a JSON list of keys/indices) of the reference NAME")
    p.add_argument("--artifact-key", action="append", default=[], metavar="NAME=PATH=TEXT",
                   help="rename the key PATH ends with to TEXT in the reference NAME")
    p.add_argument("--cache", action=argparse.BooleanOptionalAction, default=False)
    p.add_argument("--cache-root", default="", help="default: <pipeline-root>/.kfp-cache")
    p.add_argument("--records", default="", help="sqlite:///path.db or a store URI prefix")
    p.add_argument("--attempt", type=int, default=1)
    p.add_argument("--metrics-file", type=Path)
    p.add_argument("--mount-root", type=Path, help="local staging root for remote artifacts (default: / if writable)")
    p.add_argument("--workspace-path", help="the pipeline workspace (default: $KFP_WORKSPACE_PATH, else /kfp-workspace)")
    p.add_argument("--container-runtime", choices=("docker", "podman"),
                   help="run the command in the spec's image with this engine CLI (local runs)")
    p.add_argument("--escape-tags", action="store_true",
                   help="inputs and outputs carry tag-escaped strings (Argo; see launcher/wire.py)")
    return p


def split_lists(argv: Sequence[str]) -> tuple[list[str], dict[str, str], dict[str, str]]:
    """Take ``--list=NAME=TYPE=COUNT ITEM...`` out of argv (argparse cannot count entries).

    Tekton passes an array as one argv entry per item; TYPE is the items' parameter type (each decoded
    as a raw value of that type) or ARTIFACT (each a reference). Returns the remaining argv and the lists
    as raw ``--param`` / ``--artifact`` values (JSON lists).
    """
    rest: list[str] = []
    params: dict[str, str] = {}
    artifacts: dict[str, str] = {}
    index = 0
    while index < len(argv):
        entry = argv[index]
        if entry == "--list" and index + 1 < len(argv):
            index += 1
            entry = "--list=" + argv[index]
        if not entry.startswith("--list="):
            rest.append(entry)
            index += 1
            continue
        name, kind, count = (entry[len("--list="):].split("=") + ["", ""])[:3]
        if not name or not count.isdigit() or (kind not in values.TYPES and kind != "ARTIFACT"):
            raise SpecError(f"{entry[:80]!r}: expected --list=NAME=TYPE=COUNT followed by COUNT items")
        items = list(argv[index + 1:index + 1 + int(count)])
        if len(items) != int(count):
            raise SpecError(f"--list {name}: {count} items announced, {len(items)} given")
        if kind == "ARTIFACT":
            artifacts[name] = json.dumps(items)
        else:
            try:
                params[name] = json.dumps([values.decode(wire.unescape_text(item), kind) for item in items])
            except values.TypeMismatch as error:
                raise SpecError(f"--list {name}: {error}") from None
        index += 1 + int(count)
    return rest, params, artifacts


def parse_options(argv: Sequence[str], env: Mapping[str, str]) -> Options:
    """argv and the environment -> Options; a bad value raises SpecError, bad usage exits 2 (argparse)."""
    argv, list_params, list_artifacts = split_lists(argv)
    args = parser().parse_args(argv)
    if args.spec_file:
        try:
            spec_text = Path(args.spec_file).read_text(encoding="utf-8")
        except OSError as error:
            raise SpecError(f"--spec-file {args.spec_file}: {error.strerror or error}") from None
    else:
        spec_text = args.spec
    try:
        spec = json.loads(spec_text)
    except ValueError as error:
        raise SpecError(f"task spec is not valid JSON: {error}") from None
    params = {**_pairs(args.param, "--param"), **list_params}
    for name, file in _pairs(args.param_file, "--param-file").items():
        try:
            params[name] = Path(file).read_text(encoding="utf-8")
        except OSError as error:
            raise SpecError(f"--param-file {name}={file}: {error.strerror or error}") from None
    edits: dict[str, list[ReferenceEdit]] = {}
    _edits(args.artifact_set, "--artifact-set", False, edits)
    _edits(args.artifact_key, "--artifact-key", True, edits)
    pipeline_root, output_root = _absolute(args.pipeline_root), _absolute(args.output_root).rstrip("/")
    cache_root = _absolute(args.cache_root) or (f"{pipeline_root.rstrip('/')}/.kfp-cache" if pipeline_root else "")
    if args.cache and not cache_root:
        raise SpecError("--cache needs --cache-root or --pipeline-root")
    retry = RetryPolicy(attempts=int(env.get("KFP_STORE_RETRIES", "4")) + 1,
                        base_delay=float(env.get("KFP_STORE_RETRY_DELAY", "0.5")))
    return Options(
        spec=spec,
        run_id=args.run_id,
        task_path=args.task_path,
        task_name=args.task_name or args.task_path.rsplit("/", 1)[-1].split("[", 1)[0],
        job_name=args.job_name or args.run_id,
        pipeline_root=pipeline_root,
        output_root=output_root,
        outputs_dir=args.outputs_dir,
        params=params,
        artifacts={**_pairs(args.artifact, "--artifact"), **list_artifacts},
        artifact_edits=edits,
        cache=args.cache,
        cache_root=cache_root,
        records=args.records,
        attempt=args.attempt,
        metrics_file=args.metrics_file,
        mount_root=args.mount_root,
        workspace_path=args.workspace_path or env.get("KFP_WORKSPACE_PATH") or "/kfp-workspace",
        container_runtime=args.container_runtime or "",
        escape_tags=args.escape_tags,
        pod_name=env.get("KFP_POD_NAME", ""),
        run_values={
            "gcpProjectId": env.get("KFP_GCP_PROJECT_ID", ""),
            "gcpLocation": env.get("KFP_GCP_LOCATION", ""),
            "persistentResourceId": env.get("KFP_PERSISTENT_RESOURCE_ID", ""),
            "jobCreateTime": env.get("KFP_JOB_CREATE_TIME_UTC", ""),
            "jobScheduleTime": env.get("KFP_JOB_SCHEDULE_TIME_UTC", ""),
        },
        store=StoreConfig.from_env(env),
        retry=retry,
        environ=dict(env),
    )
