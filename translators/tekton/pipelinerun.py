"""Plan -> Tekton ``PipelineRun`` (``tekton.dev/v1``) with an embedded pipeline, or a ``Pipeline`` plus a
``PipelineRun`` referencing it (``CompileOptions.separate_pipeline``, returned as a ``v1/List``).

Only stock Tekton runs it: one pod per executed container task (the launcher, as in the Argo target),
control flow in Tekton's own fields (``runAfter``, results, ``when``, ``matrix``, ``finally``), no custom
task controller. ``translators.tekton.lower`` decides the shape; this module writes it out.

Result sizes. Tekton carries results in the pod's termination message by default: about 4 KiB for all
results of a task, less Tekton's own entries. The target keeps results small by construction: only
outputs another task (or the pipeline) reads become results, and artifacts travel as references (a URI and
metadata), never as content. Parameter values are passed by value, since conditions compare them; a
pipeline whose parameter outputs can exceed the budget needs the cluster's ``results-from: sidecar-logs``
mode (beta), whose ``max-result-size`` (default 4 KiB per result) can be raised up to 1.5 MB. A value
over the limit fails its task with Tekton's own message; it is never truncated silently.

Timeouts. Tekton's default run timeout (60 minutes) does not exist in KFP, so a run has no timeout
(``timeouts.pipeline: 0s``) unless ``pipelineConfig.activeDeadlineSeconds`` sets one; a task's
``activeDeadlineSeconds`` is its ``timeout``. Retries are ``retries``; Tekton retries at once, so the
IR's backoff is not applied.
"""

from __future__ import annotations

from typing import Any

import networkx as nx

from driver.errors import KfpDriverError, UnsupportedFeature, raise_if_any
from driver.plan.model import ArtifactDef, ParamType, Plan
from driver.plan.values import encode_value
from launcher.wire import escape_tree
from translators.naming import dns_label
from translators.options import CompileOptions
from translators.tekton.conditions import WhenCel
from translators.tekton.context import PIPELINE_ROOT, Context
from translators.tekton.flat import FlatPipeline, FlatTask, json_list
from translators.tekton.lower import flatten
from translators.tekton.names import Names, result_name
from translators.tekton.platform import pipeline_workspace
from translators.tekton.taskspec import ANNOTATION_PREFIX, PipelineTaskRenderer
from translators.tekton.values import Gathered, Listed, OneOf, Output, Status, parts

FIXED_PARAMETERS_ANNOTATION = f"{ANNOTATION_PREFIX}/fixed-parameters"

API_VERSION = "tekton.dev/v1"
CEL_FLAG = "enable-cel-in-whenexpression=true"


def compile_pipeline_run(plan: Plan, options: CompileOptions) -> dict[str, Any]:
    """The ``PipelineRun`` (or ``List`` of ``Pipeline`` and ``PipelineRun``) for ``plan`` as plain dicts."""
    _check_pipeline_config(plan)
    flat, fixed = _flatten_run(plan, options)
    context = Context(plan, options, flat)
    run_after = _run_after(flat, context)
    tasks: list[dict[str, Any]] = []
    final: list[dict[str, Any]] = []
    run_specs: list[dict[str, Any]] = []
    for task in flat.tasks:
        pipeline_task, run_spec = PipelineTaskRenderer(context, task, run_after.get(task.id, [])).render()
        (final if task.final else tasks).append(pipeline_task)
        if run_spec is not None:
            run_specs.append(run_spec)
    workspaces = _workspaces(plan, flat)
    pipeline_spec: dict[str, Any] = {}
    if plan.display_name:
        pipeline_spec["displayName"] = plan.display_name
    if plan.description:
        pipeline_spec["description"] = plan.description
    pipeline_spec["params"] = _params(plan, options, flat, context)
    if workspaces:
        pipeline_spec["workspaces"] = [{"name": binding["name"]} for binding in workspaces]
    pipeline_spec["tasks"] = tasks
    if final:
        pipeline_spec["finally"] = final
    results = _results(flat, context)
    if results:
        pipeline_spec["results"] = results
    run: dict[str, Any] = {}
    if options.service_account:
        run["taskRunTemplate"] = {"serviceAccountName": options.service_account}
    deadline = plan.pipeline_config.active_deadline_seconds if plan.pipeline_config else None
    run["timeouts"] = {"pipeline": f"{deadline or 0}s"}
    given = _run_params(options, flat, context)
    if given:
        run["params"] = given
    if workspaces:
        run["workspaces"] = workspaces
    if run_specs:
        run["taskRunSpecs"] = run_specs
    metadata = _metadata(plan, options, flat)
    if fixed:
        metadata["annotations"][FIXED_PARAMETERS_ANNOTATION] = ",".join(sorted(fixed))
    if not options.separate_pipeline:
        return {"apiVersion": API_VERSION, "kind": "PipelineRun", "metadata": metadata,
                "spec": {"pipelineSpec": pipeline_spec, **run}}
    name = dns_label(plan.name or "pipeline")
    pipeline_metadata = {"name": name, **{k: v for k, v in metadata.items() if k != "generateName"}}
    return {"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": API_VERSION, "kind": "Pipeline", "metadata": pipeline_metadata, "spec": pipeline_spec},
        {"apiVersion": API_VERSION, "kind": "PipelineRun", "metadata": metadata,
         "spec": {"pipelineRef": {"name": name}, **run}},
    ]}


