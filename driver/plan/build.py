"""IR (a checked ``IRDocument``) -> ``Plan``. The only module that reads the IR's DAG structure."""

from __future__ import annotations

import json
import re
from typing import Any

import networkx as nx

from driver.errors import IRError, KfpDriverError, join_path, raise_if_any
from driver.ir import IRDocument
from driver.plan.conditions import ConditionError, parse_condition, refs
from driver.plan.model import (
    NO_DEFAULT,
    ArtifactDef,
    Binding,
    Component,
    Condition,
    Constant,
    ContainerExecutor,
    Dag,
    DagOutput,
    FinalStatus,
    ImporterExecutor,
    Interface,
    Loop,
    LoopKind,
    OutputSelector,
    ParamDef,
    ParamType,
    ParentInput,
    Plan,
    PvcExecutor,
    Resources,
    Retry,
    Task,
    TaskOutput,
    Trigger,
)
from driver.plan.placeholders import PlaceholderError, is_lightweight_python, parse_args

PVC_IMAGES = {"argostub/createpvc": "create", "argostub/deletepvc": "delete"}
_SELECTOR = re.compile(r'^parseJson\(string_value\)((?:\["[^"\]]*"\])+)$')
_SELECTOR_FIELD = re.compile(r'\["([^"\]]*)"\]')


def build_plan(doc: IRDocument) -> Plan:
    """Build the plan; collect every problem and raise them together."""
    builder = _Builder(doc)
    plan = builder.build()
    raise_if_any(builder.problems)
    return plan


