"""Semantic checks of a structurally valid pipeline: references, wiring, types and cycles.

``check_ir`` walks every DAG (the root and each DAG component) and reports all problems at once, each
with the IR path of the offending task, input or output and, where a name is close to a valid one,
a "did you mean" hint.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import islice
from typing import Any

import networkx as nx

from driver.errors import IRError, did_you_mean, join_path, raise_if_any
from driver.ir import MAX_PROBLEMS, IRDocument, capped
from driver.platform import ParamRef, PlatformSpec

GENERIC_ARTIFACT = "system.Artifact"


def check_ir(doc: IRDocument, *, supplied_params: set[str] | None = None) -> None:
    """Raise every semantic problem of ``doc`` (one ``IRError`` or a ``ProblemList``).

    With ``supplied_params``, also require a value for each required pipeline parameter.
    """
    checker = _Checker(doc)
    checker.check()
    if supplied_params is not None:
        checker.check_pipeline_params(supplied_params)
    raise_if_any(capped(checker.problems, checker.count, doc.file))


@dataclass(frozen=True)
class _Interface:
    """A component's declared inputs or outputs: name -> definition, for parameters and artifacts."""

    parameters: dict[str, dict]
    artifacts: dict[str, dict]

    @classmethod
    def of(cls, raw: dict | None) -> _Interface:
        raw = raw or {}
        return cls(raw.get("parameters") or {}, raw.get("artifacts") or {})


@dataclass(frozen=True)
class _Scope:
    """A DAG being checked: its tasks, and the inputs of the component that owns it."""

    path: str
    tasks: dict[str, dict]
    inputs: _Interface


def _key(path: str, key: str) -> str:
    return join_path(path, key, key=True)


