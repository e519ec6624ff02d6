"""The engine-neutral plan: everything the IR says, typed, with no engine in sight.

Translators and the local runner read only these classes. IR names are kept as they are (task and
component names, input and output keys); targets sanitise them for their own rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property
from typing import TYPE_CHECKING, Any, Union

from driver.plan.conditions import Expr
from driver.platform import ExecutorPlatform, PipelineConfig

if TYPE_CHECKING:
    import networkx as nx


class ParamType(str, Enum):
    """IR parameter types (``ParameterType.ParameterTypeEnum``)."""

    STRING = "STRING"
    NUMBER_INTEGER = "NUMBER_INTEGER"
    NUMBER_DOUBLE = "NUMBER_DOUBLE"
    BOOLEAN = "BOOLEAN"
    LIST = "LIST"
    STRUCT = "STRUCT"
    TASK_FINAL_STATUS = "TASK_FINAL_STATUS"


NO_DEFAULT: Any = object()
"""Sentinel: the input declares no default value."""


@dataclass(frozen=True)
class ParamDef:
    """A declared input or output parameter of a component."""

    name: str
    type: ParamType
    optional: bool = False
    default: Any = NO_DEFAULT
    description: str = ""

    @property
    def has_default(self) -> bool:
        return self.default is not NO_DEFAULT

    @property
    def required(self) -> bool:
        return not self.optional and not self.has_default


@dataclass(frozen=True)
class ArtifactDef:
    """A declared input or output artifact of a component."""

    name: str
    schema_title: str
    schema_version: str = "0.0.1"
    is_list: bool = False
    optional: bool = False
    description: str = ""


@dataclass
class Interface:
    """Inputs or outputs of a component: parameters and artifacts by name."""

    parameters: dict[str, ParamDef] = field(default_factory=dict)
    artifacts: dict[str, ArtifactDef] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Where a task input comes from (bindings)


@dataclass(frozen=True)
class Constant:
    """A literal value fixed at compile time (``runtimeValue.constant``)."""

    value: Any


@dataclass(frozen=True)
class ParentInput:
    """An input of the enclosing DAG (``componentInputParameter`` / ``componentInputArtifact``)."""

    name: str


@dataclass(frozen=True)
class TaskOutput:
    """An output of a sibling task in the same DAG (``taskOutputParameter`` / ``taskOutputArtifact``)."""

    task: str
    output: str


@dataclass(frozen=True)
class FinalStatus:
    """The final status of a sibling task, for a ``PipelineTaskFinalStatus`` input."""

    task: str


Source = Union[Constant, ParentInput, TaskOutput, FinalStatus]


@dataclass(frozen=True)
class Binding:
    """A task input's source, optionally narrowed to a field of a JSON value.

    ``fields`` comes from ``parameterExpressionSelector: parseJson(string_value)["a"]["b"]``.
    """

    source: Source
    fields: tuple[str, ...] = ()


# ---------------------------------------------------------------------------------------------
# Executors


@dataclass(frozen=True)
class Resources:
    """Container resource requests and limits, in Kubernetes quantity strings."""

    cpu_request: str = ""
    cpu_limit: str = ""
    memory_request: str = ""
    memory_limit: str = ""
    accelerator_type: str = ""
    accelerator_count: str = ""

    @property
    def empty(self) -> bool:
        return not any(vars(self).values())


@dataclass
class ContainerExecutor:
    """A container to run through the launcher. ``command``/``args`` are parsed placeholder args."""

    image: str
    command: list[Any]
    args: list[Any]
    env: dict[str, str] = field(default_factory=dict)
    resources: Resources = field(default_factory=Resources)
    lightweight_python: bool = False
    """True when the command runs the KFP SDK's ``executor_main`` (needs ``kfp`` at run time)."""
    raw_command: tuple[str, ...] = ()
    """The IR's command as written (the local runner reads its ``pip install`` preamble)."""

    @cached_property
    def pip_installs(self) -> tuple[tuple[str, ...], ...]:
        """Arguments of each ``pip install`` the lightweight component runs first (``kfp==X``, the user's)."""
        from driver.plan.placeholders import pip_installs

        return pip_installs(list(self.raw_command))


@dataclass
class ImporterExecutor:
    """Publishes an existing URI as an artifact; needs no pod."""

    uri: Binding
    """Constant URI, or the importer task's input parameter ``uri`` (``runtimeParameter``)."""
    schema_title: str
    schema_version: str
    metadata: dict[str, Any]
    reimport: bool = False
    download_to_workspace: bool = False


@dataclass
class PvcExecutor:
    """Kubernetes PVC creation or deletion (kfp-kubernetes ``CreatePVC``/``DeletePVC``)."""

    action: str  # "create" | "delete"


