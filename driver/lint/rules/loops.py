"""Loops that fan out past a bound (``--max-fanout``), counting nested loops' iterations together."""

from __future__ import annotations

from collections.abc import Iterator

from driver.lint.context import IRContext
from driver.lint.model import Severity
from driver.lint.registry import Hit, rule
from driver.plan.model import LoopKind, TaskNode

TEKTON_MATRIX_MAX = 256
"""Tekton's default ``default-max-matrix-combinations-count``: a larger matrix is rejected."""


def iterations(ctx: IRContext, node: TaskNode) -> int | None:
    """How many iterations the task's loop runs, when that is known before the run (None: not a loop or unknown)."""
    loop = node.task.loop
    if loop is None:
        return None
    if loop.kind is LoopKind.RAW:
        return len(loop.items or [])
    if loop.kind is LoopKind.PARAMETER:
        found = ctx.constant(node, node.task.parameters.get(loop.items_input), defaults=True)
        if found is not None and isinstance(found.value, list):
            return len(found.value)
    return None


@rule("loop-fanout", Severity.WARNING,
      "a ParallelFor (with the loops around it) runs more iterations than --max-fanout")
def fanout(ctx: IRContext) -> Iterator[Hit]:
    bound = ctx.options.max_fanout
    totals: dict[str, int] = {}
    for node in ctx.nodes:  # parents come before their children
        parent = ctx.parent(node)
        outer = totals.get(parent.path, 1) if parent is not None else 1
        count = iterations(ctx, node)
        total = outer * count if count is not None else outer
        totals[node.path] = total
        if count is None or total <= bound or outer > bound:
            continue
        nested = f" ({outer} outer × {count})" if outer > 1 else ""
        limit = node.task.loop.parallelism if node.task.loop else 0
        fix = ("give each iteration a batch of items, so fewer iterations run" if limit else
               "give each iteration a batch of items, or set ParallelFor(parallelism=N) to bound concurrent pods")
        tekton = f"; Tekton rejects a matrix over {TEKTON_MATRIX_MAX} by default" if total > TEKTON_MATRIX_MAX else ""
        yield Hit(f"loop '{node.path}' runs {total} iterations{nested}, over --max-fanout {bound}: one pod "
                  f"each{tekton}", fix,
                  f"{node.task.ir_path}.iteratorPolicy" if limit else node.task.ir_path, node.path)
