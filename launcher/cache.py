"""The task cache: a key over what determines the outputs; entries written only after outputs are published.

An entry is a JSON document ``<cache root>/<key>.json`` holding the outputs (parameter values, artifact
references with sizes). A hit is used only if every artifact that had content still exists with that size.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from launcher.context import Context
from launcher.errors import LauncherError, NotFound, SpecError

KEY_VERSION = 1


def cache_key(ctx: Context) -> str:
    """sha256 over image, command, args, env, typed input values, input artifact digests, output definitions."""
    missing = [f"{a.input} ({a.uri})" for items in ctx.inputs.values() for a in items if not a.digest]
    if missing:
        raise SpecError(f"cache: no digest for input artifact {', '.join(missing)}")
    spec = ctx.spec.raw
    material = {
        "v": KEY_VERSION,
        "image": spec.get("image", ""),
        "command": spec.get("command", []),
        "args": spec.get("args", []),
        "env": spec.get("env", {}),
        "parameters": ctx.params,
        "artifacts": {name: [[a.schema_title, a.digest] for a in items] for name, items in ctx.inputs.items()},
        "outputs": spec.get("outputs", {}),
    }
    text = json.dumps(material, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def entry_uri(ctx: Context, key: str) -> str:
    return f"{ctx.options.cache_root.rstrip('/')}/{key}.json"


def lookup(ctx: Context, key: str) -> dict[str, Any] | None:
    """The entry for ``key`` if it exists and every output it names is still there, else None."""
    uri = entry_uri(ctx, key)
    try:
        entry = json.loads(ctx.stores.for_uri(uri).read_bytes(uri))
    except NotFound:
        return None
    except (LauncherError, ValueError) as error:
        ctx.say(f"cache entry {uri} unreadable, ignoring it: {error}")
        return None
    for name, refs in entry.get("outputs", {}).get("artifacts", {}).items():
        for ref in refs if isinstance(refs, list) else [refs]:
            if ref.get("size") is None:
                continue  # the task wrote no content for it
            try:
                stat = ctx.stores.for_uri(ref["uri"]).stat(ref["uri"])
            except LauncherError as error:
                ctx.say(f"cache entry {key[:12]} ignored: output {name!r} is gone ({error})")
                return None
            if stat.size != ref["size"]:
                ctx.say(f"cache entry {key[:12]} ignored: output {name!r} changed size at {ref['uri']}")
                return None
    return entry


def save(ctx: Context, key: str) -> None:
    """Write the entry for this attempt's published outputs (a failure only costs a future hit)."""
    uri = entry_uri(ctx, key)
    entry = {"v": KEY_VERSION, "key": key, "run_id": ctx.options.run_id, "task_path": ctx.options.task_path,
             "created": time.time(),
             "outputs": {"parameters": ctx.output_values, "artifacts": ctx.published_refs}}
    try:
        ctx.stores.for_uri(uri).write_bytes(uri, json.dumps(entry, ensure_ascii=False).encode())
    except LauncherError as error:
        ctx.say(f"cache entry not written ({error}); later runs will not reuse these outputs")
