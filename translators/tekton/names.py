"""Tekton's own identifier rules for parameter and result names (task names use ``translators.naming``)."""

from __future__ import annotations

import re
from collections.abc import Iterable

_PARAM_INVALID = re.compile(r"[^A-Za-z0-9_-]+")
_RESULT_INVALID = re.compile(r"[^A-Za-z0-9_-]+")


def param_name(text: str) -> str:
    """A valid Tekton parameter name (``^[_a-zA-Z][_a-zA-Z0-9-]*$``; no dots, which mean object keys)."""
    name = _PARAM_INVALID.sub("-", text) or "p"
    return name if name[0].isalpha() or name[0] == "_" else f"p-{name}"


def result_name(text: str) -> str:
    """A valid Tekton result name (alphanumeric at both ends, ``-`` and ``_`` inside)."""
    name = _RESULT_INVALID.sub("-", text).strip("-_")
    return name or "out"


class Names:
    """Unique names within one scope (a task's params, a task's results, the pipeline's params)."""

    def __init__(self, sanitize=param_name, taken: Iterable[str] = ()) -> None:
        self.sanitize = sanitize
        self.taken = set(taken)

    def claim(self, wish: str) -> str:
        base = self.sanitize(wish)
        name, counter = base, 1
        while name in self.taken:
            counter += 1
            name = f"{base}-{counter}"
        self.taken.add(name)
        return name