Executor = Union[ContainerExecutor, ImporterExecutor, PvcExecutor]


# ---------------------------------------------------------------------------------------------
# Control flow


class LoopKind(str, Enum):
    RAW = "raw"  # static list in the IR
    PARAMETER = "parameter"  # a list parameter (pipeline input or task output)
    ARTIFACT = "artifact"  # a list of artifacts


@dataclass(frozen=True)
class Loop:
    """``ParallelFor`` on a task: run its component once per item."""

    kind: LoopKind
    item_input: str
    """Name of the component input that receives each item."""
    items: list[Any] | None = None
    """Static items (RAW)."""
    items_input: str = ""
    """Name of the task input that holds the list (PARAMETER / ARTIFACT)."""
    parallelism: int = 0
    """Maximum concurrent iterations, 0 for unlimited."""


class Trigger(str, Enum):
    ALL_SUCCEEDED = "all_succeeded"
    ALL_COMPLETED = "all_completed"  # exit handlers and ignore_upstream_failure


@dataclass(frozen=True)
class Retry:
    max_retries: int
    backoff_seconds: float = 0.0
    backoff_factor: float = 2.0
    backoff_max_seconds: float = 3600.0


@dataclass(frozen=True)
class Condition:
    """A task's ``triggerPolicy.condition``: the CEL text and its parsed tree.

    Input references in ``expr`` name the task's own input parameters.
    """

    text: str
    expr: Expr


@dataclass
class Task:
    """One task in a DAG."""

    name: str
    component: str
    display_name: str = ""
    parameters: dict[str, Binding] = field(default_factory=dict)
    artifacts: dict[str, Binding] = field(default_factory=dict)
    after: tuple[str, ...] = ()
    """All upstream tasks in the same DAG: ``dependentTasks`` plus data edges."""
    condition: Condition | None = None
    loop: Loop | None = None
    trigger: Trigger = Trigger.ALL_SUCCEEDED
    retry: Retry | None = None
    cache: bool = True
    ir_path: str = ""
    """Where the task is in the IR document, for messages."""

    @property
    def label(self) -> str:
        return self.display_name or self.name


@dataclass(frozen=True)
class OutputSelector:
    """One candidate source of a DAG output: an output of a sub-task."""

    task: str
    output: str


@dataclass(frozen=True)
class DagOutput:
    """A DAG output: the first selector whose task ran (``oneof``), or the one selector."""

    name: str
    selectors: tuple[OutputSelector, ...]
    is_artifact: bool
    oneof: bool = False


@dataclass
class Dag:
    """Tasks of a sub-DAG (or the root) and how its outputs are formed."""

    tasks: dict[str, Task]
    outputs: dict[str, DagOutput] = field(default_factory=dict)
    graph: "nx.DiGraph" = field(default_factory=lambda: _networkx().DiGraph())
    """Edges upstream -> downstream between task names of this DAG."""
    _order: tuple[str, ...] | None = field(default=None, repr=False, compare=False)

    def order(self) -> list[str]:
        """Tasks in a stable topological order (ties broken by name); computed once."""
        if self._order is None or len(self._order) != len(self.tasks):
            self._order = tuple(_networkx().lexicographical_topological_sort(self.graph))
        return list(self._order)


@dataclass
class Component:
    """A component: either a DAG or an executor, with its interface."""

    name: str
    inputs: Interface
    outputs: Interface
    executor_label: str = ""
    executor: Executor | None = None
    dag: Dag | None = None
    platform: ExecutorPlatform | None = None

    @property
    def is_dag(self) -> bool:
        return self.dag is not None


@dataclass
class Plan:
    """A whole pipeline."""

    name: str
    source_file: str
    root: Component
    components: dict[str, Component]
    display_name: str = ""
    description: str = ""
    pipeline_root: str = ""
    sdk_version: str = ""
    schema_version: str = ""
    pipeline_config: PipelineConfig | None = None

    def component_of(self, task: Task) -> Component:
        return self.components[task.component]

    def walk(self) -> list[TaskNode]:
        """Every task in the pipeline with its path, depth first, parents before children."""
        found: list[TaskNode] = []

        def visit(component: Component, prefix: str) -> None:
            assert component.dag is not None
            for name in component.dag.order():
                task = component.dag.tasks[name]
                child = self.components[task.component]
                node = TaskNode(f"{prefix}{name}", task, child)
                found.append(node)
                if child.dag is not None:
                    visit(child, f"{node.path}/")

        visit(self.root, "")
        return found


@dataclass(frozen=True)
class TaskNode:
    """A task in context: its IR task path (names from the root joined by ``/``) and its component."""

    path: str
    task: Task
    component: Component


def _networkx():
    """networkx, imported when a DAG is first built (the CLI's start-up does not pay for it)."""
    import networkx

    return networkx
