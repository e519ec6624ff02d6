"""Plan -> Argo ``Workflow``: one pod per executed container task, no driver pods.

Control flow becomes Argo's own DAG features: ``depends``, ``when``, ``withItems``/``withParam``,
template ``parallelism``. Templates are shared per component (a variant only where tasks bind a
different set of inputs or need a different retry/cache setting, which Argo keeps on the template).
Artifacts travel as references (JSON with the URI) in ordinary parameters, so importers and data
plumbing need no pod.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from driver.errors import KfpDriverError, UnsupportedFeature, raise_if_any
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
    Retry,
    Task,
    TaskOutput,
    Trigger,
)
from driver.plan.taskspec import task_spec
from driver.plan.values import encode_value
from launcher.wire import ABSENT, escape_tree
from translators.argo import exprs
from translators.argo.container import ContainerTemplates
from translators.argo.metrics import add_metrics
from translators.kubernetes import resource_inputs
from translators.naming import NameTable, dns_label
from translators.options import CompileOptions

PIPELINE_ROOT_PARAM = "kfp-pipeline-root"
TASK_PATH_PARAM = "kfp-task"
LOOP_ITEMS_PARAM = "kfp-loop-items"
ANNOTATION_PREFIX = "kfp-driver.io"
COMPLETED_STATES = ("Succeeded", "Skipped", "Failed", "Errored", "Omitted")


def compile_workflow(plan: Plan, options: CompileOptions) -> dict[str, Any]:
    """The ``Workflow`` (or ``WorkflowTemplate``) for ``plan`` as plain dicts."""
    return _WorkflowBuilder(plan, options).build()


@dataclass(frozen=True)
class _Variant:
    """What makes two uses of a component need different templates."""

    component: str
    parameters: frozenset[str]
    artifacts: frozenset[str]
    retry: Retry | None = None
    cache: bool = False


@dataclass
class _Value:
    """A resolved input inside a DAG template: a string with Argo tags, or absent."""

    text: str
    upstream: tuple[str, ...] = ()
    """Real DAG tasks the value depends on (importers are inlined, so their upstreams count)."""


@dataclass
class _Scope:
    """A DAG template being built: its component and which of its inputs are bound."""

    component: Component
    bound: frozenset[str]
    virtual: dict[str, dict[str, _Value]] = field(default_factory=dict)
    """Outputs of importer tasks in this DAG, inlined into their consumers."""


class _WorkflowBuilder:
    def __init__(self, plan: Plan, options: CompileOptions) -> None:
        self.plan = plan
        self.options = options
        self.names = NameTable()
        self.templates: list[dict[str, Any]] = []
        self.variants: dict[_Variant, str] = {}
        self.content_keys: dict[str, str] = {}
        self.problems: list[KfpDriverError] = []
        self.containers = ContainerTemplates(plan, options, self.problem)

    def problem(self, task: Task | None, feature: str, hint: str = "") -> None:
        where = f"task '{task.name}' ({task.ir_path})" if task else "pipeline"
        self.problems.append(UnsupportedFeature(f"{where}: {feature}", hint=hint))

    # -- the workflow -----------------------------------------------------------------------

    def build(self) -> dict[str, Any]:
        root = self.plan.root
        bound = frozenset(name for name, param in root.inputs.parameters.items()
                          if param.has_default or param.required or name in self.options.parameters) \
            | frozenset(root.inputs.artifacts)
        entry = self.dag_template(root, bound, wish=self.plan.name or "pipeline")
        raise_if_any(self.problems)
        kind = "WorkflowTemplate" if self.options.workflow_template else "Workflow"
        name_key = "name" if self.options.workflow_template else "generateName"
        metadata: dict[str, Any] = {
            name_key: dns_label(self.plan.name or "pipeline", 57) + ("" if self.options.workflow_template else "-"),
            "annotations": self.pipeline_annotations(),
            "labels": {f"{ANNOTATION_PREFIX}/pipeline": dns_label(self.plan.name or "pipeline")},
        }
        if self.options.namespace:
            metadata["namespace"] = self.options.namespace
        spec: dict[str, Any] = {"entrypoint": entry, "arguments": {"parameters": self.workflow_arguments(bound)}}
        if self.options.service_account:
            spec["serviceAccountName"] = self.options.service_account
        spec.update(self.containers.workflow_fields())
        spec["templates"] = self.templates
        if self.options.metrics:
            add_metrics(spec, metadata["labels"][f"{ANNOTATION_PREFIX}/pipeline"], TASK_PATH_PARAM,
                        f"{ANNOTATION_PREFIX}/component")
        return {"apiVersion": "argoproj.io/v1alpha1", "kind": kind, "metadata": metadata, "spec": spec}

    def pipeline_annotations(self) -> dict[str, str]:
        annotations = {f"{ANNOTATION_PREFIX}/pipeline-name": self.plan.name}
        if self.plan.display_name:
            annotations[f"{ANNOTATION_PREFIX}/display-name"] = self.plan.display_name
        if self.plan.sdk_version:
            annotations[f"{ANNOTATION_PREFIX}/sdk-version"] = self.plan.sdk_version
        return annotations

    def workflow_arguments(self, bound: frozenset[str]) -> list[dict[str, Any]]:
        root = self.plan.root
        arguments = [{"name": PIPELINE_ROOT_PARAM, "value": self.options.root_for(self.plan.pipeline_root)}]
        for name, param in root.inputs.parameters.items():
            if name not in bound:
                continue
            entry: dict[str, Any] = {"name": name}
            if name in self.options.parameters:
                entry["value"] = exprs.argument_value(self.options.parameters[name], param.type)
            elif param.has_default:
                entry["value"] = exprs.argument_value(param.default, param.type)
            if param.description:
                entry["description"] = param.description
            arguments.append(entry)
        for name in root.inputs.artifacts:
            entry = {"name": name, "description": "artifact reference: a URI or {\"uri\": ...} JSON"}
            if name in self.options.parameters:
                reference = self.options.parameters[name]
                kind = ParamType.STRING if isinstance(reference, str) else ParamType.STRUCT
                entry["value"] = exprs.argument_value(reference, kind)
            arguments.append(entry)
        return arguments

    # -- DAG templates ----------------------------------------------------------------------

    def dag_template(self, component: Component, bound: frozenset[str], wish: str | None = None) -> str:
        variant = _Variant(component.name, bound, frozenset())
        if variant in self.variants:
            return self.variants[variant]
        name = self.names.claim(wish or _template_wish(component.name))
        self.variants[variant] = name
        scope = _Scope(component, bound)
        assert component.dag is not None
        tasks: list[dict[str, Any]] = []
        task_names: dict[str, str] = {}
        dag_names = NameTable()
        for task_name in component.dag.order():
            task_names[task_name] = dag_names.claim(task_name)
        for task_name in component.dag.order():
            task = component.dag.tasks[task_name]
            rendered = self.dag_task(scope, task, task_names)
            if rendered is not None:
                tasks.append(rendered)
        template: dict[str, Any] = {"name": name, "metadata": {"annotations": {
            f"{ANNOTATION_PREFIX}/component": component.name}}}
        inputs = [{"name": input_name} for input_name in sorted(bound)]
        if component is not self.plan.root:
            inputs.insert(0, {"name": TASK_PATH_PARAM})
        if inputs:
            template["inputs"] = {"parameters": inputs}
        outputs = self.dag_outputs(scope, component.dag.outputs, task_names)
        if outputs:
            template["outputs"] = {"parameters": outputs}
        template["dag"] = _dag(tasks, any(t.trigger == Trigger.ALL_COMPLETED for t in component.dag.tasks.values()))
        self.templates.append(template)
        return name

    def dag_outputs(self, scope: _Scope, outputs: dict[str, DagOutput], task_names: dict[str, str]) -> list[dict]:
        rendered = []
        for name, output in sorted(outputs.items()):
            if not output.oneof:
                selector = output.selectors[0]
                virtual = scope.virtual.get(selector.task, {}).get(selector.output)
                assert scope.component.dag is not None
                producer = scope.component.dag.tasks[selector.task]
                if virtual is None and producer.loop is not None:  # Collected: typed again, [] for no items
                    item_type, depth = self.collected_items(producer, selector.output)
                    task = task_names[selector.task]
                    collected = exprs.typed_list(exprs.var_task_output(task, selector.output), item_type, depth)
                    code = exprs.if_status(task, "Skipped", exprs.literal("[]"), collected)
                    rendered.append({"name": name, "valueFrom": {"expression": code}})
                    continue
                text = virtual.text if virtual is not None else \
                    exprs.task_output(task_names[selector.task], selector.output)
                rendered.append({"name": name, "valueFrom": {"parameter": text}})
                continue
            expression = '""'
            for selector in reversed(output.selectors):
                task = task_names[selector.task]
                value = exprs.var_task_output(task, selector.output)
                expression = f"{exprs.var_task_status(task)} == \"Succeeded\" ? {value} : ({expression})"
            rendered.append({"name": name, "valueFrom": {"expression": expression}})
        return rendered

    def dag_task(self, scope: _Scope, task: Task, task_names: dict[str, str]) -> dict[str, Any] | None:
        component = self.plan.component_of(task)
        values, artifacts = self.resolve_inputs(scope, task, component, task_names)
        if isinstance(component.executor, ImporterExecutor):
            scope.virtual[task.name] = self.importer_outputs(task, component, values)
            return None
        if task.loop is not None:
            item_value = _Value(exprs.ITEM)
            if task.loop.kind == LoopKind.ARTIFACT:
                artifacts[task.loop.item_input] = item_value
            else:
                values[task.loop.item_input] = item_value
        template = self.template_for(task, component, values, artifacts)
        arguments = [{"name": TASK_PATH_PARAM, "value": _task_path_value(scope, task)}] \
            if _runs_launcher(component) or component.dag is not None else []
        for name, value in sorted({**values, **artifacts}.items()):
            arguments.append({"name": name, "value": value.text})
        arguments.extend(self.containers.platform_arguments(
            template, lambda binding: self.resolve(scope, task, binding, task_names)))
        rendered: dict[str, Any] = {"name": task_names[task.name], "template": template}
        if arguments:
            rendered["arguments"] = {"parameters": arguments}
        upstream = set(task.after)
        for value in list(values.values()) + list(artifacts.values()):
            upstream.update(value.upstream)
        depends = self.depends(scope, task, upstream, task_names)
        if depends:
            rendered["depends"] = depends
        if task.condition is not None:
            rendered["when"] = self.condition(scope, task, component, task_names)
        if task.loop is not None:
            self.loop(scope, task, rendered, task_names)
        return rendered

    def template_for(self, task: Task, component: Component, values: dict[str, _Value],
                     artifacts: dict[str, _Value]) -> str:
        bound = frozenset(values) | frozenset(artifacts)
        if component.dag is not None:
            return self.dag_template(component, bound)
        if isinstance(component.executor, PvcExecutor):
            return self.pvc_template(component, frozenset(values))
        variant = _Variant(self.content_key(component), frozenset(values), frozenset(artifacts), task.retry, task.cache)
        if variant not in self.variants:
            name = self.names.claim(_template_wish(component.name))
            self.variants[variant] = name
            self.templates.append(self.containers.template(name, component, variant.parameters, variant.artifacts,
                                                           task.retry, task.cache))
        return self.variants[variant]

    def content_key(self, component: Component) -> str:
        """Components the SDK duplicated under new names (``comp-x-2``) share one template."""
        key = self.content_keys.get(component.name)
        if key is None:
            spec = json.dumps([task_spec(component), repr(component.platform), repr(component.executor.resources)],
                              sort_keys=True, default=str)
            key = self.content_keys[component.name] = hashlib.sha256(spec.encode()).hexdigest()
        return key

    def pvc_template(self, component: Component, bound: frozenset[str]) -> str:
        variant = _Variant(component.name, bound, frozenset())
        if variant not in self.variants:
            name = self.names.claim(_template_wish(component.name))
            self.variants[variant] = name
            assert isinstance(component.executor, PvcExecutor)
            self.templates.append(self.containers.pvc_template(name, component, bound))
        return self.variants[variant]

    # -- inputs -----------------------------------------------------------------------------

    def resolve_inputs(self, scope: _Scope, task: Task, component: Component,
                       task_names: dict[str, str]) -> tuple[dict[str, _Value], dict[str, _Value]]:
        values: dict[str, _Value] = {}
        resource_only = resource_inputs(component.executor) if isinstance(component.executor, ContainerExecutor) \
            else set()
        for name, binding in task.parameters.items():
            declared = component.inputs.parameters.get(name)
            if declared is None and name not in resource_only:  # the SDK passes resource values undeclared
                continue
            value = self.resolve(scope, task, binding, task_names, declared.type if declared else ParamType.STRING)
            if value is not None:
                values[name] = value
        artifacts: dict[str, _Value] = {}
        for name, binding in task.artifacts.items():
            value = self.resolve(scope, task, binding, task_names)
            if value is not None:
                artifacts[name] = value
        return values, artifacts

    def resolve(self, scope: _Scope, task: Task, binding: Binding, task_names: dict[str, str],
                kind: ParamType = ParamType.STRING) -> _Value | None:
        """The Argo value of ``binding`` inside ``scope``; None when it is absent (unbound optional input)."""
        source = binding.source
        if isinstance(source, Constant):
            value = source.value
            for key in binding.fields:
                value = value.get(key) if isinstance(value, dict) else None
            return _Value(exprs.argument_value(value, kind))
        if isinstance(source, FinalStatus):
            return _Value(exprs.final_status(task_names[source.task], source.task), (source.task,))
        if isinstance(source, ParentInput):
            if source.name not in scope.bound:
                declared = scope.component.inputs.parameters.get(source.name)
                if declared is not None and declared.has_default:
                    return self.resolve(scope, task, Binding(Constant(declared.default), binding.fields), task_names, kind)
                return None
            if binding.fields:
                return _Value(exprs.expression(exprs.json_field(exprs.var_input(source.name), binding.fields,
                                                                as_json=kind != ParamType.STRING)))
            return _Value(exprs.input_param(source.name))
        assert isinstance(source, TaskOutput)
        virtual = scope.virtual.get(source.task)
        if virtual is not None:
            return virtual[source.output]
        producer = task_names[source.task]
        if binding.fields:
            code = exprs.json_field(exprs.var_task_output(producer, source.output), binding.fields,
                                    as_json=kind != ParamType.STRING)
            return _Value(exprs.expression(code), (source.task,))
        if task.trigger == Trigger.ALL_COMPLETED:  # the producer may have failed: then the input is absent
            code = exprs.if_status(producer, "Succeeded",
                                   exprs.var_task_output(producer, source.output, guarded=True), exprs.literal(ABSENT))
            return _Value(exprs.expression(code), (source.task,))
        assert scope.component.dag is not None
        producer_task = scope.component.dag.tasks[source.task]
        if producer_task.loop is not None:  # Collected
            item_type, depth = self.collected_items(producer_task, source.output)
            collected = exprs.typed_list(exprs.var_task_output(producer, source.output), item_type, depth)
            code = exprs.if_status(producer, "Skipped", exprs.literal("[]"), collected)  # no items: []
            return _Value(exprs.expression(code), (source.task,))
        return _Value(exprs.task_output(producer, source.output), (source.task,))

    def collected_items(self, loop_task: Task, output: str) -> tuple[ParamType, int]:
        """Type of the values a loop's output collects, and how many loops deep they sit."""
        depth, task = 0, loop_task
        while True:
            depth += 1 if task.loop is not None else 0
            component = self.plan.component_of(task)
            if component.dag is None or output not in component.dag.outputs:
                declared = component.outputs.parameters.get(output)
                return (declared.type if declared else ParamType.STRING), depth
            selector = component.dag.outputs[output].selectors[0]
            task, output = component.dag.tasks[selector.task], selector.output

    def importer_outputs(self, task: Task, component: Component, values: dict[str, _Value]) -> dict[str, _Value]:
        """An importer needs no pod: its output reference is built where it is consumed."""
        executor = component.executor
        assert isinstance(executor, ImporterExecutor)
        output = next(iter(component.outputs.artifacts), "artifact")
        upstream = tuple(name for value in values.values() for name in value.upstream)
        metadata = executor.metadata
        uri_source = executor.uri.source
        if isinstance(uri_source, Constant) and not _has_placeholder(metadata):
            reference = {"uri": uri_source.value, "metadata": metadata,
                         "type": {"schemaTitle": executor.schema_title, "schemaVersion": executor.schema_version}}
            return {output: _Value(exprs.argument_value(reference, ParamType.STRUCT), upstream)}
        uri_value = values.get(getattr(uri_source, "name", "uri"))
        if uri_value is None:
            self.problem(task, "importer URI parameter is not bound")
            return {output: _Value("")}
        code = "toJson({" + f'"uri": {_as_code(uri_value.text)}, "metadata": {_metadata_code(metadata, values)}' + "})"
        return {output: _Value(exprs.expression(code), upstream)}

    # -- control flow -----------------------------------------------------------------------

    def depends(self, scope: _Scope, task: Task, upstream: set[str], task_names: dict[str, str]) -> str:
        real: set[str] = set()
        pending = list(upstream)
        while pending:
            name = pending.pop()
            if name in scope.virtual:
                pending.extend(scope.component.dag.tasks[name].after)  # type: ignore[union-attr]
            elif name in task_names:
                real.add(task_names[name])
        terms = []
        for name in sorted(real):
            if task.trigger == Trigger.ALL_COMPLETED:
                terms.append("(" + " || ".join(f"{name}.{state}" for state in COMPLETED_STATES) + ")")
            else:
                terms.append(name)
        return " && ".join(terms)

    def condition(self, scope: _Scope, task: Task, component: Component, task_names: dict[str, str]) -> str:
        assert task.condition is not None
        types = {name: param.type for name, param in component.inputs.parameters.items()}

        def variable(name: str) -> str:
            binding = task.parameters[name]
            source = binding.source
            if isinstance(source, Constant) and not binding.fields:
                return exprs.literal(encode_value(source.value, types.get(name, ParamType.STRING)))
            value = self.resolve(scope, task, binding, task_names, types.get(name, ParamType.STRING))
            if value is None:
                return exprs.literal("")
            return _as_code(value.text)

        return exprs.ConditionRenderer(variable, types).render(task.condition.expr)

    def loop(self, scope: _Scope, task: Task, rendered: dict[str, Any], task_names: dict[str, str]) -> None:
        loop = task.loop
        assert loop is not None
        if loop.kind == LoopKind.RAW:
            rendered["withItems"] = escape_tree(loop.items or [])
        else:
            binding = task.artifacts.get(loop.items_input) if loop.kind == LoopKind.ARTIFACT \
                else task.parameters.get(loop.items_input)
            value = self.resolve(scope, task, binding, task_names, ParamType.LIST) if binding else None
            if value is None:
                self.problem(task, f"loop items input '{loop.items_input}' is not bound")
                return
            rendered["withParam"] = value.text
        if loop.parallelism:
            self.limit_parallelism(rendered, loop.parallelism)

    def limit_parallelism(self, rendered: dict[str, Any], parallelism: int) -> None:
        """Argo limits parallelism per template: the loop moves into a wrapper DAG with ``parallelism``.

        The wrapper takes the loop task's arguments (and the item list) as inputs and re-exports the
        body's outputs, which Argo aggregates over the iterations, so consumers see the same values.
        """
        body_name = rendered["template"]
        arguments = rendered.get("arguments", {}).get("parameters", [])
        outer = [argument for argument in arguments if argument["value"] != exprs.ITEM]
        inner: dict[str, Any] = {"name": rendered["name"], "template": body_name, "arguments": {"parameters": [
            argument if argument["value"] == exprs.ITEM else {"name": argument["name"],
                                                              "value": exprs.input_param(argument["name"])}
            for argument in arguments]}}
        if "withItems" in rendered:
            inner["withItems"] = rendered.pop("withItems")
        else:
            outer.append({"name": LOOP_ITEMS_PARAM, "value": rendered.pop("withParam")})
            inner["withParam"] = exprs.input_param(LOOP_ITEMS_PARAM)
        body = next(template for template in self.templates if template["name"] == body_name)
        wrapper: dict[str, Any] = {
            "name": self.names.claim(f"{body_name}-par{parallelism}"),
            "metadata": {"annotations": {f"{ANNOTATION_PREFIX}/loop-parallelism": str(parallelism)}},
            "parallelism": parallelism,
            "inputs": {"parameters": [{"name": argument["name"]} for argument in outer]},
            "dag": {"tasks": [inner]},
        }
        outputs = [{"name": p["name"], "valueFrom": {"parameter": exprs.task_output(inner["name"], p["name"]),
                                                     "default": "[]"}}  # a loop over no items outputs []
                   for p in body.get("outputs", {}).get("parameters", [])]
        if outputs:
            wrapper["outputs"] = {"parameters": outputs}
        self.templates.append(wrapper)
        rendered["template"] = wrapper["name"]
        rendered["arguments"] = {"parameters": outer}


