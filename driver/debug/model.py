"""What ``explain`` reports: each IR task with what it becomes in the manifest."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class EngineTask:
    """One engine object made for an IR task: an Argo DAG task or a Tekton pipeline task."""

    name: str
    location: str
    """Where it is in the manifest, e.g. ``spec.templates[3].dag.tasks[1]``."""
    template: str = ""
    """Argo: the template the DAG task runs; Tekton: '' (task specs are inline)."""
    instance: str = ""
    """Tekton: the task path the pod records, with unrolled iteration indices (``loop[0]/task``)."""
    pod: bool = False
    when: list[str] = field(default_factory=list)
    """The condition as the engine evaluates it (Argo: one expression; Tekton: the when list)."""
    loop: str = ""
    """How the engine fans out: ``withItems``/``withParam``/``parallelism``/``matrix``."""
    command: list[str] = field(default_factory=list)
    """The container command and args (the launcher command line), empty when there is no pod."""
    arguments: dict[str, str] = field(default_factory=dict)
    """Values the engine passes in (Argo DAG task arguments, Tekton params)."""


@dataclass
class InputSource:
    """One task input and where its value comes from."""

    name: str
    kind: str  # "parameter" | "artifact"
    source: str  # "constant" | "pipeline input" | "parent input" | "task output" | "final status"
    detail: str
    """The constant (JSON), the input name, or ``task.output``; field selector appended as ``["a"]``."""


@dataclass
class TaskExplanation:
    """Everything ``explain`` knows about one IR task."""

    path: str
    name: str
    component: str
    kind: str  # container | dag | importer | pvc-create | pvc-delete
    ir_location: str
    display_name: str = ""
    upstream: list[str] = field(default_factory=list)
    trigger: str = "all_succeeded"
    condition: str = ""
    """As written in the IR (CEL)."""
    loop: dict[str, Any] | None = None
    inputs: list[InputSource] = field(default_factory=list)
    artifact_uris: dict[str, str] = field(default_factory=dict)
    """Output artifact name -> URI pattern."""
    retry: int = 0
    cache: bool = True
    image: str = ""
    engine: list[EngineTask] = field(default_factory=list)
    engine_note: str = ""
    """Why there is no engine object (no pod needed, flattened, not compilable)."""

    @property
    def pods(self) -> bool:
        return any(entry.pod for entry in self.engine)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "pod": self.pods}


@dataclass
class Explanation:
    """The whole pipeline explained for one target."""

    pipeline: str
    source: str
    target: str
    tasks: list[TaskExplanation]
    manifest: dict[str, Any] | None
    """None when the target refused the pipeline (``refusal`` says why)."""
    refusal: str = ""

    def task(self, path: str) -> TaskExplanation | None:
        return next((t for t in self.tasks if t.path == path), None)
