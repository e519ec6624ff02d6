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
    """``parameters/<name>`` (raw-encoded by the declared type) and ``artifacts/<name>`` (reference JSON);
    with ``escape_tags`` every string that Argo would read as a tag is escaped (``launcher.wire``)."""
    escape = wire.escape_tree if escape_tags else (lambda value: value)
    for name, value in parameters.items():
        _write(outputs_dir / "parameters" / name, values.encode(escape(value), spec.output_params[name].type))
    for name, ref in refs.items():
        _write(outputs_dir / "artifacts" / name, json.dumps(escape(ref), ensure_ascii=False, separators=(",", ":")))


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.tmp")
    staging.write_text(text, encoding="utf-8")
    os.replace(staging, path)
