"""The flat pipeline: what the flattening pass produces and the renderer writes out.

One ``FlatTask`` is one Tekton pipeline task (one pod per execution, per matrix combination).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union

from driver.errors import KfpDriverError, UnsupportedFeature
from driver.plan.model import ArtifactDef, Component, ParamDef, ParamType, Task
from translators.tekton.conditions import Guard, WhenIn
from translators.tekton.values import Const, Listed, Output, Text, Value

Segment = Union[str, tuple[str, int]]
"""One step of an IR task path: a task name (``loop[2]`` in an unrolled loop) or (loop name, matrix dim)."""


@dataclass(eq=False)
class Dim:
    """A matrix dimension: one ParallelFor whose iterations run as one fanned-out pipeline task."""

    id: int
    task: Task
    items: tuple[Value | None, ...] | None = None
    """Static items, one value per iteration."""
    source: Value | None = None
    """The array, for items known only at run time."""
    item_type: ParamType | None = None
    """Declared type of the item input; None for an artifact loop."""
    follows: int | None = None
    """For a task fed by another task of the same loop: the dimension it follows position by position."""

    @property
    def loop(self) -> int:
        """The ParallelFor this dimension iterates."""
        return self.id if self.follows is None else self.follows


@dataclass(eq=False)
class FlatTask:
    id: int
    path: tuple[Segment, ...]
    task: Task
    component: Component
    params: dict[str, Value]
    artifacts: dict[str, Value]
    after: frozenset[int]
    """Ordering-only dependencies (data dependencies follow from the values)."""
    guards: tuple[Guard, ...]
    dims: tuple[Dim, ...]
    final: bool
    """A ``finally`` task: runs after all others, whatever their outcome."""
    platform: dict[int, Value | None]
    """Resolved platform option values by ``id()`` of their ``ParamRef``."""
    variant: str = ""
    """Which copy this is, when inputs need one copy per case (``alt2``: a OneOf branch; ``failed``)."""
    resources: dict[str, Any] = field(default_factory=dict)
    """The container's ``computeResources``, placeholders filled (Tekton takes literal quantities only)."""

    def values(self) -> list[Value | None]:
        """Every value the task reads: inputs, platform options, conditions, loop items."""
        found: list[Value | None] = [*self.params.values(), *self.artifacts.values(), *self.platform.values()]
        for guard in self.guards:
            pieces = (guard.input, *guard.values) if isinstance(guard, WhenIn) else guard.pieces
            found += [piece for piece in pieces if not isinstance(piece, str)]
        for dim in self.dims:
            found += [*(dim.items or ()), dim.source]
        return found


@dataclass(frozen=True)
class Workspace:
    """A volume the run creates (``CreatePVC``): a workspace bound to a volume claim template."""

    name: str
    claim: dict[str, Any]


@dataclass(frozen=True)
class RootParam:
    """A root input of the IR: a parameter of the Tekton pipeline (an array when it feeds a ParallelFor)."""

    definition: Union[ParamDef, ArtifactDef]
    array: bool = False


@dataclass
class FlatPipeline:
    tasks: list[FlatTask]
    params: dict[str, RootParam]
    outputs: dict[str, Value]
    workspaces: list[Workspace]
    array_outputs: set[tuple[int, str]]
    """Outputs read as loop items: their result is a Tekton array."""


class Refusal(Exception):
    """A construct Tekton cannot express, found while lowering ``task``."""

    def __init__(self, task: Task | None, feature: str, hint: str = "") -> None:
        super().__init__(feature)
        self.task, self.feature, self.hint = task, feature, hint

    def error(self) -> KfpDriverError:
        where = f"task '{self.task.name}' ({self.task.ir_path})" if self.task else "pipeline"
        return UnsupportedFeature(f"{where}: {self.feature}", hint=self.hint)


def output_type(task: FlatTask, name: str) -> ParamType | None:
    declared = task.component.outputs.parameters.get(name)
    return declared.type if declared is not None else None


def json_list(value: Value | None, tasks: list[FlatTask]) -> bool:
    """True when every element's text is JSON: artifact references, non-STRING parameters, constants."""
    if isinstance(value, Listed):
        return all(json_list(item, tasks) for item in value.items)
    if isinstance(value, Output):
        return value.artifact or output_type(tasks[value.task], value.name) != ParamType.STRING
    return value is None or isinstance(value, (Const, Text))


def flat_list(value: Listed) -> bool:
    """A one-level list of task outputs, which the launcher can take item by item (``--list``)."""
    return all(isinstance(item, Output) for item in value.items)
