"""Execute a plan on this machine: the same semantics as the cluster targets, every task through the launcher.

One asyncio loop schedules the DAG; each executed container task is a ``kfp-launcher`` subprocess,
bounded by ``RunOptions.parallelism``. DAG scopes (the root, sub-DAGs, loop iterations) resolve their
tasks' inputs from their own inputs and their sibling tasks' outcomes, exactly as the Argo target
wires parameters and ``tasks.X.outputs``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from driver.errors import RunFailed
from driver.plan.conditions import ConditionError, evaluate
from driver.plan.model import (
    Binding,
    Component,
    Constant,
    ContainerExecutor,
    FinalStatus,
    ImporterExecutor,
    LoopKind,
    ParamType,
    ParentInput,
    Plan,
    PvcExecutor,
    Task,
    TaskOutput,
    Trigger,
)
from driver.plan.values import TypeMismatch, check_type
from driver.local.launch import Launch, LaunchSpec
from driver.local.model import ArtifactRef, Outcome, RunOptions, RunResult, State, TaskRecord
from driver.local.metrics import write_run_metrics
from driver.local.progress import Progress
from driver.local.resume import completed_attempts, lock_run, reuse, start_state

ABSENT: Any = object()


class TaskFailure(Exception):
    """A task cannot run (bad wiring at run time); the task fails with this message."""


@dataclass
class Scope:
    """One running DAG: its component, its bound inputs (typed), its path, and its tasks' futures."""

    component: Component
    inputs: dict[str, Any]
    prefix: str
    futures: dict[str, "asyncio.Future[Outcome]"] = field(default_factory=dict)

    def path_of(self, task: Task) -> str:
        return f"{self.prefix}{task.name}"


