"""Argo Workflow -> the DAG tasks made for each IR task path.

Every DAG task passes the IR task path in its ``kfp-task`` argument, either literally (root DAG) or as
``{{inputs.parameters.kfp-task}}/<name>`` inside a sub-DAG template; walking the DAG templates from the
entrypoint resolves each one. A loop-parallelism wrapper passes the path on unchanged, so both the
wrapper's task and the loop task it runs map to the same IR path.
"""

from __future__ import annotations

import json
from typing import Any

from driver.debug.model import EngineTask

TASK_PARAM = "kfp-task"
_PARENT_PATH = "{{inputs.parameters.kfp-task}}"


def argo_tasks(manifest: dict[str, Any]) -> dict[str, list[EngineTask]]:
    """IR task path -> the DAG tasks that realise it, outermost first."""
    spec = manifest.get("spec", {})
    templates = spec.get("templates", [])
    index = {template["name"]: position for position, template in enumerate(templates)}
    found: dict[str, list[EngineTask]] = {}

    def visit(name: str, prefix: str, seen: tuple[str, ...]) -> None:
        position = index.get(name)
        if position is None or name in seen:
            return
        template = templates[position]
        for number, task in enumerate(template.get("dag", {}).get("tasks", [])):
            arguments = {p["name"]: _text(p.get("value", "")) for p in task.get("arguments", {}).get("parameters", [])}
            raw = arguments.get(TASK_PARAM)
            if raw is None:
                continue
            path = raw.replace(_PARENT_PATH, prefix)
            target = templates[index[task["template"]]] if task.get("template") in index else {}
            found.setdefault(path, []).append(_engine_task(task, target, f"spec.templates[{position}].dag.tasks[{number}]",
                                                           arguments))
            if "dag" in target:
                visit(task["template"], path, (*seen, name))

    visit(spec.get("entrypoint", ""), "", ())
    return found


def _engine_task(task: dict[str, Any], target: dict[str, Any], location: str,
                 arguments: dict[str, str]) -> EngineTask:
    container = target.get("container") or target.get("script") or {}
    loop = _loop(task, target)
    return EngineTask(
        name=task["name"], location=location, template=task.get("template", ""),
        pod=bool(container or "resource" in target),
        when=[task["when"]] if task.get("when") else [],
        loop=loop,
        command=[*container.get("command", []), *container.get("args", [])],
        arguments={k: v for k, v in arguments.items() if k != TASK_PARAM})


def _loop(task: dict[str, Any], target: dict[str, Any]) -> str:
    parts = []
    if "withItems" in task:
        parts.append(f"withItems: {len(task['withItems'])} items")
    if "withParam" in task:
        parts.append(f"withParam: {task['withParam']}")
    if target.get("parallelism"):
        parts.append(f"parallelism: {target['parallelism']}")
    return "; ".join(parts)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)
