"""A run's state and its tasks' states, read from an Argo Workflow or a Tekton PipelineRun and its TaskRuns.

Tasks are keyed by IR task path: Argo nodes carry it as their ``kfp-task`` input parameter; Tekton
pipeline tasks carry it as the ``kfp-driver.io/task-path`` annotation of their task spec.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

TASK_PATH_ANNOTATION = "kfp-driver.io/task-path"
_ITERATION = re.compile(r"\((\d+):")  # Argo loop iteration nodes: 'name(0:value)'


@dataclass(frozen=True)
class RunState:
    """Where a run is: its phase, whether it ended (and how), and each task's phase by IR task path."""

    phase: str
    done: bool = False
    succeeded: bool = False
    message: str = ""
    tasks: dict[str, str] = field(default_factory=dict)


def argo_state(workflow: dict[str, Any]) -> RunState:
    status = workflow.get("status") or {}
    phase = status.get("phase") or "Pending"
    nodes = status.get("nodes") or {}
    attempts = {child for node in nodes.values() if node.get("type") == "Retry" for child in node.get("children", [])}
    tasks: dict[str, str] = {}
    for node_id, node in sorted(nodes.items(), key=lambda item: (item[1].get("startedAt") or "", item[0])):
        path = _input_parameter(node, "kfp-task")
        if path is None or node_id in attempts:
            continue
        iteration = _ITERATION.search(node.get("displayName", ""))
        key = f"{path}[{iteration.group(1)}]" if iteration else path
        tasks[key] = node.get("phase") or "Pending"
    done = phase in ("Succeeded", "Failed", "Error")
    return RunState(phase, done, phase == "Succeeded", status.get("message", ""), tasks)


def _input_parameter(node: dict[str, Any], name: str) -> str | None:
    for parameter in (node.get("inputs") or {}).get("parameters") or []:
        if parameter.get("name") == name and parameter.get("value") is not None:
            return str(parameter["value"])
    return None


def tekton_task_paths(objects: list[dict[str, Any]]) -> dict[str, str]:
    """Pipeline task name -> IR task path, from the Pipeline/PipelineRun objects that were submitted."""
    paths: dict[str, str] = {}
    for obj in objects:
        spec = obj.get("spec") or {}
        pipeline = spec.get("pipelineSpec") or (spec if obj.get("kind") == "Pipeline" else {})
        for task in (pipeline.get("tasks") or []) + (pipeline.get("finally") or []):
            annotations = ((task.get("taskSpec") or {}).get("metadata") or {}).get("annotations") or {}
            paths[task["name"]] = annotations.get(TASK_PATH_ANNOTATION, task["name"])
    return paths


def tekton_state(run: dict[str, Any], task_runs: list[dict[str, Any]], paths: dict[str, str]) -> RunState:
    status = run.get("status") or {}
    ok, reason, message = _succeeded_condition(status)
    by_name = {tr["metadata"]["name"]: tr for tr in task_runs}
    children = [c for c in status.get("childReferences") or [] if c.get("pipelineTaskName")]
    counts: dict[str, int] = {}
    for child in children:
        counts[child["pipelineTaskName"]] = counts.get(child["pipelineTaskName"], 0) + 1
    seen: dict[str, int] = {}
    tasks: dict[str, str] = {}
    for child in children:
        task = child["pipelineTaskName"]
        task_run = by_name.get(child.get("name", ""), {})
        annotations = (task_run.get("metadata") or {}).get("annotations") or {}
        path = paths.get(task) or annotations.get(TASK_PATH_ANNOTATION) or task
        index = seen[task] = seen.get(task, -1) + 1
        key = f"{path}[{index}]" if counts[task] > 1 else path
        tasks[key] = _task_run_phase(task_run)
    for skipped in status.get("skippedTasks") or []:
        tasks[paths.get(skipped["name"], skipped["name"])] = "Skipped"
    if ok == "True":
        return RunState("Succeeded", True, True, message, tasks)
    if ok == "False":
        return RunState(reason or "Failed", True, False, message, tasks)
    return RunState(reason or ("Running" if ok else "Pending"), False, False, message, tasks)


def _succeeded_condition(status: dict[str, Any]) -> tuple[str, str, str]:
    """(status 'True'/'False'/'Unknown' or '', reason, message) of the ``Succeeded`` condition."""
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Succeeded":
            return condition.get("status", ""), condition.get("reason", ""), condition.get("message", "")
    return "", "", ""


def _task_run_phase(task_run: dict[str, Any]) -> str:
    ok, reason, _ = _succeeded_condition(task_run.get("status") or {})
    if ok == "True":
        return "Succeeded"
    if ok == "False":
        return "Failed" if reason in ("", "Failed") else reason
    return "Running" if ok else "Pending"