class _Builder:
    def __init__(self, doc: IRDocument) -> None:
        self.doc = doc
        self.spec = doc.spec
        self.problems: list[KfpDriverError] = []
        self.components: dict[str, Component] = {}

    def problem(self, ir_path: str, message: str, hint: str = "") -> None:
        self.problems.append(IRError(message, location=self.doc.location(ir_path), hint=hint))

    # -- whole pipeline ---------------------------------------------------------------------

    def build(self) -> Plan:
        for name, raw in sorted(self.spec.get("components", {}).items()):
            self.components[name] = self.component_shell(name, raw, f"components['{name}']")
        root_raw = self.spec.get("root", {})
        root = self.component_shell("root", root_raw, "root")
        # DAG bodies need every component's interface first (task inputs are checked against it).
        for name, raw in self.spec.get("components", {}).items():
            if "dag" in raw:
                self.components[name].dag = self.dag(raw["dag"], f"components['{name}'].dag")
        root.dag = self.dag(root_raw.get("dag", {}), "root.dag")
        info = self.spec.get("pipelineInfo", {})
        platform = self.doc.platform
        return Plan(
            name=info.get("name", ""),
            display_name=info.get("displayName", ""),
            description=info.get("description", ""),
            source_file=self.doc.file,
            root=root,
            components=self.components,
            pipeline_root=self.spec.get("defaultPipelineRoot", ""),
            sdk_version=self.spec.get("sdkVersion", ""),
            schema_version=self.spec.get("schemaVersion", ""),
            pipeline_config=platform.pipeline_config if platform else None,
        )

    # -- components -------------------------------------------------------------------------

    def component_shell(self, name: str, raw: dict[str, Any], ir_path: str) -> Component:
        component = Component(
            name=name,
            inputs=self.interface(raw.get("inputDefinitions", {}), f"{ir_path}.inputDefinitions"),
            outputs=self.interface(raw.get("outputDefinitions", {}), f"{ir_path}.outputDefinitions"),
            executor_label=raw.get("executorLabel", ""),
        )
        if component.executor_label:
            component.executor = self.executor(component.executor_label)
            platform = self.doc.platform
            if platform is not None:
                component.platform = platform.executors.get(component.executor_label)
        return component

    def env(self, items: list[dict[str, Any]], ir_path: str) -> dict[str, str]:
        env = {}
        for i, item in enumerate(items):
            if item.get("name"):
                env[item["name"]] = item.get("value", "")
            else:
                self.problem(join_path(join_path(ir_path, i), "name"), "an environment variable has no name",
                             "set its name")
        return env

    def param_type(self, spec: dict[str, Any], ir_path: str) -> ParamType:
        """The declared type; one the driver cannot pass (unspecified, TASK_CONFIG) is a problem."""
        raw = spec.get("parameterType", "STRING")
        if raw in ParamType.__members__:
            return ParamType(raw)
        self.problem(ir_path, f"parameter type {raw} is not supported",
                     "use one of " + ", ".join(ParamType.__members__))
        return ParamType.STRING

    def interface(self, raw: dict[str, Any], ir_path: str) -> Interface:
        parameters = {
            name: ParamDef(
                name=name,
                type=self.param_type(spec, join_path(join_path(join_path(ir_path, "parameters"), name, key=True),
                                                     "parameterType")),
                optional=bool(spec.get("isOptional", False)),
                default=spec["defaultValue"] if "defaultValue" in spec else NO_DEFAULT,
                description=spec.get("description", ""),
            )
            for name, spec in raw.get("parameters", {}).items()
        }
        artifacts = {
            name: ArtifactDef(
                name=name,
                schema_title=spec.get("artifactType", {}).get("schemaTitle", "system.Artifact"),
                schema_version=spec.get("artifactType", {}).get("schemaVersion", "0.0.1"),
                is_list=bool(spec.get("isArtifactList", False)),
                optional=bool(spec.get("isOptional", False)),
                description=spec.get("description", ""),
            )
            for name, spec in raw.get("artifacts", {}).items()
        }
        return Interface(parameters, artifacts)

    def executor(self, label: str):
        ir_path = f"deploymentSpec.executors['{label}']"
        raw = self.spec.get("deploymentSpec", {}).get("executors", {}).get(label, {})
        if "importer" in raw:
            return self.importer(raw["importer"])
        container = raw.get("container")
        if container is None:
            kind = next(iter(raw), "nothing")
            self.problem(ir_path, f"executor kind '{kind}' is not supported", "only container and importer executors run here")
            return None
        image = container.get("image", "")
        if image in PVC_IMAGES:
            return PvcExecutor(PVC_IMAGES[image])
        command, args = container.get("command", []), container.get("args", [])
        try:
            parsed_command, parsed_args = parse_args(command), parse_args(args)
        except PlaceholderError as exc:
            self.problem(f"{ir_path}.container", str(exc), "use the placeholders the KFP SDK emits")
            parsed_command, parsed_args = [], []
        return ContainerExecutor(
            image=image,
            command=parsed_command,
            args=parsed_args,
            env=self.env(container.get("env", []), f"{ir_path}.container.env"),
            resources=_resources(container.get("resources", {})),
            lightweight_python=is_lightweight_python(command, args),
            raw_command=tuple(part for part in command if isinstance(part, str)),
        )

    def importer(self, raw: dict[str, Any]) -> ImporterExecutor:
        uri_spec = raw.get("artifactUri", {})
        if "runtimeParameter" in uri_spec:
            uri = Binding(ParentInput(uri_spec["runtimeParameter"]))
        else:
            uri = Binding(Constant(uri_spec.get("constant", "")))
        schema = raw.get("typeSchema", {})
        return ImporterExecutor(
            uri=uri,
            schema_title=schema.get("schemaTitle", "system.Artifact"),
            schema_version=schema.get("schemaVersion", "0.0.1"),
            metadata=raw.get("metadata", {}),
            reimport=bool(raw.get("reimport", False)),
            download_to_workspace=bool(raw.get("downloadToWorkspace", False)),
        )

    # -- DAGs -------------------------------------------------------------------------------

    def dag(self, raw: dict[str, Any], ir_path: str) -> Dag:
        tasks = {name: self.task(name, spec, f"{ir_path}.tasks['{name}']") for name, spec in raw.get("tasks", {}).items()}
        graph = nx.DiGraph()
        graph.add_nodes_from(tasks)
        for task in tasks.values():
            for upstream in task.after:
                if upstream in tasks:
                    graph.add_edge(upstream, task.name)
        outputs = self.dag_outputs(raw.get("outputs", {}))
        return Dag(tasks=tasks, outputs=outputs, graph=graph)

    def dag_outputs(self, raw: dict[str, Any]) -> dict[str, DagOutput]:
        outputs: dict[str, DagOutput] = {}
        for name, spec in raw.get("parameters", {}).items():
            if "valueFromOneof" in spec:
                selectors = spec["valueFromOneof"].get("parameterSelectors", [])
                outputs[name] = DagOutput(name, tuple(_selector(s, "outputParameterKey") for s in selectors), False, True)
            else:
                outputs[name] = DagOutput(name, (_selector(spec.get("valueFromParameter", {}), "outputParameterKey"),), False)
        for name, spec in raw.get("artifacts", {}).items():
            selectors = tuple(_selector(s, "outputArtifactKey") for s in spec.get("artifactSelectors", []))
            outputs[name] = DagOutput(name, selectors, True, len(selectors) > 1)
        return outputs

    def task(self, name: str, raw: dict[str, Any], ir_path: str) -> Task:
        inputs = raw.get("inputs", {})
        parameters = {key: self.parameter_binding(spec, f"{ir_path}.inputs.parameters['{key}']")
                      for key, spec in inputs.get("parameters", {}).items()}
        artifacts = {key: self.artifact_binding(spec) for key, spec in inputs.get("artifacts", {}).items()}
        upstream = list(raw.get("dependentTasks", []))
        for binding in list(parameters.values()) + list(artifacts.values()):
            producer = getattr(binding.source, "task", None)
            if producer and producer not in upstream:
                upstream.append(producer)
        trigger_policy = raw.get("triggerPolicy", {})
        task = Task(
            name=name,
            component=raw.get("componentRef", {}).get("name", ""),
            display_name=raw.get("taskInfo", {}).get("name", ""),
            parameters=parameters,
            artifacts=artifacts,
            after=tuple(upstream),
            condition=self.condition(trigger_policy.get("condition"), parameters, f"{ir_path}.triggerPolicy.condition"),
            loop=self.loop(raw, ir_path),
            trigger=Trigger.ALL_COMPLETED
            if trigger_policy.get("strategy") == "ALL_UPSTREAM_TASKS_COMPLETED" else Trigger.ALL_SUCCEEDED,
            retry=_retry(raw.get("retryPolicy")),
            cache=bool(raw.get("cachingOptions", {}).get("enableCache", False)),
            ir_path=ir_path,
        )
        return task

    def parameter_binding(self, raw: dict[str, Any], ir_path: str) -> Binding:
        fields: tuple[str, ...] = ()
        selector = raw.get("parameterExpressionSelector")
        if selector:
            match = _SELECTOR.match(selector.strip())
            if match:
                fields = tuple(_SELECTOR_FIELD.findall(match.group(1)))
            else:
                self.problem(f"{ir_path}.parameterExpressionSelector", f"unsupported selector {selector!r}",
                             'KFP emits parseJson(string_value)["field"]')
        if "componentInputParameter" in raw:
            return Binding(ParentInput(raw["componentInputParameter"]), fields)
        if "taskOutputParameter" in raw:
            ref = raw["taskOutputParameter"]
            return Binding(TaskOutput(ref.get("producerTask", ""), ref.get("outputParameterKey", "")), fields)
        if "taskFinalStatus" in raw:
            return Binding(FinalStatus(raw["taskFinalStatus"].get("producerTask", "")))
        if "runtimeValue" in raw:
            return Binding(Constant(raw["runtimeValue"].get("constant")), fields)
        self.problem(ir_path, "input has no value source", "set componentInputParameter, taskOutputParameter or runtimeValue")
        return Binding(Constant(None))

    @staticmethod
    def artifact_binding(raw: dict[str, Any]) -> Binding:
        if "taskOutputArtifact" in raw:
            ref = raw["taskOutputArtifact"]
            return Binding(TaskOutput(ref.get("producerTask", ""), ref.get("outputArtifactKey", "")))
        return Binding(ParentInput(raw.get("componentInputArtifact", "")))

    def condition(self, text: str | None, parameters: dict[str, Binding], ir_path: str) -> Condition | None:
        if not text:
            return None
        try:
            expr = parse_condition(text)
        except ConditionError as exc:
            self.problem(ir_path, f"condition {text!r}: {exc}")
            return None
        for name in sorted(refs(expr) - set(parameters)):
            self.problem(ir_path, f"condition reads inputs.parameter_values['{name}'] but the task has no such input")
        return Condition(text, expr)

    def loop(self, raw: dict[str, Any], ir_path: str) -> Loop | None:
        parallelism = int(raw.get("iteratorPolicy", {}).get("parallelismLimit", 0) or 0)
        if "parameterIterator" in raw:
            spec = raw["parameterIterator"]
            items = spec.get("items", {})
            if "raw" in items:
                try:
                    values = json.loads(items["raw"])
                except json.JSONDecodeError as exc:
                    self.problem(f"{ir_path}.parameterIterator.items.raw", f"not a JSON list: {exc}")
                    values = []
                if not isinstance(values, list):
                    self.problem(f"{ir_path}.parameterIterator.items.raw", "loop items must be a JSON list")
                    values = []
                return Loop(LoopKind.RAW, spec.get("itemInput", ""), items=values, parallelism=parallelism)
            return Loop(LoopKind.PARAMETER, spec.get("itemInput", ""), items_input=items.get("inputParameter", ""),
                        parallelism=parallelism)
        if "artifactIterator" in raw:
            spec = raw["artifactIterator"]
            return Loop(LoopKind.ARTIFACT, spec.get("itemInput", ""),
                        items_input=spec.get("items", {}).get("inputArtifact", ""), parallelism=parallelism)
        return None