# ---------------------------------------------------------------------------------------------
# values (text encoding lives in driver.plan.values)


def _as_code(text: str) -> str:
    """An argument value (tag, expression or literal) as an expression fragment."""
    if text.startswith("{{=") and text.endswith("}}"):
        return "(" + text[3:-2] + ")"
    if text.startswith("{{") and text.endswith("}}") and text.count("{{") == 1:
        return _tag_to_variable(text[2:-2])
    return exprs.literal(text)


def _tag_to_variable(path: str) -> str:
    parts = path.split(".")
    if parts[0] == "inputs" and parts[1] == "parameters":
        return exprs.var_input(".".join(parts[2:]))
    if parts[0] == "tasks" and parts[2] == "outputs":
        return exprs.var_task_output(parts[1], ".".join(parts[4:]))
    if parts[0] == "tasks" and parts[2] == "status":
        return exprs.var_task_status(parts[1])
    if parts[0] == "workflow" and parts[1] == "parameters":
        return exprs.var_workflow_param(".".join(parts[2:]))
    return parts[0] if path == "item" else path


def _has_placeholder(metadata: Any) -> bool:
    return "{{$" in json.dumps(metadata)


def _metadata_code(metadata: Any, values: dict[str, _Value]) -> str:
    """Importer metadata as an expression; ``{{$.inputs.parameters['x']}}`` reads the importer's input."""
    from driver.plan.placeholders import parse_string

    if isinstance(metadata, dict):
        return "{" + ", ".join(f"{_metadata_code(k, values)}: {_metadata_code(v, values)}"
                               for k, v in metadata.items()) + "}"
    if isinstance(metadata, list):
        return "[" + ", ".join(_metadata_code(item, values) for item in metadata) + "]"
    if isinstance(metadata, str) and "{{$" in metadata:
        parts = []
        for piece in parse_string(metadata):
            if isinstance(piece, str):
                parts.append(exprs.literal(piece))
            elif piece.get("ph") == "inputValue" and piece["name"] in values:
                parts.append(exprs.unescaped(_as_code(values[piece["name"]].text)))
            else:
                parts.append(exprs.literal(""))
        return exprs.escaped(" + ".join(parts))
    return exprs.literal(escape_tree(metadata))


def _dag(tasks: list[dict[str, Any]], has_exit_tasks: bool) -> dict[str, Any]:
    """A DAG template body. Argo judges a DAG by its leaves only, and an exit handler (or an
    ignore_upstream_failure task) is a leaf that succeeds after the body failed: such a DAG makes every
    task a target, so any failure fails it as KFP says, and waits for all of them (no fail-fast)."""
    dag: dict[str, Any] = {"tasks": tasks}
    if has_exit_tasks:
        dag["target"] = " ".join(task["name"] for task in tasks)
        dag["failFast"] = False
    return dag


def _runs_launcher(component: Component) -> bool:
    return isinstance(component.executor, ContainerExecutor)


def _task_path_value(scope: _Scope, task: Task) -> str:
    """Task paths are per use of a DAG template, so a sub-DAG passes its own path down."""
    if scope.component.name == "root":
        return task.name
    return f"{{{{inputs.parameters.{TASK_PATH_PARAM}}}}}/{task.name}"


def _template_wish(component_name: str) -> str:
    return component_name[5:] if component_name.startswith("comp-") else component_name
