"""Plan -> flat pipeline: Tekton has one level of pipeline tasks, so nested DAGs, loops and exit
handlers are lowered here, before any Tekton text is written.

- Sub-DAGs (nested pipelines, condition groups, exit-handler groups) are inlined; their tasks inherit the
  group's conditions and upstream dependencies.
- A ParallelFor becomes a matrix dimension of every task of its body when the iterations only read the
  item and values from outside the loop. A static loop whose iterations pass data between their tasks,
  test the item in a condition, limit parallelism or whose outputs are collected is unrolled instead:
  one task per iteration, exact KFP semantics, parallelism as a sliding window of ``runAfter``. In a loop
  over a run-time list, a task fed by one output of another task of the loop follows that task's
  gathered results position by position; anything else per iteration is refused.
- Tasks that run whatever their upstream's outcome (exit tasks, ``ignore_upstream_failure``) become
  ``finally`` tasks.
- Importers and PVC tasks need no pod (``translators.tekton.nopod``).
- A consumer of a ``dsl.OneOf`` output is emitted once per branch. Tekton skips a task whose result
  references point at a skipped task, so exactly the copy of the branch that ran runs.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

from driver.errors import KfpDriverError, raise_if_any
from driver.plan.conditions import refs
from driver.plan.model import (
    Binding,
    Component,
    Constant,
    ContainerExecutor,
    DagOutput,
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
from driver.plan.values import encode_value
from driver.platform import ExecutorPlatform
from translators.naming import dns_label
from translators.tekton.conditions import NUMBERS, ConditionUnsupported, Guard, Operand, WhenIn, compile_condition
from translators.tekton.flat import (
    Dim,
    FlatPipeline,
    FlatTask,
    Refusal,
    RootParam,
    Segment,
    Workspace,
    flat_list,
    json_list,
    output_type,
)
from translators.kubernetes import container_resources, resource_inputs
from translators.tekton.nopod import claim_template, importer_outputs
from translators.tekton.rules import check_rules
from translators.tekton.values import (
    Claim,
    Const,
    FinalState,
    Gathered,
    Item,
    Listed,
    OneOf,
    Output,
    PipelineParam,
    Reference,
    Status,
    Text,
    Value,
    parts,
)

MAX_MATRIX = 256
"""Tekton's default ``default-max-matrix-combinations-count``; larger static loops are unrolled."""


def flatten(plan: Plan, fixed: Mapping[str, Any] | None = None) -> FlatPipeline:
    """Lower the plan; collect every construct Tekton cannot express and raise them together.

    ``fixed`` maps root parameters to values that are constants of this run (no pipeline param)."""
    return _Flattener(plan, dict(fixed or {})).run()


class NotMatrixable(Exception):
    """A loop body does something per iteration that a matrix cannot express."""

    def __init__(self, dim: Dim, reason: str) -> None:
        super().__init__(reason)
        self.dim, self.reason = dim, reason


@dataclass(frozen=True)
class _Done:
    """A lowered IR task: its outputs, what its dependents wait for, and its flat tasks."""

    outputs: dict[str, Value | None]
    completion: frozenset[int]
    flat: tuple[int, ...]


@dataclass
class _Scope:
    """A DAG being lowered: its bound inputs and what every task in it inherits."""

    component: Component
    inputs: dict[str, Value]
    path: tuple[Segment, ...] = ()
    guards: tuple[Guard, ...] = ()
    after: frozenset[int] = frozenset()
    dims: tuple[Dim, ...] = ()
    final: bool = False
    unrolled: bool = False
    done: dict[str, _Done] = field(default_factory=dict)

    @property
    def in_loop(self) -> bool:
        return bool(self.dims) or self.unrolled


