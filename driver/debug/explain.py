"""``explain``: join the plan (what the IR says) with the compiled manifest (what the engine gets)."""

from __future__ import annotations

import json
from typing import Any

from driver.debug.argo_map import argo_tasks
from driver.debug.model import EngineTask, Explanation, InputSource, TaskExplanation
from driver.debug.tekton_map import tekton_tasks
from driver.errors import KfpDriverError
from driver.plan.model import (
    Binding, Constant, ContainerExecutor, FinalStatus, ImporterExecutor, ParentInput, Plan, PvcExecutor, TaskNode,
    TaskOutput,
)
from translators.options import CompileOptions

OUTPUT_ROOT_FLAG = "--output-root="
ARGO_TASK_PATH = "{{inputs.parameters.kfp-task}}"


def explain(plan: Plan, target: str, options: CompileOptions | None = None) -> Explanation:
    """Every IR task of ``plan`` with what ``target``'s manifest makes of it (refusals are reported, not raised)."""
    from translators import compiler_for

    manifest: dict[str, Any] | None = None
    refusal = ""
    try:
        manifest = compiler_for(target)(plan, options or CompileOptions())
    except KfpDriverError as error:
        refusal = str(error)
    mapping = {} if manifest is None else argo_tasks(manifest) if target == "argo" else tekton_tasks(manifest)
    nodes = plan.walk()
    by_path = {node.path: node for node in nodes}
    tasks = [_task(node, by_path, mapping.get(node.path, []), target, refusal) for node in nodes]
    return Explanation(plan.name, plan.source_file, target, tasks, manifest, refusal)


def _task(node: TaskNode, by_path: dict[str, TaskNode], engine: list[EngineTask], target: str,
          refusal: str) -> TaskExplanation:
    task, component = node.task, node.component
    prefix = node.path[: -len(task.name)]
    executor = component.executor
    kind = "dag" if component.is_dag else "importer" if isinstance(executor, ImporterExecutor) else \
        f"pvc-{executor.action}" if isinstance(executor, PvcExecutor) else "container"
    inputs = [InputSource(name, "parameter", *_source(binding, prefix, by_path))
              for name, binding in sorted(task.parameters.items())]
    inputs += [InputSource(name, "artifact", *_source(binding, prefix, by_path))
               for name, binding in sorted(task.artifacts.items())]
    explained = TaskExplanation(
        path=node.path, name=task.name, component=task.component, kind=kind, ir_location=task.ir_path,
        display_name=task.display_name, upstream=[prefix + name for name in task.after],
        trigger=task.trigger.value, condition=task.condition.text if task.condition else "",
        loop=_loop(node, prefix, by_path), inputs=inputs, retry=task.retry.max_retries if task.retry else 0,
        cache=task.cache, image=executor.image if isinstance(executor, ContainerExecutor) else "",
        engine=engine)
    explained.artifact_uris = _artifact_uris(node, engine, prefix, by_path)
    explained.engine_note = "" if engine else _note(kind, target, refusal)
    return explained


def _note(kind: str, target: str, refusal: str) -> str:
    if refusal:
        return f"not compiled: {refusal}"
    if kind == "dag" and target == "tekton":
        return "flattened: its tasks carry its condition and loop"
    if kind == "importer":
        return "no pod: each consumer gets the artifact reference directly"
    return "nothing in the manifest (no pod needed)"


def _source(binding: Binding, prefix: str, by_path: dict[str, TaskNode]) -> tuple[str, str]:
    """(kind of source, detail) for a binding, following parent inputs up to where the value starts."""
    selector = "".join(f"[{json.dumps(field, ensure_ascii=False)}]" for field in binding.fields)
    source = binding.source
    if isinstance(source, Constant):
        return "constant", json.dumps(source.value, ensure_ascii=False) + selector
    if isinstance(source, TaskOutput):
        return "task output", f"{prefix}{source.task}.{source.output}{selector}"
    if isinstance(source, FinalStatus):
        return "final status", prefix + source.task
    assert isinstance(source, ParentInput)
    parent = by_path.get(prefix.rstrip("/"))
    if parent is None:
        return "pipeline input", source.name + selector
    loop = parent.task.loop
    if loop is not None and loop.item_input == source.name:
        return "loop item", f"{parent.path}{selector}"
    outer = parent.task.parameters.get(source.name) or parent.task.artifacts.get(source.name)
    if outer is None:
        return "parent input", f"{parent.path}.{source.name}{selector}"
    kind, detail = _source(outer, parent.path[: -len(parent.task.name)], by_path)
    return kind, detail + selector


def _loop(node: TaskNode, prefix: str, by_path: dict[str, TaskNode]) -> dict[str, Any] | None:
    loop = node.task.loop
    if loop is None:
        return None
    described: dict[str, Any] = {"kind": loop.kind.value, "item_input": loop.item_input,
                                 "parallelism": loop.parallelism}
    if loop.items is not None:
        described["items"] = loop.items
    else:
        binding = node.task.parameters.get(loop.items_input) or node.task.artifacts.get(loop.items_input)
        described["items_from"] = " ".join(_source(binding, prefix, by_path)) if binding else loop.items_input
    return described


def _artifact_uris(node: TaskNode, engine: list[EngineTask], prefix: str,
                   by_path: dict[str, TaskNode]) -> dict[str, str]:
    component, executor = node.component, node.component.executor
    if isinstance(executor, ImporterExecutor):
        return {name: " ".join(_source(executor.uri, prefix, by_path)) for name in component.outputs.artifacts}
    root = next((arg[len(OUTPUT_ROOT_FLAG):] for entry in engine for arg in entry.command
                 if arg.startswith(OUTPUT_ROOT_FLAG)), "")
    if not root:
        return {}
    root = root.replace(ARGO_TASK_PATH, node.path)
    return {name: f"{root}/{name}" for name in sorted(component.outputs.artifacts)}