class LocalRunner:
    """Runs a plan once; ``resume_id`` finishes an earlier run of it instead (``run --resume``)."""

    def __init__(self, plan: Plan, options: RunOptions, progress: Progress | None = None,
                 resume_id: str | None = None) -> None:
        self.plan = plan
        self.options = options
        self.run_id = resume_id or uuid.uuid4().hex[:12]
        self.resuming = resume_id is not None
        self.run_dir = options.workdir / "runs" / self.run_id
        self.launch = Launch(plan, options, self.run_id, self.run_dir)
        self.progress = progress or Progress(enabled=False)
        self.records: dict[str, TaskRecord] = {}
        self.completed: dict[str, dict[str, Any]] = {}
        """Resuming: task path -> the execution record of its completed attempt."""

    def run(self, parameters: dict[str, Any], ir: bytes | None = None) -> RunResult:
        """Run (or, resuming, finish) the pipeline; the ``ir`` file's bytes are kept for a resume.

        The work directory failing (disk full, read-only) fails the run with one line, not a traceback."""
        try:
            return self._run(parameters, ir)
        except OSError as error:
            where = error.filename or self.options.workdir
            raise RunFailed(f"run {self.run_id}: cannot write {where}: {error.strerror or error}",
                            hint=f"free space there or pass another --workdir; `kfp-driver run --resume "
                                 f"{self.options.workdir} {self.run_id}` finishes the run later") from None

    def _run(self, parameters: dict[str, Any], ir: bytes | None) -> RunResult:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        lock = lock_run(self.run_dir)
        try:
            if not self.resuming:
                (self.run_dir / "parameters.json").write_text(json.dumps(parameters, indent=1, default=_json_default))
                if ir is not None:
                    (self.run_dir / "pipeline.yaml").write_bytes(ir)
            else:
                self.completed = completed_attempts(self.options.workdir, self.run_id)
            state = start_state(self.run_dir, self.run_id, self.options, self.resuming)
            started, started_at = time.monotonic(), time.time()
            try:
                outcome = asyncio.run(self._run_root(parameters))
            except KeyboardInterrupt:
                outcome = Outcome(State.CANCELLED, error="interrupted")
            self.progress.finish()
            result = RunResult(self.run_id, outcome.state, outcome.outputs, dict(sorted(self.records.items())),
                               self.run_dir, outcome.error, time.monotonic() - started, started_at)
            state.state, state.finished_at = outcome.state.value, time.time()
            state.save(self.run_dir)
        finally:
            lock.close()
        if self.options.metrics_file is not None:
            write_run_metrics(self.options.metrics_file, self.plan.name, result, self.options.workdir / "records.db")
        return result

    async def _run_root(self, parameters: dict[str, Any]) -> Outcome:
        try:
            return await self.run_dag(self.plan.root, parameters, "")
        except asyncio.CancelledError:
            await self.launch.terminate_all()
            return Outcome(State.CANCELLED, error="interrupted")

    # -- DAGs -------------------------------------------------------------------------------

    async def run_dag(self, component: Component, inputs: dict[str, Any], prefix: str) -> Outcome:
        assert component.dag is not None
        scope = Scope(component, inputs, prefix)
        for name in component.dag.order():
            task = component.dag.tasks[name]
            scope.futures[name] = asyncio.ensure_future(self.run_task(scope, task))
        outcomes = {name: await future for name, future in scope.futures.items()}
        failed = [name for name, o in outcomes.items() if o.state in (State.FAILED, State.CANCELLED)]
        state = State.CANCELLED if any(o.state == State.CANCELLED for o in outcomes.values()) else \
            State.FAILED if failed else State.SUCCEEDED
        outputs: dict[str, Any] = {}
        if state == State.SUCCEEDED:
            for name, output in component.dag.outputs.items():
                value = self.dag_output(output, outcomes)
                if value is not ABSENT:
                    outputs[name] = value
        error = f"failed tasks: {', '.join(prefix + name for name in failed)}" if failed else ""
        return Outcome(state, outputs, error)

    @staticmethod
    def dag_output(output, outcomes: dict[str, Outcome]) -> Any:
        for selector in output.selectors:
            outcome = outcomes.get(selector.task)
            if outcome is None or outcome.state != State.SUCCEEDED:
                continue
            value = _output_of(outcome, selector.output)
            if value is not ABSENT:
                return value
        return ABSENT

    # -- tasks ------------------------------------------------------------------------------

    async def run_task(self, scope: Scope, task: Task) -> Outcome:
        path = scope.path_of(task)
        upstream = {name: await scope.futures[name] for name in task.after if name in scope.futures}
        if task.trigger == Trigger.ALL_SUCCEEDED:
            blocked = [name for name, o in upstream.items() if not o.state.ok]
            if blocked:
                return self.finish(path, Outcome(State.NOT_RUN, error=f"upstream {', '.join(blocked)} did not succeed"))
        component = self.plan.component_of(task)
        try:
            values = self.resolve_inputs(scope, task, component, upstream)
            if task.condition is not None and not self.condition_holds(task, component, values):
                return self.finish(path, Outcome(State.SKIPPED))
            if task.loop is None:
                return await self.execute(component, task, values, path)
            return await self.run_loop(scope, component, task, values, path)
        except TaskFailure as failure:
            return self.finish(path, Outcome(State.FAILED, error=str(failure)))

    async def run_loop(self, scope: Scope, component: Component, task: Task, values: dict[str, Any],
                       path: str) -> Outcome:
        loop = task.loop
        assert loop is not None
        if loop.kind == LoopKind.RAW:
            items = list(loop.items or [])
        else:
            items = values.get(loop.items_input, ABSENT)
            if isinstance(items, str):
                try:
                    items = json.loads(items)
                except json.JSONDecodeError:
                    pass
            if not isinstance(items, list):
                raise TaskFailure(f"ParallelFor items of '{task.name}' are not a list: {str(items)[:80]}")
        limit = asyncio.Semaphore(loop.parallelism or len(items) or 1)

        async def iteration(index: int, item: Any) -> Outcome:
            async with limit:
                item_values = dict(values)
                item_values[loop.item_input] = item if loop.kind != LoopKind.ARTIFACT else _as_ref(item)
                return await self.execute(component, task, item_values, f"{path}[{index}]")

        iterations = list(await asyncio.gather(*(iteration(i, item) for i, item in enumerate(items))))
        bad = [i for i, o in enumerate(iterations) if o.state in (State.FAILED, State.CANCELLED)]
        state = State.FAILED if bad else State.SUCCEEDED
        error = f"iterations {bad} failed" if bad else ""
        return self.finish(path, Outcome(state, {}, error, iterations), record=False)

    async def execute(self, component: Component, task: Task, values: dict[str, Any], path: str) -> Outcome:
        executor = component.executor
        if component.dag is not None:
            outcome = await self.run_dag(component, values, f"{path}/")
            return self.finish(path, outcome, record=False)
        if isinstance(executor, ImporterExecutor):
            return self.finish(path, Outcome(State.SUCCEEDED, self.importer_outputs(component, executor, values)))
        if isinstance(executor, PvcExecutor):
            return self.finish(path, self.pvc(executor, values))
        assert isinstance(executor, ContainerExecutor)
        if path in self.completed:
            reused = await self.reuse_completed(component, path)
            if reused is not None:
                return reused
        self.progress.started(path)
        result = await self.launch.run(LaunchSpec(component, task, path, values))
        record = TaskRecord(path, result.outcome.state, result.outcome.outputs, result.outcome.error,
                            result.duration, result.attempts, result.cached, component.name, result.queued)
        self.records[path] = record
        self.progress.ended(path, result.outcome.state)
        return result.outcome

    async def reuse_completed(self, component: Component, path: str) -> Outcome | None:
        """Resuming: the outcome of a task an earlier invocation completed, if its outputs are all still there."""
        record = self.completed[path]
        outputs, problem = await asyncio.to_thread(reuse, component.outputs, record)
        if problem:
            print(f"kfp-driver: {path}: running again: {problem}", file=sys.stderr)
            return None
        metrics = record.get("metrics", {})
        self.records[path] = TaskRecord(path, State.SUCCEEDED, outputs, "", metrics.get("duration_seconds", 0.0),
                                        record.get("attempt", 1), record["cache"]["hit"], component.name, 0.0, True)
        self.progress.ended(path, State.SUCCEEDED)
        return Outcome(State.SUCCEEDED, outputs)

    def finish(self, path: str, outcome: Outcome, record: bool = True) -> Outcome:
        if record or outcome.state not in (State.SUCCEEDED, State.FAILED):
            self.records[path] = TaskRecord(path, outcome.state, outcome.outputs, outcome.error)
        if outcome.state in (State.SKIPPED, State.NOT_RUN):
            self.progress.ended(path, outcome.state)
        return outcome

    # -- inputs -----------------------------------------------------------------------------

    def resolve_inputs(self, scope: Scope, task: Task, component: Component,
                       upstream: dict[str, Outcome]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, binding in task.parameters.items():
            declared = component.inputs.parameters.get(name)
            kind = declared.type if declared else ParamType.STRING
            value = self.resolve(scope, task, binding, upstream, kind)
            if value is not ABSENT:
                values[name] = value
        for name, binding in task.artifacts.items():
            value = self.resolve(scope, task, binding, upstream, None)
            if value is not ABSENT:
                declared = component.inputs.artifacts.get(name)
                values[name] = _flatten(value) if declared is not None and declared.is_list else value
        return values

    def resolve(self, scope: Scope, task: Task, binding: Binding, upstream: dict[str, Outcome],
                kind: ParamType | None) -> Any:
        source = binding.source
        if isinstance(source, Constant):
            value = source.value
        elif isinstance(source, ParentInput):
            value = scope.inputs.get(source.name, ABSENT)
            if value is ABSENT:
                declared = scope.component.inputs.parameters.get(source.name)
                value = declared.default if declared is not None and declared.has_default else ABSENT
        elif isinstance(source, FinalStatus):
            outcome = upstream.get(source.task)
            return _final_status(outcome, source.task, self.launch.job_name)
        else:
            assert isinstance(source, TaskOutput)
            outcome = upstream.get(source.task)
            if outcome is None:
                raise TaskFailure(f"input of '{task.name}' reads '{source.task}', which is not upstream of it")
            value = _output_of(outcome, source.output)
        if value is ABSENT:
            return ABSENT
        for key in binding.fields:
            value = _field(value, key)
        if kind is None or kind == ParamType.TASK_FINAL_STATUS:
            return value
        return _typed(value, kind, task)

    def condition_holds(self, task: Task, component: Component, values: dict[str, Any]) -> bool:
        assert task.condition is not None

        def lookup(name: str) -> Any:
            if name not in values:
                raise TaskFailure(f"condition of '{task.name}' reads input '{name}', which has no value")
            return values[name]

        try:
            return bool(evaluate(task.condition.expr, lookup))
        except ConditionError as error:
            raise TaskFailure(f"condition {task.condition.text!r} of '{task.name}': {error}") from None

    def importer_outputs(self, component: Component, executor: ImporterExecutor, values: dict[str, Any]) -> dict:
        source = executor.uri.source
        uri = source.value if isinstance(source, Constant) else values.get(getattr(source, "name", ""), "")
        metadata = _fill_metadata(executor.metadata, values)
        name = next(iter(component.outputs.artifacts), "artifact")
        return {name: ArtifactRef(str(uri), metadata, name, executor.schema_title)}

    def pvc(self, executor: PvcExecutor, values: dict[str, Any]) -> Outcome:
        """Volumes are directories here: CreatePVC makes one under the run, DeletePVC removes it."""
        volumes = self.run_dir / "volumes"
        if executor.action == "create":
            name = values.get("pvc_name") or f"{self.run_id}{values.get('pvc_name_suffix', '')}"
            (volumes / name).mkdir(parents=True, exist_ok=True)
            return Outcome(State.SUCCEEDED, {"name": name})
        import shutil

        shutil.rmtree(volumes / str(values.get("pvc_name", "")), ignore_errors=True)
        return Outcome(State.SUCCEEDED)


# ---------------------------------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    if isinstance(value, ArtifactRef):
        return value.to_json()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _output_of(outcome: Outcome, name: str) -> Any:
    """A task's output; for a loop, the list of the iterations' values (``dsl.Collected``)."""
    if outcome.iterations is not None:
        return [o.outputs[name] for o in outcome.iterations if o.state == State.SUCCEEDED and name in o.outputs]
    return outcome.outputs.get(name, ABSENT)


def _flatten(value: Any) -> list[Any]:
    """An artifact-list input: Collected across nested loops arrives as lists of lists; KFP wants one list."""
    if not isinstance(value, list):
        return [value]
    return [leaf for item in value for leaf in _flatten(item)]


def _field(value: Any, key: str) -> Any:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise TaskFailure(f"cannot select field '{key}' of a non-JSON value") from None
    if not isinstance(value, dict) or key not in value:
        raise TaskFailure(f"value has no field '{key}'")
    return value[key]


def _typed(value: Any, kind: ParamType, task: Task) -> Any:
    if kind == ParamType.STRING and not isinstance(value, str):
        return json.dumps(value) if isinstance(value, (list, dict)) else _scalar_text(value)
    if isinstance(value, str) and kind != ParamType.STRING:
        from driver.plan.values import decode_value

        try:
            return decode_value(value, kind)
        except TypeMismatch as error:
            raise TaskFailure(f"input of '{task.name}': {error}") from None
    try:
        return check_type(value, kind)
    except TypeMismatch as error:
        raise TaskFailure(f"input of '{task.name}': {error}") from None


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _as_ref(item: Any) -> ArtifactRef:
    return item if isinstance(item, ArtifactRef) else ArtifactRef.from_json(item)


def _final_status(outcome: Outcome | None, task: str, job_name: str) -> dict[str, Any]:
    """``PipelineTaskFinalStatus`` as the KFP SDK reads it (KFP's execution states: COMPLETE, FAILED)."""
    ok = outcome is not None and outcome.state.ok
    return {"state": "COMPLETE" if ok else "FAILED", "pipelineTaskName": task, "pipelineJobResourceName": job_name,
            "error": {"code": 0 if ok else 2, "message": "" if ok or outcome is None else outcome.error}}


def _fill_metadata(metadata: Any, values: dict[str, Any]) -> Any:
    """Importer metadata may hold ``{{$.inputs.parameters['x']}}`` keys and values."""
    from driver.plan.placeholders import parse_string

    if isinstance(metadata, dict):
        return {_fill_metadata(k, values): _fill_metadata(v, values) for k, v in metadata.items()}
    if isinstance(metadata, list):
        return [_fill_metadata(v, values) for v in metadata]
    if isinstance(metadata, str) and "{{$" in metadata:
        pieces = parse_string(metadata)
        if len(pieces) == 1 and isinstance(pieces[0], dict):
            return values.get(pieces[0].get("name", ""), "")
        return "".join(p if isinstance(p, str) else str(values.get(p.get("name", ""), "")) for p in pieces)
    return metadata