class _Flattener:
    def __init__(self, plan: Plan, fixed: dict[str, Any]) -> None:
        self.plan = plan
        self.fixed = fixed
        self.tasks: list[FlatTask] = []
        self.dims: list[Dim] = []
        self.problems: list[KfpDriverError] = []
        self.workspaces: list[Workspace] = []
        self.params: dict[str, RootParam] = {}
        self.array_uses: dict[str, Task] = {}
        self.value_uses: dict[str, Task] = {}
        self.array_outputs: set[tuple[int, str]] = set()

    def run(self) -> FlatPipeline:
        root = self.plan.root
        inputs: dict[str, Value] = {}
        for name, param in root.inputs.parameters.items():
            if name in self.fixed:
                inputs[name] = Const(self.fixed[name])
                continue
            if param.has_default or param.required:
                inputs[name] = PipelineParam(name)
                self.params[name] = RootParam(param)
        for name, artifact in root.inputs.artifacts.items():
            inputs[name] = PipelineParam(name)
            self.params[name] = RootParam(artifact)
        scope = _Scope(root, inputs)
        self.dag(scope)
        outputs = self.pipeline_outputs(scope)
        self.problems += check_rules(self.tasks, self.array_uses, self.value_uses)
        raise_if_any(list({str(problem): problem for problem in self.problems}.values()))
        for name in self.array_uses:
            self.params[name] = replace(self.params[name], array=True)
        return FlatPipeline(self.tasks, self.params, outputs, self.workspaces, self.array_outputs)

    # -- DAGs and tasks ---------------------------------------------------------------------

    def dag(self, scope: _Scope) -> None:
        dag = scope.component.dag
        assert dag is not None
        for name in dag.order():
            task = dag.tasks[name]
            try:
                scope.done[name] = self.task(scope, task)
            except Refusal as refusal:
                self.problems.append(refusal.error())
                scope.done[name] = _Done({}, self.upstream(scope, task), ())

    def upstream(self, scope: _Scope, task: Task) -> frozenset[int]:
        after = set(scope.after)
        for name in task.after:
            if name in scope.done:
                after |= scope.done[name].completion
        return frozenset(after)

    def task(self, scope: _Scope, task: Task) -> _Done:
        component = self.plan.component_of(task)
        after = self.upstream(scope, task)
        if task.loop is not None:
            return self.loop(scope, task, component, after)
        return self.body(scope, task, component, after, {}, task.name)

    def body(self, scope: _Scope, task: Task, component: Component, after: frozenset[int],
             overrides: dict[str, Value], segment: Segment) -> _Done:
        path = scope.path + (segment,)
        params, artifacts = self.inputs(scope, task, component, overrides)
        final = scope.final or task.trigger == Trigger.ALL_COMPLETED
        for value in [*params.values(), *artifacts.values()]:
            if any(isinstance(part, Output) and self.tasks[part.task].final for part in parts(value)):
                raise Refusal(task, "reads the outputs of an exit task or an ignore_upstream_failure task",
                              "Tekton finally tasks cannot have dependents nor depend on each other")
        guards = scope.guards + self.condition(scope, task, component, params)
        if final and scope.in_loop:
            raise Refusal(task, "exit task or ignore_upstream_failure inside a ParallelFor",
                          "Tekton runs finally tasks once, after all other tasks")
        if component.dag is not None:
            child = _Scope(component, {**params, **artifacts}, path, guards, frozenset() if final else after,
                           scope.dims, final, scope.unrolled)
            start = len(self.tasks)
            self.dag(child)
            ids = tuple(range(start, len(self.tasks)))
            outputs = {name: self.dag_output(child, output) for name, output in component.dag.outputs.items()}
            return _Done(outputs, frozenset(ids) or after, ids)
        executor = component.executor
        if isinstance(executor, ImporterExecutor):
            return _Done(importer_outputs(task, component, executor, params), after, ())
        if isinstance(executor, PvcExecutor):
            return self.pvc(scope, task, component, executor, params, after)
        if isinstance(executor, ContainerExecutor):
            return self.container(scope, task, component, path, params, artifacts, guards,
                                  frozenset() if final else after, final)
        raise Refusal(task, f"component '{component.name}' has no executor Tekton can run")

    def inputs(self, scope: _Scope, task: Task, component: Component,
               overrides: dict[str, Value]) -> tuple[dict[str, Value], dict[str, Value]]:
        params: dict[str, Value] = {}
        for name, binding in task.parameters.items():
            if name in component.inputs.parameters:
                value = self.resolve(scope, task, binding)
                if value is not None:
                    params[name] = value
        artifacts: dict[str, Value] = {}
        for name, binding in task.artifacts.items():
            value = self.resolve(scope, task, binding)
            if value is not None:
                artifacts[name] = value
        for name, value in overrides.items():
            (artifacts if name in component.inputs.artifacts else params)[name] = value
        return params, artifacts

    def resolve(self, scope: _Scope, task: Task, binding: Binding) -> Value | None:
        """The value of ``binding`` in ``scope``; None when it is absent (an unbound optional input)."""
        source = binding.source
        value: Value | None
        if isinstance(source, Constant):
            value = Const(source.value)
        elif isinstance(source, FinalStatus):
            done = scope.done.get(source.task)
            return Status(done.flat) if done is not None else None
        elif isinstance(source, ParentInput):
            value = scope.inputs.get(source.name)
            declared = scope.component.inputs.parameters.get(source.name)
            if value is None and declared is not None and declared.has_default:
                value = Const(declared.default)
        else:
            assert isinstance(source, TaskOutput)
            done = scope.done.get(source.task)
            value = done.outputs.get(source.output) if done is not None else None
        if value is None or not binding.fields:
            return value
        return self.select(task, value, binding.fields)

    def select(self, task: Task, value: Value, fields: tuple[str, ...]) -> Value:
        """A field of a JSON value (``parameterExpressionSelector``)."""
        if isinstance(value, Const):
            picked = value.value
            for key in fields:
                if isinstance(picked, str):
                    try:
                        picked = json.loads(picked)
                    except json.JSONDecodeError:
                        picked = None
                picked = picked.get(key) if isinstance(picked, dict) else None
            return Const(picked)
        if isinstance(value, Item):
            return Item(value.dim, value.fields + fields)
        if isinstance(value, OneOf):
            return OneOf(tuple(self.select(task, option, fields) for option in value.options))
        raise Refusal(task, f"reads field {'.'.join(fields)!r} of a value known only at run time",
                      "Tekton has no expressions to take a field of a JSON value; pass the field from the producer")

    def condition(self, scope: _Scope, task: Task, component: Component,
                  params: dict[str, Value]) -> tuple[Guard, ...]:
        if task.condition is None:
            return ()
        operands: dict[str, Operand] = {}
        for name in sorted(refs(task.condition.expr)):
            value = params.get(name)
            self.require_invariant(scope, value, f"condition {task.condition.text!r} changes between iterations")
            if isinstance(value, (OneOf, Gathered, Listed, Claim)):
                raise Refusal(task, f"condition reads '{name}', which is not a single value")
            declared = component.inputs.parameters.get(name)
            kind = declared.type if declared is not None else ParamType.STRING
            operands[name] = Operand(value, kind, self.launcher_typed(value))
            self.note_value_use(task, value)
        try:
            return compile_condition(task.condition.expr, operands)
        except ConditionUnsupported as exc:
            raise Refusal(task, f"condition {task.condition.text!r} {exc}") from None

    def launcher_typed(self, value: Value | None) -> bool:
        """A numeric or boolean task output: the launcher writes its text, so it is a plain literal."""
        if not isinstance(value, Output) or value.artifact:
            return False
        declared = self.tasks[value.task].component.outputs.parameters.get(value.name)
        return declared is not None and declared.type in NUMBERS + (ParamType.BOOLEAN,)

    # -- loops ------------------------------------------------------------------------------

    def loop(self, scope: _Scope, task: Task, component: Component, after: frozenset[int]) -> _Done:
        loop = task.loop
        assert loop is not None
        source = self.loop_source(scope, task)
        items = _static_items(task, source)
        if items is not None:
            if not self.unroll_first(task, component, items):
                dim = self.new_dim(Dim(len(self.dims), task, items=items))
                attempt = self.snapshot()
                try:
                    return self.matrix(scope, task, component, after, dim)
                except NotMatrixable as exc:
                    if exc.dim is not dim:
                        raise
                    self.restore(attempt)
            return self.unroll(scope, task, component, after, items)
        if loop.parallelism:
            raise Refusal(task, f"ParallelFor parallelism limit {loop.parallelism} over a list known only at run time",
                          "a Tekton matrix starts all its combinations at once; use static items or drop the limit")
        self.require_invariant(scope, source, "its items change between iterations of the enclosing loop")
        declared = component.inputs.parameters.get(loop.item_input)
        item_type = None if loop.kind == LoopKind.ARTIFACT else declared.type if declared else ParamType.STRING
        self.check_array_source(task, source, item_type)
        dim = self.new_dim(Dim(len(self.dims), task, source=source, item_type=item_type))
        try:
            return self.matrix(scope, task, component, after, dim)
        except NotMatrixable as exc:
            if exc.dim is not dim:
                raise
            raise Refusal(task, f"ParallelFor over a list known only at run time: {exc.reason}",
                          "a Tekton matrix runs each task of the body for all items; unroll needs static items") \
                from None

    def loop_source(self, scope: _Scope, task: Task) -> Value:
        loop = task.loop
        assert loop is not None
        if loop.kind == LoopKind.RAW:
            return Const(loop.items or [])
        bindings = task.artifacts if loop.kind == LoopKind.ARTIFACT else task.parameters
        binding = bindings.get(loop.items_input)
        value = self.resolve(scope, task, binding) if binding is not None else None
        if value is None:
            raise Refusal(task, f"loop items input '{loop.items_input}' is not bound")
        return value

    def unroll_first(self, task: Task, component: Component, items: tuple[Value | None, ...]) -> bool:
        """Static loops a matrix would express worse: unrolling keeps exact KFP semantics for these."""
        loop = task.loop
        assert loop is not None
        collected = component.dag is not None and bool(component.dag.outputs)
        dollar = any(isinstance(item, Const) and "$" in json.dumps(item.value) for item in items)
        return bool(loop.parallelism) or collected or dollar or len(items) > MAX_MATRIX

    def check_array_source(self, task: Task, source: Value, item_type: ParamType | None) -> None:
        """A run-time list must reach Tekton as an array of strings."""
        if isinstance(source, PipelineParam):
            definition = self.params[source.name].definition
            if getattr(definition, "type", None) != ParamType.LIST:
                raise Refusal(task, f"ParallelFor over pipeline parameter '{source.name}', which is not a LIST")
            self.array_uses.setdefault(source.name, task)
            return
        if isinstance(source, Gathered) and isinstance(source.value, Output):
            return
        if isinstance(source, Output) and not source.artifact:
            if item_type != ParamType.STRING:
                kind = item_type.value if item_type else "artifacts"
                raise Refusal(task, f"ParallelFor over a task output whose items are {kind}",
                              "Tekton array results hold strings only")
            self.array_outputs.add((source.task, source.name))
            return
        raise Refusal(task, "ParallelFor over a value Tekton cannot read as an array",
                      "loop over static items, a LIST pipeline parameter, a task output list of strings or the "
                      "collected outputs of another loop")

    def matrix(self, scope: _Scope, task: Task, component: Component, after: frozenset[int], dim: Dim) -> _Done:
        loop = task.loop
        assert loop is not None
        inner = replace(scope, dims=scope.dims + (dim,))
        done = self.body(inner, task, component, after, {loop.item_input: Item(dim.id)}, (task.name, dim.id))
        outputs = {name: None if value is None else Gathered(value, dim.id) for name, value in done.outputs.items()}
        return _Done(outputs, done.completion, done.flat)

    def unroll(self, scope: _Scope, task: Task, component: Component, after: frozenset[int],
               items: tuple[Value | None, ...]) -> _Done:
        loop = task.loop
        assert loop is not None
        inner = replace(scope, unrolled=True)
        iterations: list[_Done] = []
        for index, item in enumerate(items):
            window = iterations[index - loop.parallelism].completion \
                if loop.parallelism and index >= loop.parallelism else frozenset()
            overrides = {} if item is None else {loop.item_input: item}
            iterations.append(self.body(inner, task, component, after | window, overrides, f"{task.name}[{index}]"))
        names = list(component.outputs.parameters) + list(component.outputs.artifacts)
        outputs: dict[str, Value | None] = {
            name: Listed(tuple(done.outputs.get(name) for done in iterations)) for name in names}
        completion = frozenset().union(*(done.completion for done in iterations)) if iterations else after
        return _Done(outputs, completion, tuple(i for done in iterations for i in done.flat))

    def new_dim(self, dim: Dim) -> Dim:
        self.dims.append(dim)
        return dim

    def snapshot(self) -> tuple[Any, ...]:
        return (len(self.tasks), len(self.dims), len(self.problems), len(self.workspaces), dict(self.array_uses),
                dict(self.value_uses), set(self.array_outputs))

    def restore(self, state: tuple[Any, ...]) -> None:
        tasks, dims, problems, workspaces, self.array_uses, self.value_uses, self.array_outputs = state
        del self.tasks[tasks:], self.dims[dims:], self.problems[problems:], self.workspaces[workspaces:]

    # -- executors --------------------------------------------------------------------------

    def container(self, scope: _Scope, task: Task, component: Component, path: tuple[Segment, ...],
                  params: dict[str, Value], artifacts: dict[str, Value], guards: tuple[Guard, ...],
                  after: frozenset[int], final: bool) -> _Done:
        platform = self.platform_values(scope, task, component)
        resources = self.resources(scope, task, component)
        inputs = {("param", name): value for name, value in params.items()}
        inputs.update({("artifact", name): value for name, value in artifacts.items()})
        dims = self.follow(scope, task, inputs, platform)
        for (_, name), value in inputs.items():
            self.check_input(scope, task, name, value, final)
        for value in platform.values():
            self.check_input(scope, task, "platform option", value, final)
        if any(dim.items is None for dim in dims):
            self.check_fields(task, [part for value in list(inputs.values()) + list(platform.values())
                                     for part in parts(value) if isinstance(part, Item) and part.fields])
        choices = [_alternatives(key, value, task) for key, value in inputs.items()
                   if isinstance(value, (OneOf, Status))]
        combinations = list(itertools.product(*choices)) or [()]
        ids: list[int] = []
        for combination in combinations:
            chosen = {**inputs, **{key: value for key, value, _, _ in combination}}
            flat = FlatTask(
                id=len(self.tasks), path=path, task=task, component=component,
                params={name: v for (kind, name), v in chosen.items() if kind == "param"},
                artifacts={name: v for (kind, name), v in chosen.items() if kind == "artifact"},
                after=after, guards=guards + tuple(g for _, _, extra, _ in combination for g in extra), dims=dims,
                final=final, platform=platform, variant="-".join(label for *_, label in combination),
                resources=resources)
            self.tasks.append(flat)
            ids.append(flat.id)
        outputs: dict[str, Value | None] = {}
        for name, is_artifact in [(n, False) for n in component.outputs.parameters] + \
                                 [(n, True) for n in component.outputs.artifacts]:
            options = tuple(Output(i, name, is_artifact) for i in ids)
            outputs[name] = options[0] if len(options) == 1 else OneOf(options)
        return _Done(outputs, frozenset(ids), tuple(ids))

    def resources(self, scope: _Scope, task: Task, component: Component) -> dict[str, Any]:
        """The container's resources; quantities read from inputs must be known now."""
        executor = component.executor
        assert isinstance(executor, ContainerExecutor)
        texts: dict[str, str] = {}
        for name in sorted(resource_inputs(executor)):
            binding = task.parameters.get(name)
            value = self.resolve(scope, task, binding) if binding is not None else None
            if not isinstance(value, Const):
                raise Refusal(task, f"container resources read input '{name}', known only at run time",
                              "Tekton takes literal quantities (a pipeline parameter with a value is fixed into the run)")
            texts[name] = encode_value(value.value, ParamType.STRING if isinstance(value.value, str) else ParamType.STRUCT)
        return container_resources(executor, fill=texts.__getitem__)

    def check_fields(self, task: Task, items: list[Item]) -> None:
        """Fields of static items are computed at compile time; a matrix over a run-time array cannot."""
        for item in items:
            dim = self.dims[item.dim]
            if dim.items is not None:
                raise NotMatrixable(dim, "an item field is read next to a loop over a run-time list")
            raise Refusal(task, f"reads field {'.'.join(item.fields)!r} of the item of a ParallelFor over a list "
                                "known only at run time", "Tekton has no expressions to take a field of a JSON value")

    def follow(self, scope: _Scope, task: Task, inputs: dict[tuple[str, str], Value],
               platform: dict[int, Value | None]) -> tuple[Dim, ...]:
        """A task of a run-time loop fed by one output of another task of the same loop (and nothing else
        that changes per iteration) fans out over that task's gathered results: Tekton keeps them in
        iteration order, so iteration i reads the output of iteration i. Rewrites the inputs in place."""
        if len(scope.dims) != 1 or scope.dims[0].items is not None:
            return scope.dims
        loop = scope.dims[0].loop
        varying = {value for value in list(inputs.values()) + list(platform.values())
                   if value is not None and loop in self.value_dims(value)}
        if len(varying) != 1:
            return scope.dims
        source = next(iter(varying))
        producer = self.tasks[source.task] if isinstance(source, Output) else None
        if producer is None or len(producer.dims) != 1 or producer.dims[0].loop != loop:
            return scope.dims
        item_type = None if source.artifact else output_type(producer, source.name)
        dim = self.new_dim(Dim(len(self.dims), task, source=Gathered(source, producer.dims[0].id),
                               item_type=item_type, follows=loop))
        for key, value in inputs.items():
            if value == source:
                inputs[key] = Item(dim.id)
        for key, value in platform.items():
            if value == source:
                platform[key] = Item(dim.id)
        return (dim,)

    def check_input(self, scope: _Scope, task: Task, name: str, value: Value | None, final: bool) -> None:
        """What a flat task can receive: one value per execution, as text the launcher can read."""
        if value is None:
            return
        if not isinstance(value, Reference) and _holds_reference(value):
            raise Refusal(task, f"input '{name}' collects or selects an importer reference built at run time",
                          "Tekton cannot build that list; pass the importer's output to a task directly")
        if isinstance(value, OneOf):
            for option in value.options:
                if not isinstance(option, Output):
                    raise Refusal(task, f"input '{name}' is a dsl.OneOf over a value that needs no task")
                self.check_input(scope, task, name, option, final)
            return
        self.require_invariant(scope, value, f"input '{name}' is produced in the same iteration",
                               allow_items=True)
        if isinstance(value, Gathered) and not isinstance(value.value, Output):
            raise Refusal(task, f"input '{name}' collects the outputs of nested ParallelFor loops over lists known "
                                "only at run time", "Tekton gathers a matrix into one flat array")
        if isinstance(value, Listed) and not (self.json_list(value) or flat_list(value)):
            raise Refusal(task, f"input '{name}' collects STRING outputs of nested ParallelFor loops",
                          "Tekton cannot quote run-time strings into a JSON list")
        if isinstance(value, Listed) and not _inert_constants(value):
            raise Refusal(task, f"input '{name}' lists constants containing '$(' or '$$' next to task outputs",
                          "Tekton and Kubernetes would substitute them")
        if isinstance(value, Claim) and name != "platform option":
            raise Refusal(task, f"input '{name}' is the name of a PVC created by CreatePVC",
                          "Tekton creates the claim for the run and names it itself")
        if isinstance(value, Status) and not final:
            raise Refusal(task, f"input '{name}' is a task final status outside an exit handler")
        for part in parts(value):
            self.note_value_use(task, part)

    def json_list(self, value: Value | None) -> bool:
        return json_list(value, self.tasks)

    def note_value_use(self, task: Task, value: Value | None) -> None:
        if isinstance(value, PipelineParam):
            self.value_uses.setdefault(value.name, task)

    def platform_values(self, scope: _Scope, task: Task, component: Component) -> dict[int, Value | None]:
        options = component.platform
        if options is None:
            return {}
        if options.pod_resource_claims:
            raise Refusal(task, "pod resource claims (dynamic resource allocation)",
                          "Tekton's pod template has no resource claims")
        json_refs = _json_refs(options)
        values: dict[int, Value | None] = {}
        for path, ref in options.param_refs():
            if ref.task_output is not None:
                binding = Binding(TaskOutput(ref.task_output.producer_task, ref.task_output.output_key))
            elif ref.component_input is not None:
                binding = Binding(ParentInput(ref.component_input))
            else:
                binding = Binding(Constant(ref.constant))
            value = values[id(ref)] = self.resolve(scope, task, binding)
            if id(ref) in json_refs and value is not None and not isinstance(value, Const):
                raise Refusal(task, f"platform option {path} is JSON known only at run time",
                              "Tekton cannot parse JSON at run time; use a constant")
        return values

    def pvc(self, scope: _Scope, task: Task, component: Component, executor: PvcExecutor,
            params: dict[str, Value], after: frozenset[int]) -> _Done:
        if executor.action == "delete":
            return _Done({}, after, ())
        if scope.in_loop:
            raise Refusal(task, "CreatePVC inside a ParallelFor", "a Tekton run binds its workspaces once")
        claim = claim_template(task, component, params)
        taken = {workspace.name for workspace in self.workspaces}
        name = dns_label(task.name)
        while name in taken:
            name = dns_label(f"{name}-{len(taken)}")
        self.workspaces.append(Workspace(name, claim))
        return _Done({"name": Claim(name)}, after, ())

    # -- outputs and checks -----------------------------------------------------------------

    def dag_output(self, scope: _Scope, output: DagOutput) -> Value | None:
        options: list[Value] = []
        for selector in output.selectors:
            done = scope.done.get(selector.task)
            value = done.outputs.get(selector.output) if done is not None else None
            if value is not None:
                options += value.options if isinstance(value, OneOf) else [value]
        if not options:
            return None
        return options[0] if len(options) == 1 else OneOf(tuple(options))

    def pipeline_outputs(self, scope: _Scope) -> dict[str, Value]:
        dag = self.plan.root.dag
        assert dag is not None
        outputs: dict[str, Value] = {}
        for name, output in dag.outputs.items():
            value = self.dag_output(scope, output)
            if value is None:
                continue
            if not _is_result(value) or (isinstance(value, Listed) and not (self.json_list(value) or flat_list(value))):
                self.problems.append(Refusal(None, f"pipeline output '{name}' is not a task result",
                                             "Tekton pipeline results can only read task results").error())
                continue
            outputs[name] = value
        return outputs

    def require_invariant(self, scope: _Scope, value: Value | None, reason: str, allow_items: bool = False) -> None:
        """Raise NotMatrixable when ``value`` changes between iterations of an active matrix loop."""
        active = {dim.loop: dim for dim in scope.dims}
        for dim_id in sorted(self.value_dims(value, allow_items) & set(active)):
            raise NotMatrixable(active[dim_id], reason)

    def value_dims(self, value: Value | None, allow_items: bool = False) -> set[int]:
        """The loops ``value`` changes with."""
        if isinstance(value, Item):
            return set() if allow_items else {self.dims[value.dim].loop}
        if isinstance(value, Output):
            return {dim.loop for dim in self.tasks[value.task].dims}
        if isinstance(value, Status):
            return {dim.loop for i in value.tasks for dim in self.tasks[i].dims}
        if isinstance(value, Gathered):
            return self.value_dims(value.value) - {self.dims[value.dim].loop}
        if isinstance(value, (Listed, OneOf)):
            items = value.items if isinstance(value, Listed) else value.options
            return set().union(*(self.value_dims(item, allow_items) for item in items)) if items else set()
        return set()