def _flatten_run(plan: Plan, options: CompileOptions) -> tuple[FlatPipeline, dict[str, Any]]:
    """The lowered plan, and the root parameters fixed into the run.

    A PipelineRun with its pipeline inline is one run. Where Tekton cannot take a pipeline parameter as a
    parameter (a CEL condition would paste its text into code; loop items or a parallelism limit need the
    list itself), the parameters that have a value are fixed into the run as constants: as few as make it
    compile, named in the ``fixed-parameters`` annotation and left out of ``params``, so a change means
    compiling again. A separate ``Pipeline`` is reusable, so it keeps every parameter (or is refused).
    """
    try:
        return flatten(plan), {}
    except KfpDriverError as refusal:
        known = {name: param.default for name, param in plan.root.inputs.parameters.items()
                 if param.has_default and param.default is not None}
        known.update((name, value) for name, value in options.parameters.items()
                     if name in plan.root.inputs.parameters)
        if options.separate_pipeline or not known:
            raise
        try:
            flatten(plan, known)
        except KfpDriverError:
            raise refusal from None
    fixed = dict(known)
    for name in sorted(known):  # give back every parameter the run can keep
        trial = {key: value for key, value in fixed.items() if key != name}
        try:
            flatten(plan, trial)
        except KfpDriverError:
            continue
        fixed = trial
    return flatten(plan, fixed), fixed


def _check_pipeline_config(plan: Plan) -> None:
    config = plan.pipeline_config
    if config is None:
        return
    if config.resource_ttl_on_completion or config.resource_ttl_on_success or config.resource_ttl_on_failure:
        raise_if_any([UnsupportedFeature("pipeline: pipelineConfig resource TTL",
                                         hint="Tekton keeps runs until its pruner (a cluster setting) removes them")])


def _metadata(plan: Plan, options: CompileOptions, flat: FlatPipeline) -> dict[str, Any]:
    annotations = {f"{ANNOTATION_PREFIX}/pipeline-name": plan.name}
    if plan.display_name:
        annotations[f"{ANNOTATION_PREFIX}/display-name"] = plan.display_name
    if plan.sdk_version:
        annotations[f"{ANNOTATION_PREFIX}/sdk-version"] = plan.sdk_version
    if any(isinstance(guard, WhenCel) for task in flat.tasks for guard in task.guards):
        annotations[f"{ANNOTATION_PREFIX}/tekton-feature-flags"] = CEL_FLAG
    metadata: dict[str, Any] = {"generateName": dns_label(plan.name or "pipeline", 57) + "-"}
    if options.namespace:
        metadata["namespace"] = options.namespace
    metadata["labels"] = {f"{ANNOTATION_PREFIX}/pipeline": dns_label(plan.name or "pipeline")}
    metadata["annotations"] = annotations
    return metadata


