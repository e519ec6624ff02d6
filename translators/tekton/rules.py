"""Tekton's pipeline-wide rules, checked on the flat pipeline: nothing depends on a ``finally`` task,
status variables only in ``finally``, a pipeline parameter is either an array or a value."""

from __future__ import annotations

from driver.errors import KfpDriverError
from driver.plan.model import Task
from translators.tekton.flat import FlatTask, Refusal
from translators.tekton.values import Output, Status, parts


def check_rules(tasks: list[FlatTask], array_uses: dict[str, Task],
                value_uses: dict[str, Task]) -> list[KfpDriverError]:
    problems: list[Refusal] = []
    finals = {task.id for task in tasks if task.final}
    regular = {task.id for task in tasks if not task.final}
    for task in tasks:
        read = [part for value in task.values() for part in parts(value)]
        producers = {part.task for part in read if isinstance(part, Output)}
        others = (producers | task.after) & finals - {task.id}
        if task.final and others:
            problems.append(Refusal(task.task, "exit task reads the outputs of another exit task",
                                    "Tekton finally tasks cannot depend on each other"))
        elif others:
            problems.append(Refusal(task.task, "depends on an exit task or an ignore_upstream_failure task",
                                    "Tekton finally tasks cannot have dependents"))
        for part in read:
            if isinstance(part, Status) and set(part.tasks) != regular and len(part.tasks) != 1:
                problems.append(Refusal(task.task, "final status of a group of tasks that is not the whole pipeline",
                                        "Tekton reports the status of one task or of all tasks"))
    if finals and not regular:
        problems.append(Refusal(None, "only exit tasks", "Tekton needs at least one task besides finally"))
    for name in sorted(set(array_uses) & set(value_uses)):
        problems.append(Refusal(value_uses[name], f"reads LIST pipeline parameter '{name}', which also feeds "
                                                  f"ParallelFor '{array_uses[name].name}'",
                                "the parameter is a Tekton array, which cannot be passed as one value"))
    return [problem.error() for problem in problems]