def _holds_reference(value: Value | None) -> bool:
    if isinstance(value, Reference):
        return True
    if isinstance(value, Gathered):
        return _holds_reference(value.value)
    if isinstance(value, Listed):
        return any(_holds_reference(item) for item in value.items)
    if isinstance(value, OneOf):
        return any(_holds_reference(option) for option in value.options)
    return False


def _alternatives(key: Any, value: Value, task: Task) -> list[tuple[Any, Value, tuple[Guard, ...], str]]:
    """The copies a task needs for one input, as (input, value, guards, label): a ``OneOf`` per branch
    (Tekton skips the copies whose branch did not run), a final status per outcome (KFP's struct says
    COMPLETE or FAILED; Tekton's status variable says Succeeded, Completed, Failed or None)."""
    if isinstance(value, OneOf):
        return [(key, option, (), f"alt{number}") for number, option in enumerate(value.options, start=1)]
    assert isinstance(value, Status)
    name = getattr(task.parameters[key[1]].source, "task", "")
    success = ("Succeeded", "Completed")
    return [(key, FinalState(value, name, True), (WhenIn(value, success),), "complete"),
            (key, FinalState(value, name, False), (WhenIn(value, success, negate=True),), "failed")]


def _json_refs(options: ExecutorPlatform) -> set[int]:
    """Options whose value is a whole JSON object (a node selector, toleration or affinity term)."""
    refs_found = [options.node_selector.node_selector_json if options.node_selector else None]
    refs_found += [toleration.toleration_json for toleration in options.tolerations]
    refs_found += [term.node_affinity_json for term in options.node_affinity]
    return {id(ref) for ref in refs_found if ref is not None}


def _static_items(task: Task, source: Value) -> tuple[Value | None, ...] | None:
    if isinstance(source, Const):
        if not isinstance(source.value, list):
            raise Refusal(task, "ParallelFor items are not a list")
        return tuple(Const(item) for item in source.value)
    if isinstance(source, Listed):
        return source.items
    return None


def _inert_constants(value: Listed) -> bool:
    """Constants listed next to task outputs travel in a task parameter, where nothing can escape them."""
    items = parts(value)
    constants = [json.dumps(p.value) if isinstance(p, Const) else p.text for p in items if isinstance(p, (Const, Text))]
    return len(constants) == len(items) or all(_step_inert(text) for text in constants)


def _step_inert(text: str) -> bool:
    return "$(" not in text and "$$" not in text


def _is_result(value: Value | None) -> bool:
    """Task results only (arrays, nested lists, alternatives of them): what a pipeline result can read."""
    if isinstance(value, OneOf):
        return all(_is_result(option) for option in value.options)
    if isinstance(value, Gathered):
        return isinstance(value.value, Output)
    if isinstance(value, Listed):
        return all(isinstance(item, (Output, Listed)) and _is_result(item) for item in value.items)
    return isinstance(value, Output)
