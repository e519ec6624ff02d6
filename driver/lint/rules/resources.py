"""Resource limits set on some tasks but not others: the unlimited ones can starve their neighbours."""

from __future__ import annotations

from collections.abc import Iterator

from driver.lint.context import IRContext, tasks_text
from driver.lint.model import Severity
from driver.lint.registry import Hit, rule

_LIMITS = (("cpu_limit", "CPU", "set_cpu_limit('1')", "resourceCpuLimit"),
           ("memory_limit", "memory", "set_memory_limit('1G')", "resourceMemoryLimit"))


@rule("missing-resource-limits", Severity.WARNING,
      "a task has no CPU or memory limit although other tasks of the pipeline set one")
def missing_limits(ctx: IRContext) -> Iterator[Hit]:
    executors = ctx.executors()
    for field, what, setter, ir_key in _LIMITS:
        limited = [label for label, executor, _ in executors if getattr(executor.resources, field)]
        if not limited:
            continue
        for label, executor, nodes in executors:
            if getattr(executor.resources, field):
                continue
            yield Hit(f"task {tasks_text(nodes)} has no {what} limit, but '{limited[0]}' sets one: this pipeline "
                      f"limits {what} elsewhere, so the unlimited task is likely an oversight",
                      f"call .{setter} on the task in the pipeline code (IR: container.resources.{ir_key})",
                      f"deploymentSpec.executors['{label}'].container", nodes[0].path)