class _Checker:
    """Walks the pipeline once, collecting problems."""

    def __init__(self, doc: IRDocument) -> None:
        self.doc = doc
        self.problems: list[IRError] = []
        self.count = 0
        """Problems found, including those past ``MAX_PROBLEMS`` (not kept: locating them costs time)."""
        spec = doc.spec
        self.components: dict[str, dict] = spec.get("components") or {}
        self.executors: dict[str, Any] = (spec.get("deploymentSpec") or {}).get("executors") or {}
        # executor label -> [(scope, task name)] of the tasks that run it (for platform references)
        self.executor_users: dict[str, list[tuple[_Scope, str]]] = {}

    def problem(self, ir_path: str, message: str, hint: str = "") -> None:
        self.count += 1
        if self.count <= MAX_PROBLEMS:
            self.problems.append(IRError(message, location=self.doc.location(ir_path), hint=hint))

    # -- the whole pipeline ---------------------------------------------------------------------

    def check(self) -> None:
        for name, component in self.components.items():
            path = _key("components", name)
            label = component.get("executorLabel")
            if label and label not in self.executors:
                self.problem(join_path(path, "executorLabel"), f"names unknown executor '{label}'",
                             did_you_mean(label, self.executors) or "add it under deploymentSpec.executors")
            elif label:
                self.check_importer_uri(name, component, label)
            if component.get("dag") is not None:
                self.check_dag(component, path)
            elif not label:
                self.problem(path, f"component '{name}' runs nothing: it has neither an executorLabel nor a dag",
                             "compile the pipeline again with the KFP SDK")
        self.check_component_cycles()
        root = self.doc.spec.get("root") or {}
        if root.get("dag") is not None:
            self.check_dag(root, "root")
        if self.doc.platform is not None:
            self.check_platform(self.doc.platform)

    def check_importer_uri(self, name: str, component: dict, label: str) -> None:
        """An importer reading its URI from a parameter: the component declares that input."""
        uri = ((self.executors[label].get("importer") or {}).get("artifactUri") or {})
        parameter = uri.get("runtimeParameter")
        declared = _Interface.of(component.get("inputDefinitions")).parameters
        if parameter is not None and parameter not in declared:
            path = join_path(join_path(join_path(_key("deploymentSpec.executors", label), "importer"), "artifactUri"),
                             "runtimeParameter")
            self.problem(path, f"the importer's URI parameter '{parameter}' is not an input of component '{name}'",
                         did_you_mean(parameter, declared) or "declare it under inputDefinitions.parameters")

    def check_component_cycles(self) -> None:
        """A DAG component that runs itself, directly or through others, would never end."""
        graph = nx.DiGraph()
        for name, component in self.components.items():
            for task_name, task in ((component.get("dag") or {}).get("tasks") or {}).items():
                ref = (task.get("componentRef") or {}).get("name")
                if ref in self.components:
                    graph.add_edge(name, ref, task=task_name)
        for cycle in sorted(islice(nx.simple_cycles(graph), MAX_PROBLEMS), key=min):
            start = cycle.index(min(cycle))
            cycle = cycle[start:] + cycle[:start]
            task = graph.edges[cycle[0], cycle[1 % len(cycle)]]["task"]
            tasks = join_path(join_path(_key("components", cycle[0]), "dag"), "tasks")
            path = join_path(join_path(_key(tasks, task), "componentRef"), "name")
            chain = " -> ".join(f"'{c}'" for c in [*cycle, cycle[0]])
            self.problem(path, f"component '{cycle[0]}' runs itself: {chain}", "a pipeline cannot call itself; "
                                                                                 "break the cycle")

    def check_pipeline_params(self, supplied: set[str]) -> None:
        root = self.doc.spec.get("root") or {}
        for name, definition in _Interface.of(root.get("inputDefinitions")).parameters.items():
            if name not in supplied and _required(definition):
                self.problem(_key("root.inputDefinitions.parameters", name),
                             f"pipeline parameter '{name}' is required and has no value",
                             f"pass --param {name}=VALUE")

    # -- one DAG --------------------------------------------------------------------------------

    def check_dag(self, owner: dict, owner_path: str) -> None:
        dag = owner["dag"]
        scope = _Scope(join_path(owner_path, "dag"), dag.get("tasks") or {},
                       _Interface.of(owner.get("inputDefinitions")))
        graph = nx.DiGraph()
        graph.add_nodes_from(scope.tasks)
        for name, task in scope.tasks.items():
            graph.add_edges_from((upstream, name) for upstream in self.check_task(scope, name, task))
        self.check_cycles(scope, graph)
        self.check_dag_outputs(scope, dag.get("outputs") or {})

    def check_cycles(self, scope: _Scope, graph: nx.DiGraph) -> None:
        for members in nx.strongly_connected_components(graph):
            first = min(members)
            if len(members) > 1 or graph.has_edge(first, first):
                cycle = [edge[0] for edge in nx.find_cycle(graph.subgraph(members), source=first)]
                self.problem(_key(join_path(scope.path, "tasks"), first),
                             "tasks depend on each other in a cycle: " + " -> ".join([*cycle, cycle[0]]),
                             "remove one of these dependencies or data edges")

    def check_dag_outputs(self, scope: _Scope, outputs: dict) -> None:
        path = join_path(scope.path, "outputs")
        for name, spec in (outputs.get("parameters") or {}).items():
            out_path = _key(join_path(path, "parameters"), name)
            if spec.get("valueFromParameter"):
                self.check_selector(scope, spec["valueFromParameter"], join_path(out_path, "valueFromParameter"),
                                    "outputParameterKey", "parameters")
            selectors = (spec.get("valueFromOneof") or {}).get("parameterSelectors") or []
            if not spec.get("valueFromParameter") and not selectors:
                self.problem(out_path, f"DAG output parameter '{name}' names no task output",
                             "set valueFromParameter or valueFromOneof.parameterSelectors")
            for i, selector in enumerate(selectors):
                self.check_selector(scope, selector, f"{out_path}.valueFromOneof.parameterSelectors[{i}]",
                                    "outputParameterKey", "parameters")
        for name, spec in (outputs.get("artifacts") or {}).items():
            out_path = join_path(_key(join_path(path, "artifacts"), name), "artifactSelectors")
            if not spec.get("artifactSelectors"):
                self.problem(out_path, f"DAG output artifact '{name}' names no task output",
                             "list the producing task output under artifactSelectors")
            for i, selector in enumerate(spec.get("artifactSelectors") or []):
                self.check_selector(scope, selector, join_path(out_path, i), "outputArtifactKey", "artifacts")

    def check_selector(self, scope: _Scope, selector: dict, path: str, key_field: str, kind: str) -> None:
        """A DAG output selector: ``producerSubtask`` and its output key must exist."""
        self.producer_output(scope, selector.get("producerSubtask", ""), selector.get(key_field, ""), kind,
                             join_path(path, "producerSubtask"), join_path(path, key_field))

    # -- one task -------------------------------------------------------------------------------

    def check_task(self, scope: _Scope, name: str, task: dict) -> set[str]:
        """Check a task; return the sibling tasks it depends on (dependentTasks and data edges)."""
        path = _key(join_path(scope.path, "tasks"), name)
        upstream = self.check_dependent_tasks(scope, task.get("dependentTasks") or [], path)
        ref = (task.get("componentRef") or {}).get("name", "")
        component = self.components.get(ref)
        if component is None:
            self.problem(join_path(join_path(path, "componentRef"), "name"), f"names unknown component '{ref}'",
                         did_you_mean(ref, self.components))
        elif component.get("executorLabel"):
            self.executor_users.setdefault(component["executorLabel"], []).append((scope, name))
        declared = _Interface.of((component or {}).get("inputDefinitions"))
        inputs = task.get("inputs") or {}
        for key, spec in (inputs.get("parameters") or {}).items():
            upstream |= self.check_parameter_input(scope, ref, declared if component else None, key, spec,
                                                   _key(join_path(join_path(path, "inputs"), "parameters"), key))
        for key, spec in (inputs.get("artifacts") or {}).items():
            upstream |= self.check_artifact_input(scope, ref, declared if component else None, key, spec,
                                                  _key(join_path(join_path(path, "inputs"), "artifacts"), key))
        if component is not None:
            self.check_iterators(task, ref, declared, path)
            self.check_required_inputs(task, ref, declared, path)
        return upstream

    def check_dependent_tasks(self, scope: _Scope, names: list[str], path: str) -> set[str]:
        found = set()
        for i, upstream in enumerate(names):
            if upstream in scope.tasks:
                found.add(upstream)
            else:
                self.problem(join_path(join_path(path, "dependentTasks"), i),
                             f"depends on task '{upstream}', which is not in this DAG",
                             did_you_mean(upstream, scope.tasks))
        return found

    def check_parameter_input(self, scope: _Scope, ref: str, declared: _Interface | None, key: str, spec: dict,
                              path: str) -> set[str]:
        """One ``inputs.parameters`` entry: its source exists, the component declares it, types agree."""
        wanted = declared.parameters.get(key) if declared else None
        if declared is not None and wanted is None and not _pass_through(key, spec):
            self.problem(path, f"component '{ref}' declares no input parameter '{key}'",
                         did_you_mean(key, declared.parameters))
        source: dict | None = None
        if (producer := spec.get("taskOutputParameter")) is not None:
            source_path = join_path(path, "taskOutputParameter")
            source = self.producer_output(scope, producer.get("producerTask", ""),
                                          producer.get("outputParameterKey", ""), "parameters",
                                          join_path(source_path, "producerTask"),
                                          join_path(source_path, "outputParameterKey"))
            upstream = {producer.get("producerTask", "")}
        elif spec.get("componentInputParameter") is not None:
            upstream, source = set(), self.parent_input(scope, spec["componentInputParameter"], "parameters",
                                                        join_path(path, "componentInputParameter"))
        elif (status := spec.get("taskFinalStatus")) is not None:
            producer = status.get("producerTask", "")
            self.sibling(scope, producer, join_path(join_path(path, "taskFinalStatus"), "producerTask"))
            upstream = {producer}
        else:
            upstream = set()
        # The SDK declares ParallelFor items as STRING whatever the list holds: a STRING parent input may
        # feed any type (the engines pass the item's JSON text, decoded by the consumer's type).
        loose = spec.get("componentInputParameter") is not None and (source or {}).get("parameterType") == "STRING"
        if source is not None and wanted is not None and not spec.get("parameterExpressionSelector") and not loose:
            self.check_parameter_types(source, wanted, key, path)
        return {name for name in upstream if name in scope.tasks}

    def check_artifact_input(self, scope: _Scope, ref: str, declared: _Interface | None, key: str, spec: dict,
                             path: str) -> set[str]:
        """One ``inputs.artifacts`` entry: its source exists, the component declares it, types agree."""
        wanted = declared.artifacts.get(key) if declared else None
        if declared is not None and wanted is None:
            self.problem(path, f"component '{ref}' declares no input artifact '{key}'",
                         did_you_mean(key, declared.artifacts))
        source: dict | None = None
        upstream: set[str] = set()
        if (producer := spec.get("taskOutputArtifact")) is not None:
            source_path = join_path(path, "taskOutputArtifact")
            source = self.producer_output(scope, producer.get("producerTask", ""),
                                          producer.get("outputArtifactKey", ""), "artifacts",
                                          join_path(source_path, "producerTask"),
                                          join_path(source_path, "outputArtifactKey"))
            upstream = {name for name in (producer.get("producerTask", ""),) if name in scope.tasks}
        elif spec.get("componentInputArtifact") is not None:
            source = self.parent_input(scope, spec["componentInputArtifact"], "artifacts",
                                       join_path(path, "componentInputArtifact"))
        if source is not None and wanted is not None:
            self.check_artifact_types(source, wanted, key, path)
        return upstream

    def check_iterators(self, task: dict, ref: str, declared: _Interface, path: str) -> None:
        """``parameterIterator``/``artifactIterator``: the items come from a task input, the item is declared."""
        inputs = task.get("inputs") or {}
        for field_name, kind, items_key in (("parameterIterator", "parameters", "inputParameter"),
                                             ("artifactIterator", "artifacts", "inputArtifact")):
            iterator = task.get(field_name)
            if iterator is None:
                continue
            iterator_path = join_path(path, field_name)
            items = iterator.get("items") or {}
            source = items.get(items_key)
            if source is None and items.get("raw") is None:
                raw = " or items.raw" if kind == "parameters" else ""
                self.problem(join_path(iterator_path, "items"), "the loop has no items",
                             f"set items.{items_key}{raw}")
            bound = inputs.get(kind) or {}
            if source is not None and source not in bound:
                self.problem(join_path(join_path(iterator_path, "items"), items_key),
                             f"iterates over task input '{source}', which the task does not bind",
                             did_you_mean(source, bound) or f"add it under inputs.{kind}")
            item = iterator.get("itemInput", "")
            known = getattr(declared, kind)
            if item not in known:
                self.problem(join_path(iterator_path, "itemInput"),
                             f"loop item '{item}' is not an input of component '{ref}'", did_you_mean(item, known))

    def check_required_inputs(self, task: dict, ref: str, declared: _Interface, path: str) -> None:
        inputs = task.get("inputs") or {}
        for kind, iterator in (("parameters", "parameterIterator"), ("artifacts", "artifactIterator")):
            bound = set(inputs.get(kind) or {}) | {(task.get(iterator) or {}).get("itemInput")}
            for name, definition in getattr(declared, kind).items():
                if name not in bound and _required(definition):
                    self.problem(path, f"required input {kind[:-1]} '{name}' of component '{ref}' has no value",
                                 f"bind it under inputs.{kind}")

    # -- where values come from -------------------------------------------------------------------

    def producer_output(self, scope: _Scope, task: str, key: str, kind: str, task_path: str,
                        key_path: str) -> dict | None:
        """The output definition ``key`` of sibling ``task``; report a missing task or output."""
        if not self.sibling(scope, task, task_path):
            return None
        component = self.components.get((scope.tasks[task].get("componentRef") or {}).get("name", ""))
        if component is None:
            return None  # reported at the producer task itself
        outputs = getattr(_Interface.of(component.get("outputDefinitions")), kind)
        if key not in outputs:
            self.problem(key_path, f"task '{task}' has no output {kind[:-1]} '{key}'",
                         did_you_mean(key, outputs) or f"its outputs: {', '.join(outputs) or 'none'}")
            return None
        return outputs[key]

    def sibling(self, scope: _Scope, task: str, path: str) -> bool:
        """Whether ``task`` is in the DAG; report it if not."""
        if task not in scope.tasks:
            self.problem(path, f"names task '{task}', which is not in this DAG", did_you_mean(task, scope.tasks))
        return task in scope.tasks

    def parent_input(self, scope: _Scope, name: str, kind: str, path: str) -> dict | None:
        """The enclosing DAG's input definition ``name``; report it if missing."""
        known = getattr(scope.inputs, kind)
        if name not in known:
            self.problem(path, f"the enclosing DAG has no input {kind[:-1]} '{name}'", did_you_mean(name, known))
            return None
        return known[name]

    # -- types ------------------------------------------------------------------------------------

    def check_parameter_types(self, source: dict, wanted: dict, key: str, path: str) -> None:
        have, want = source.get("parameterType"), wanted.get("parameterType")
        if have and want and have != want and (have, want) not in _COMPATIBLE_PARAMETER_TYPES:
            self.problem(path, f"type mismatch: the value is {have}, input '{key}' expects {want}")

    def check_artifact_types(self, source: dict, wanted: dict, key: str, path: str) -> None:
        if bool(source.get("isArtifactList")) != bool(wanted.get("isArtifactList")):
            have, want = ("a list of artifacts", "one artifact") if source.get("isArtifactList") else (
                "one artifact", "a list of artifacts")
            self.problem(path, f"type mismatch: the value is {have}, input '{key}' expects {want}")
            return
        have = (source.get("artifactType") or {}).get("schemaTitle") or GENERIC_ARTIFACT
        want = (wanted.get("artifactType") or {}).get("schemaTitle") or GENERIC_ARTIFACT
        if GENERIC_ARTIFACT not in (have, want) and have != want:
            self.problem(path, f"type mismatch: the artifact is {have}, input '{key}' expects {want}")

    # -- platform references ----------------------------------------------------------------------

    def check_platform(self, platform: PlatformSpec) -> None:
        for label, options in platform.executors.items():
            path = PlatformSpec.executor_path(label)
            if label not in self.executors:
                self.problem(path, f"platform options for unknown executor '{label}'",
                             did_you_mean(label, self.executors))
                continue
            for ref_path, ref in options.param_refs():
                for scope, task in self.executor_users.get(label, []):
                    self.check_platform_ref(scope, task, ref, f"{path}.{ref_path}")

    def check_platform_ref(self, scope: _Scope, task: str, ref: ParamRef, path: str) -> None:
        """A platform option's value must come from the running task's DAG inputs or sibling outputs."""
        where = f" (for task '{task}' in {scope.path})"
        if ref.component_input is not None and ref.component_input not in scope.inputs.parameters:
            self.problem(path, f"names input '{ref.component_input}', which the DAG of the task does not have{where}",
                         did_you_mean(ref.component_input, scope.inputs.parameters))
        if ref.task_output is not None:
            self.producer_output(scope, ref.task_output.producer_task, ref.task_output.output_key, "parameters",
                                 path, path)


def _required(definition: dict) -> bool:
    return "defaultValue" not in definition and not definition.get("isOptional", False)


_COMPATIBLE_PARAMETER_TYPES = {("TASK_FINAL_STATUS", "STRUCT")}
"""(value type, input type) pairs that differ yet fit: a final status is a struct (exit handlers pass it on)."""

CHANNEL_PREFIX = "pipelinechannel--"
_INPUT_PLACEHOLDER = "{{$.inputs.parameters["


def _pass_through(key: str, spec: dict) -> bool:
    """A task input the component need not declare: the SDK adds these for conditions, f-strings and
    resource fields (``pipelinechannel--*`` channels, and constants that only forward such a channel)."""
    constant = (spec.get("runtimeValue") or {}).get("constant")
    return key.startswith(CHANNEL_PREFIX) or (isinstance(constant, str) and _INPUT_PLACEHOLDER in constant)
