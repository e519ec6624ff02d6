"""Symbolic values of the flattening pass, rendered to Tekton text once task names are known.

A task input, a condition operand, a loop source or a platform option holds one of these. ``None``
stands for an absent input (an optional input nobody binds).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union


@dataclass(frozen=True)
class Const:
    """A compile-time value, encoded by the type of the input that receives it."""

    value: Any


@dataclass(frozen=True)
class Text:
    """Compile-time text in its final form (an importer's artifact reference)."""

    text: str


@dataclass(frozen=True)
class ReferencePart:
    """A string of an importer reference known only at run time: the value at ``path`` (keys and indices
    into the reference JSON), or with ``key`` the name of the key ``path`` ends with; ``pieces`` are its
    literal and run-time parts, in order."""

    path: tuple[Union[str, int], ...]
    pieces: tuple[Union[str, "Value"], ...]
    key: bool = False


@dataclass(frozen=True)
class Reference:
    """An importer's artifact reference with parts known only at run time.

    ``base`` is the reference JSON with those parts empty (run-time keys under a placeholder name). The
    consumer's launcher gets the base and one ``--artifact-set`` (``--artifact-key``) per part, so no
    run-time text is ever parsed as JSON.
    """

    base: str
    parts: tuple[ReferencePart, ...]


@dataclass(frozen=True)
class PipelineParam:
    """A parameter of the Tekton pipeline (a root input of the IR, or the pipeline root)."""

    name: str


@dataclass(frozen=True)
class Output:
    """An output of a flattened task: a Tekton result."""

    task: int
    name: str
    artifact: bool


@dataclass(frozen=True)
class Status:
    """The end state of the flattened tasks of one IR task (a ``PipelineTaskFinalStatus`` input)."""

    tasks: tuple[int, ...]


@dataclass(frozen=True)
class FinalState:
    """A ``PipelineTaskFinalStatus`` struct for one outcome of ``status`` (the task copy guarded by it)."""

    status: Status
    task: str
    """The IR task whose end state it reports."""
    complete: bool


@dataclass(frozen=True)
class Item:
    """The current item of a matrix dimension, optionally narrowed to a field of a JSON item."""

    dim: int
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class Gathered:
    """All iterations of a value inside a matrix loop, seen from outside it: an array at run time."""

    value: "Value"
    dim: int


@dataclass(frozen=True)
class Listed:
    """All iterations of a value inside an unrolled loop: one value per iteration."""

    items: tuple["Value | None", ...]


@dataclass(frozen=True)
class OneOf:
    """Outputs of mutually exclusive branches (``dsl.OneOf``): exactly one of them exists at run time."""

    options: tuple["Value", ...]


@dataclass(frozen=True)
class Claim:
    """The volume a ``CreatePVC`` task asks for: a workspace of the run."""

    workspace: str


Value = Union[Const, Text, Reference, PipelineParam, Output, Status, FinalState, Item, Gathered, Listed, OneOf, Claim]


def parts(value: Value | None) -> tuple[Value, ...]:
    """The values a composite value is made of (itself for a simple one)."""
    if isinstance(value, Gathered):
        return parts(value.value)
    if isinstance(value, Listed):
        return tuple(part for item in value.items for part in parts(item))
    if isinstance(value, OneOf):
        return tuple(part for option in value.options for part in parts(option))
    if isinstance(value, FinalState):
        return (value.status,)
    if isinstance(value, Reference):
        return tuple(piece for part in value.parts for piece in part.pieces if not isinstance(piece, str))
    return () if value is None else (value,)
