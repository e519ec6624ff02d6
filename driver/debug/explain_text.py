"""Render an ``Explanation`` for people (a table, or every detail of one task) and as JSON."""

from __future__ import annotations

import json
import shlex
from typing import Any

from driver.debug.model import EngineTask, Explanation, TaskExplanation
from driver.debug.text import cell, short_condition, table

PATH_WIDTH = 80
CELL_WIDTH = 44


def as_json(explanation: Explanation, task: TaskExplanation | None = None) -> str:
    if task is not None:
        return json.dumps(task.to_json(), indent=1, ensure_ascii=False) + "\n"
    document: dict[str, Any] = {"pipeline": explanation.pipeline, "source": explanation.source,
                                "target": explanation.target, "refusal": explanation.refusal,
                                "tasks": [t.to_json() for t in explanation.tasks]}
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


def human_table(explanation: Explanation) -> str:
    unit = "DAG TASK -> TEMPLATE" if explanation.target == "argo" else "PIPELINE TASK"
    rows = [[t.path, t.kind, _engine_cell(t), "yes" if t.pods else "no",
             short_condition(t.condition), _loop_cell(t.loop)] for t in explanation.tasks]
    pods = sum(1 for t in explanation.tasks if t.pods)
    head = (f"{explanation.pipeline} ({explanation.source}) -> {explanation.target}: "
            f"{len(explanation.tasks)} IR tasks, {pods} with pods (before loop fan-out)\n")
    if explanation.refusal:
        head += f"not compilable for {explanation.target}: {explanation.refusal}\n"
    widths = [PATH_WIDTH, 10, CELL_WIDTH, 3, CELL_WIDTH, CELL_WIDTH]
    body = table(["TASK PATH", "KIND", unit, "POD", "CONDITION (IR)", "LOOP"], rows, widths)
    return head + body + "(`--task PATH`: inputs, artifact URIs, engine conditions and the launcher command line)\n"


def _engine_cell(task: TaskExplanation) -> str:
    if not task.engine:
        return "- " + task.engine_note.split(":")[0]
    if task.engine[0].template:  # Argo: DAG task -> template (a loop wrapper adds a link)
        chain = [task.engine[0].name, *(e.template for e in task.engine)]
        return " -> ".join(dict.fromkeys(chain)) if len(task.engine) == 1 else " -> ".join(chain)
    names = [e.name for e in task.engine]
    return ", ".join(names[:2]) + (f" (+{len(names) - 2})" if len(names) > 2 else "")


def _loop_cell(loop: dict[str, Any] | None) -> str:
    if loop is None:
        return ""
    what = f"{len(loop['items'])} items" if "items" in loop else loop.get("items_from", "")
    limit = f", parallelism {loop['parallelism']}" if loop["parallelism"] else ""
    return f"{loop['kind']}: {what}{limit}"


def human_task(explanation: Explanation, task: TaskExplanation) -> str:
    """Everything about one task, one fact per line."""
    lines = [f"task        {task.path}" + (f"  ({task.display_name})" if task.display_name not in ("", task.name) else ""),
             f"component   {task.component}  [{task.kind}]" + (f"  image {task.image}" if task.image else ""),
             f"IR          {task.ir_location}"]
    for outer in _ancestors(explanation, task):
        control = [f"if {short_condition(outer.condition)}"] if outer.condition else []
        control += [f"loop {_loop_cell(outer.loop)}"] if outer.loop else []
        lines.append(f"within      {outer.path} [{outer.kind}]" + (f": {'; '.join(control)}" if control else ""))
    if task.upstream:
        lines.append(f"after       {', '.join(task.upstream)}  (trigger: {task.trigger})")
    lines.append(f"options     retries {task.retry}, cache {'on' if task.cache else 'off'}")
    if task.condition:
        lines.append(f"condition   IR: {task.condition}")
        for entry in task.engine:
            for when in entry.when:
                lines.append(f"            {explanation.target} ({entry.name}): {when}")
    if task.loop is not None:
        lines.append(f"loop        {json.dumps(task.loop, ensure_ascii=False)}")
    for source in task.inputs:
        lines.append(f"input       {source.name} ({source.kind}) <- {source.source} {source.detail}")
    for name, uri in task.artifact_uris.items():
        lines.append(f"artifact    {name} -> {uri}")
    if not task.engine:
        lines.append(f"manifest    {task.engine_note}")
    for entry in task.engine:
        lines.extend(_engine_lines(entry, explanation.target))
    return "\n".join(cell(line, 100_000) for line in lines) + "\n"


def _ancestors(explanation: Explanation, task: TaskExplanation) -> list[TaskExplanation]:
    return [outer for outer in explanation.tasks if outer.kind == "dag" and task.path.startswith(outer.path + "/")]


def _engine_lines(entry: EngineTask, target: str) -> list[str]:
    what = f"DAG task '{entry.name}' -> template '{entry.template}'" if target == "argo" else \
        f"pipeline task '{entry.name}'" + (f" ({entry.instance})" if entry.instance else "")
    lines = [f"manifest    {entry.location}: {what}, {'a pod' if entry.pod else 'no pod'}"]
    if entry.loop:
        lines.append(f"            fan-out: {entry.loop}")
    for name, value in entry.arguments.items():
        lines.append(f"            argument {name} = {value}")
    quoted = [shlex.quote(arg) for arg in entry.command]
    lines.extend(("launcher    " if i == 0 else "              ") + arg + (" \\" if i < len(quoted) - 1 else "")
                 for i, arg in enumerate(quoted))
    return lines