def _selector(raw: dict[str, Any], key: str) -> OutputSelector:
    return OutputSelector(raw.get("producerSubtask", ""), raw.get(key, ""))


def _retry(raw: dict[str, Any] | None) -> Retry | None:
    if not raw or not raw.get("maxRetryCount"):
        return None
    return Retry(
        max_retries=int(raw["maxRetryCount"]),
        backoff_seconds=_seconds(raw.get("backoffDuration", "0s")),
        backoff_factor=float(raw.get("backoffFactor", 2.0) or 2.0),
        backoff_max_seconds=_seconds(raw.get("backoffMaxDuration", "3600s")),
    )


def _seconds(text: Any) -> float:
    """Protobuf JSON durations: ``"1.5s"``."""
    if isinstance(text, (int, float)):
        return float(text)
    return float(str(text).rstrip("s") or 0)


def _resources(raw: dict[str, Any]) -> Resources:
    accelerator = raw.get("accelerator", {})
    return Resources(
        cpu_request=_quantity(raw.get("resourceCpuRequest") or raw.get("cpuRequest")),
        cpu_limit=_quantity(raw.get("resourceCpuLimit") or raw.get("cpuLimit")),
        memory_request=_quantity(raw.get("resourceMemoryRequest") or raw.get("memoryRequest"), "G"),
        memory_limit=_quantity(raw.get("resourceMemoryLimit") or raw.get("memoryLimit"), "G"),
        accelerator_type=str(accelerator.get("resourceType") or accelerator.get("type") or ""),
        accelerator_count=str(accelerator.get("resourceCount") or accelerator.get("count") or ""),
    )


def _quantity(value: Any, unit: str = "") -> str:
    """IR quantities: strings pass through; the deprecated numeric fields get their unit."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        return value
    number = float(value)
    text = str(int(number)) if number.is_integer() else repr(number)
    return f"{text}{unit}"