def _params(plan: Plan, options: CompileOptions, flat: FlatPipeline, context: Context) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [{"name": PIPELINE_ROOT, "type": "string",
                                     "default": options.root_for(plan.pipeline_root)}]
    for ir_name, root in flat.params.items():
        definition = root.definition
        entry: dict[str, Any] = {"name": context.params[ir_name], "type": "array" if root.array else "string"}
        if isinstance(definition, ArtifactDef):
            entry["description"] = definition.description or 'artifact reference: a URI or {"uri": ...} JSON'
            params.append(entry)
            continue
        if definition.has_default:
            entry["default"] = _param_text(definition.default, definition.type, root.array)
        if definition.description:
            entry["description"] = definition.description
        params.append(entry)
    return params


def _run_params(options: CompileOptions, flat: FlatPipeline, context: Context) -> list[dict[str, Any]]:
    """This run's values (``CompileOptions.parameters``) for the pipeline's parameters, as Tekton text."""
    given: list[dict[str, Any]] = []
    for ir_name, root in flat.params.items():
        if ir_name not in options.parameters:
            continue
        value = options.parameters[ir_name]
        if isinstance(root.definition, ArtifactDef):
            kind = ParamType.STRING if isinstance(value, str) else ParamType.STRUCT
            text: Any = encode_value(escape_tree(value), kind)
        else:
            text = _param_text(value, root.definition.type, root.array)
        given.append({"name": context.params[ir_name], "value": text})
    return given


def _param_text(value: Any, kind: ParamType, array: bool) -> Any:
    """A pipeline parameter's value as Tekton text, tag-escaped (``launcher.wire``: Tekton would substitute a
    ``$(...)`` inside it); an array parameter holds one string per list item."""
    if array:
        return [_item_text(escape_tree(item)) for item in value]
    return encode_value(escape_tree(value), kind)


def _item_text(item: Any) -> str:
    """A list item as an array element: strings verbatim, everything else JSON (how the launcher reads items)."""
    return encode_value(item, ParamType.STRING if isinstance(item, str) else ParamType.STRUCT)


def _results(flat: FlatPipeline, context: Context) -> list[dict[str, Any]]:
    """Pipeline outputs; each branch of a ``dsl.OneOf`` is its own result (Tekton emits the one that ran)."""
    names = Names(result_name)
    results: list[dict[str, Any]] = []
    for name, value in flat.outputs.items():
        options = value.options if isinstance(value, OneOf) else (value,)
        for number, option in enumerate(options, start=1):
            entry: dict[str, Any] = {"name": names.claim(name if len(options) == 1 else f"{name}-{number}")}
            if isinstance(option, Gathered):
                entry.update(type="array", value=context.array(option))
            elif isinstance(option, Listed):  # one reference per element: Tekton refuses text around them here
                element = context.json_element if json_list(option, flat.tasks) else context.variable
                entry.update(type="array", value=[element(item) for item in option.items])
            else:
                entry["value"] = context.variable(option)
            results.append(entry)
    return results


def _workspaces(plan: Plan, flat: FlatPipeline) -> list[dict[str, Any]]:
    bindings = [{"name": workspace.name, "volumeClaimTemplate": workspace.claim} for workspace in flat.workspaces]
    pipeline = pipeline_workspace(plan.pipeline_config)
    return ([pipeline] if pipeline else []) + bindings


def _run_after(flat: FlatPipeline, context: Context) -> dict[int, list[str]]:
    """Ordering-only dependencies, minus those a result reference or another path already implies."""
    graph = nx.DiGraph()
    data: dict[int, set[int]] = {}
    for task in flat.tasks:
        if task.final:
            continue
        graph.add_node(task.id)
        data[task.id] = _producers(task)
        for producer in data[task.id] | set(task.after):
            graph.add_edge(producer, task.id)
    reduced = nx.transitive_reduction(graph)
    return {task_id: sorted(context.names[p] for p in reduced.predecessors(task_id) if p not in data[task_id])
            for task_id in data}


def _producers(task: FlatTask) -> set[int]:
    found: set[int] = set()
    for value in task.values():
        for part in parts(value):
            if isinstance(part, Output):
                found.add(part.task)
            elif isinstance(part, Status):
                found.update(part.tasks)
    return found
