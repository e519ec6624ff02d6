"""Dead parts of the graph: outputs nothing reads, and tasks whose condition can never hold."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from driver.lint.context import IRContext
from driver.lint.model import Severity
from driver.lint.registry import Hit, rule
from driver.plan.conditions import ConditionError, evaluate, refs
from driver.plan.model import Component, PvcExecutor, TaskNode, TaskOutput, Trigger

SHOWN = {"system.Metrics", "system.ClassificationMetrics", "system.SlicedClassificationMetrics", "system.HTML",
         "system.Markdown"}
"""Artifact types the KFP UI renders: written to be looked at, not read by another task."""


def _readers(component: Component) -> set[tuple[str, str]]:
    """(task, output) pairs that the tasks of a DAG component read as inputs."""
    assert component.dag is not None
    return {(b.source.task, b.source.output) for task in component.dag.tasks.values()
            for b in (*task.parameters.values(), *task.artifacts.values()) if isinstance(b.source, TaskOutput)}


@rule("unused-output", Severity.WARNING,
      "a task output that nothing reads while another output of the same task is read (a likely missed wire)")
def unused_outputs(ctx: IRContext) -> Iterator[Hit]:
    @lru_cache(maxsize=None)
    def readers(path: str) -> frozenset[tuple[str, str]]:
        component = ctx.by_path[path].component if path else ctx.plan.root
        return frozenset(_readers(component))

    @lru_cache(maxsize=None)
    def used(path: str, output: str) -> bool:
        node = ctx.by_path[path]
        parent = ctx.parent(node)
        dag = parent.component if parent is not None else ctx.plan.root
        if (node.task.name, output) in readers(parent.path if parent is not None else ""):
            return True
        assert dag.dag is not None
        returned = [name for name, out in dag.dag.outputs.items()
                    if any(s.task == node.task.name and s.output == output for s in out.selectors)]
        return any(parent is None or used(parent.path, name) for name in returned)

    for node in ctx.nodes:
        if node.component.is_dag or isinstance(node.component.executor, PvcExecutor):
            continue  # a sub-DAG's outputs are its tasks' outputs, reported there
        outputs = node.component.outputs
        names = [*outputs.parameters, *(n for n, a in outputs.artifacts.items() if a.schema_title not in SHOWN)]
        unused = [name for name in names if not used(node.path, name)]
        read = [name for name in (*outputs.parameters, *outputs.artifacts) if used(node.path, name)]
        if not read:
            continue  # nothing reads this task: its outputs are the pipeline's results
        for name in unused:
            yield Hit(f"output '{name}' of task '{node.path}' is never read, while its output '{read[0]}' is",
                      f"pass '{name}' to the task that needs it, or drop it from the component",
                      node.task.ir_path, node.path)


@rule("unreachable-task", Severity.WARNING, "a task whose condition is false for every run, or that waits on one")
def unreachable(ctx: IRContext) -> Iterator[Hit]:
    dead: set[str] = set()
    for node in ctx.nodes:
        parent = ctx.parent(node)
        if parent is not None and parent.path in dead:
            dead.add(node.path)  # inside a sub-DAG that never runs: reported at the sub-DAG
            continue
        prefix = f"{parent.path}/" if parent is not None else ""
        blocked = [up for up in node.task.after if f"{prefix}{up}" in dead]
        if blocked and node.task.trigger is Trigger.ALL_SUCCEEDED:
            dead.add(node.path)
            yield Hit(f"task '{node.path}' never runs: it waits on '{prefix}{blocked[0]}', which never runs",
                      "remove the task or the dependency", node.task.ir_path, node.path)
        elif never_true(ctx, node):
            dead.add(node.path)
            assert node.task.condition is not None
            yield Hit(f"task '{node.path}' never runs: its condition {node.task.condition.text!r} is false for "
                      "the constant inputs it compares", "fix the condition or remove the branch",
                      f"{node.task.ir_path}.triggerPolicy.condition", node.path)


def never_true(ctx: IRContext, node: TaskNode) -> bool:
    """True when the task's condition reads only constants and evaluates to false."""
    condition = node.task.condition
    if condition is None:
        return False
    values = {}
    for name in refs(condition.expr):
        found = ctx.constant(node, node.task.parameters.get(name))
        if found is None:
            return False
        values[name] = found.value
    try:
        return evaluate(condition.expr, values.__getitem__) is False
    except ConditionError:
        return False
