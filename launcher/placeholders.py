"""Expand the compiler's parsed placeholders (docs/task-spec.md) into argv entries, in one pass.

Values are inserted as data: nothing is re-scanned after substitution, so a value containing ``{{$}}``,
quotes or ``$(...)`` arrives byte-for-byte.
"""

from __future__ import annotations

from typing import Any, Iterable, Protocol

from launcher.errors import SpecError


class Values(Protocol):
    def present(self, name: str) -> bool:
        """Whether input ``name`` (parameter or artifact) has a value."""

    def value(self, token: dict[str, Any]) -> str:
        """The text for one placeholder object ``{"ph": KIND, "name": NAME}``."""


def expand(args: Iterable[Any], values: Values) -> list[str]:
    """ARG tokens -> argv entries."""
    result: list[str] = []
    for arg in args:
        result.extend(_arg(arg, values))
    return result


def references(args: Iterable[Any]) -> set[tuple[str, str]]:
    """Every ``(kind, name)`` the tokens refer to, in any branch."""
    found: set[tuple[str, str]] = set()
    for arg in args:
        if isinstance(arg, dict):
            if "ph" in arg:
                found.add((arg["ph"], arg.get("name", "")))
            for key in ("concat", "then", "else"):
                found |= references(arg.get(key) or [])
    return found


def _arg(arg: Any, values: Values) -> list[str]:
    if isinstance(arg, str):
        return [arg]
    if isinstance(arg, dict):
        if "ifPresent" in arg:
            branch = arg.get("then") if values.present(arg["ifPresent"]) else arg.get("else")
            return expand(branch or [], values)
        if "concat" in arg or "ph" in arg:
            return [_piece(arg, values)]
    raise SpecError(f"task spec: {arg!r} is not a valid argument token")


def _piece(piece: Any, values: Values) -> str:
    if isinstance(piece, str):
        return piece
    if isinstance(piece, dict):
        if "ph" in piece:
            return values.value(piece)
        if "concat" in piece:
            return "".join(_piece(p, values) for p in piece["concat"])
        if "ifPresent" in piece:
            return "".join(_arg(piece, values))
    raise SpecError(f"task spec: {piece!r} is not a valid placeholder piece")
