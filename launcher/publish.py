"""Return outputs to the engine: one file per output in the outputs dir, each written then renamed."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from launcher import values, wire
from launcher.spec import TaskSpec


def publish_outputs(outputs_dir: Path, spec: TaskSpec, parameters: dict[str, Any], refs: dict[str, Any],
                    escape_tags: bool = False) -> None:
    """``parameters/<name>`` (raw-encoded by the declared type) and ``artifacts/<name>`` (reference JSON),
    plus ``<name>.items`` for a list (an array of strings);
    with ``escape_tags`` every string that Argo would read as a tag is escaped (``launcher.wire``)."""
    escape = wire.escape_tree if escape_tags else (lambda value: value)
    for name, value in parameters.items():
        kind = spec.output_params[name].type
        _write(outputs_dir / "parameters" / name, values.encode(escape(value), kind))
        if kind == values.LIST:
            _write_items(outputs_dir / "parameters" / f"{name}.items", value)
    for name, ref in refs.items():
        _write(outputs_dir / "artifacts" / name, json.dumps(escape(ref), ensure_ascii=False, separators=(",", ":")))
        if isinstance(ref, list):
            _write_items(outputs_dir / "artifacts" / f"{name}.items", ref)


def _write_items(path: Path, items: list[Any]) -> None:
    """A list as an array of strings (Tekton array results hold strings only): strings verbatim, other
    items as JSON, the way ``--list`` reads them back."""
    texts = [item if isinstance(item, str) else json.dumps(item, ensure_ascii=False, separators=(",", ":"))
             for item in items]
    _write(path, json.dumps(texts, ensure_ascii=False, separators=(",", ":")))


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.tmp")
    staging.write_text(text, encoding="utf-8")
    os.replace(staging, path)
