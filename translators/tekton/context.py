"""Names chosen for the flat tasks, their results and the pipeline's parameters, and the Tekton text of a
run-time value at pipeline level (task params, ``when``, ``matrix``, pipeline results)."""

from __future__ import annotations

import json
from collections import Counter

from driver.plan.model import Plan
from translators.naming import NameTable
from translators.options import CompileOptions
from translators.tekton import exprs
from translators.tekton.flat import FlatPipeline, FlatTask
from translators.tekton.names import Names, param_name, result_name
from translators.tekton.values import (
    Const,
    FinalState,
    Gathered,
    Listed,
    Output,
    PipelineParam,
    Status,
    Text,
    Value,
    parts,
)

PIPELINE_ROOT = "kfp-pipeline-root"
TASK_PATH_PARAM = "kfp-task"


class Context:
    """Everything a pipeline task needs to know about the rest of the pipeline."""

    def __init__(self, plan: Plan, options: CompileOptions, flat: FlatPipeline) -> None:
        self.plan = plan
        self.options = options
        self.flat = flat
        self.names = _task_names(flat.tasks)
        param_names = Names(param_name, taken=[PIPELINE_ROOT, TASK_PATH_PARAM])
        self.params = {name: param_names.claim(name) for name in flat.params}
        self.regular = frozenset(task.id for task in flat.tasks if not task.final)
        self.results: dict[int, dict[tuple[str, bool, bool], str]] = {}
        self._result_names: dict[int, Names] = {}
        self._register_results()

    # -- results ----------------------------------------------------------------------------

    def result(self, output: Output, array: bool = False) -> str:
        return self.results[output.task][(output.name, output.artifact, array)]

    def _register_results(self) -> None:
        """Only outputs somebody reads become results: the termination message holds 4 KiB per task."""
        for task in self.flat.tasks:
            sources = [dim.source for dim in task.dims if isinstance(dim.source, Output)]
            for source in sources:
                self._register(source, array=True)
            for value in task.values():
                if not any(value is source for source in sources):
                    self._register_parts(value)
        for value in self.flat.outputs.values():
            self._register_parts(value)

    def _register_parts(self, value: Value | None) -> None:
        for part in parts(value):
            if isinstance(part, Output):
                self._register(part, array=False)

    def _register(self, output: Output, array: bool) -> None:
        key = (output.name, output.artifact, array)
        table = self.results.setdefault(output.task, {})
        if key not in table:
            names = self._result_names.setdefault(output.task, Names(result_name))
            table[key] = names.claim(f"{output.name}-items" if array else output.name)

    # -- values -----------------------------------------------------------------------------

    def variable(self, value: Value | None) -> str:
        """The pipeline-level text of a run-time value."""
        if isinstance(value, PipelineParam):
            return exprs.param(self.params[value.name])
        if isinstance(value, Output):
            return exprs.result(self.names[value.task], self.result(value))
        if isinstance(value, Status):
            if set(value.tasks) == self.regular:
                return exprs.ALL_TASKS_STATUS
            return exprs.status(self.names[value.tasks[0]])
        if isinstance(value, Listed):
            return "[" + ",".join(self.json_element(item) for item in value.items) + "]"
        if isinstance(value, FinalState):
            return self.final_state(value)
        raise TypeError(f"{type(value).__name__} has no pipeline-level text")

    def final_state(self, value: FinalState) -> str:
        """KFP's ``PipelineTaskFinalStatus`` struct; only Tekton's own words (run name, status) are spliced in."""
        run, status = "\ue000run\ue000", "\ue000status\ue000"
        message = "" if value.complete else f"task {value.task} ended {status}"
        struct = {"state": "COMPLETE" if value.complete else "FAILED", "pipelineTaskName": value.task,
                  "pipelineJobResourceName": run, "error": {"code": 0 if value.complete else 2, "message": message}}
        text = json.dumps(struct, separators=(",", ":"), ensure_ascii=False)
        return text.replace(run, exprs.RUN_NAME).replace(status, self.variable(value.status))

    def json_element(self, value: Value | None) -> str:
        """A value as an element of a JSON list (outputs here hold JSON: artifacts and non-string parameters)."""
        if value is None:
            return "null"
        if isinstance(value, Const):
            return json.dumps(value.value, separators=(",", ":"), ensure_ascii=False)
        if isinstance(value, Text):
            return value.text
        return self.variable(value)

    def array(self, value: Value | None) -> str:
        """The whole-array text of a loop source known only at run time."""
        if isinstance(value, PipelineParam):
            return exprs.param_items(self.params[value.name])
        if isinstance(value, Gathered) and isinstance(value.value, Output):
            output = value.value
            return exprs.result_items(self.names[output.task], self.result(output))
        assert isinstance(value, Output)
        return exprs.result_items(self.names[value.task], self.result(value, array=True))


def _task_names(tasks: list[FlatTask]) -> dict[int, str]:
    """Readable, unique DNS labels: the IR task name (with unrolled iteration numbers), else its whole path."""
    wishes = {task.id: _wish(task, full=False) for task in tasks}
    counts = Counter(wishes.values())
    table = NameTable()
    names = {task.id: table.claim(wishes[task.id] if counts[wishes[task.id]] == 1 else _wish(task, full=True))
             for task in tasks}
    # Tekton names a matrix task's TaskRuns <run>-<task>-<index>: no other task may be called <task>-<digits>
    runs = {names[task.id]: _combinations(task) for task in tasks if task.dims}
    for task in tasks:
        base, dash, tail = names[task.id].rpartition("-")
        if dash and tail.isdigit() and base in runs and int(tail) < runs[base]:
            names[task.id] = table.claim(f"{names[task.id]}-task")
    return names


def _combinations(task: FlatTask) -> float:
    """How many TaskRuns a matrix task makes (unbounded when a list is known only at run time)."""
    count = 1.0
    for dim in task.dims:
        count *= len(dim.items) if dim.items is not None else float("inf")
    return count


def _wish(task: FlatTask, full: bool) -> str:
    words: list[str] = []
    for segment in task.path:
        name = segment[0] if isinstance(segment, tuple) else segment
        base, _, index = name.partition("[")
        if full:
            words.append(base)
        if index:
            words.append(index.rstrip("]"))
    if not full:
        last = task.path[-1]
        words.insert(0, (last[0] if isinstance(last, tuple) else last).partition("[")[0])
    if task.variant:
        words.append(task.variant)
    return "-".join(words)
