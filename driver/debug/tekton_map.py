"""Tekton PipelineRun -> the pipeline tasks made for each IR task path.

Tekton pipelines are flattened: only executed tasks appear, each inline ``taskSpec`` carrying the
annotation ``kfp-driver.io/task-path``. Unrolled loop iterations add ``[i]`` (``[*]`` for a matrix) to
the path; those indices are dropped to find the IR task path.
"""

from __future__ import annotations

import json
import re
from typing import Any

from driver.debug.model import EngineTask

TASK_PATH_ANNOTATION = "kfp-driver.io/task-path"
_INDEX = re.compile(r"\[(?:\d+|\*)\](?=/|$)")


def ir_path(annotated: str) -> str:
    """The IR task path of an annotated (possibly iteration-indexed) path."""
    return _INDEX.sub("", annotated)


def pipeline_spec(manifest: dict[str, Any]) -> dict[str, Any]:
    """The pipeline spec of a PipelineRun (inline) or of a Pipeline."""
    spec = manifest.get("spec", {})
    return spec.get("pipelineSpec", spec)


def tekton_tasks(manifest: dict[str, Any]) -> dict[str, list[EngineTask]]:
    """IR task path -> the pipeline tasks (``tasks`` then ``finally``) that realise it."""
    if manifest.get("kind") == "List":  # --separate-pipeline: a Pipeline and a PipelineRun
        manifest = next(item for item in manifest["items"] if item.get("kind") == "Pipeline")
    spec = pipeline_spec(manifest)
    base = "spec.pipelineSpec" if "pipelineSpec" in manifest.get("spec", {}) else "spec"
    found: dict[str, list[EngineTask]] = {}
    for section in ("tasks", "finally"):
        for number, task in enumerate(spec.get(section, [])):
            task_spec = task.get("taskSpec", {})
            annotated = task_spec.get("metadata", {}).get("annotations", {}).get(TASK_PATH_ANNOTATION)
            if annotated is None:
                continue
            found.setdefault(ir_path(annotated), []).append(
                _engine_task(task, task_spec, f"{base}.{section}[{number}]", annotated))
    return found


def _engine_task(task: dict[str, Any], task_spec: dict[str, Any], location: str, annotated: str) -> EngineTask:
    main = next((step for step in task_spec.get("steps", []) if step.get("name") == "main"), {})
    arguments = {p["name"]: _text(p.get("value", "")) for p in task.get("params", [])}
    return EngineTask(
        name=task["name"], location=location, instance=annotated,
        pod=bool(task_spec.get("steps")),
        when=[_when(w) for w in task.get("when", [])],
        loop=_matrix(task.get("matrix")),
        command=[*main.get("command", []), *main.get("args", [])],
        arguments=arguments)


def _when(expression: dict[str, Any]) -> str:
    if "cel" in expression:
        return f"cel: {expression['cel']}"
    values = ", ".join(json.dumps(v, ensure_ascii=False) for v in expression.get("values", []))
    return f"{expression.get('input', '')} {expression.get('operator', '')} [{values}]"


def _matrix(matrix: dict[str, Any] | None) -> str:
    if not matrix:
        return ""
    parts = [f"matrix {p['name']}: {_text(p.get('value'))}" for p in matrix.get("params", [])]
    if matrix.get("include"):
        parts.append(f"matrix include: {len(matrix['include'])} combinations")
    return "; ".join(parts)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
