"""The one exception hierarchy for user-facing errors.

Every error renders as one line: ``<file>:<line>: <IR path>: <what is wrong> (<what to do>)``.
The CLI prints ``str(error)`` and exits with ``error.exit_code``; no traceback for these.
"""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_ONE_LINE = {code: f"\\u{code:04x}" for code in (*range(0x20), 0x7F, 0x2028, 0x2029)} | {0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t"}


@dataclass(frozen=True)
class Location:
    """Where a problem is: the file, optionally a line (and column), and the IR path inside the document."""

    file: str = ""
    line: int | None = None
    ir_path: str = ""
    column: int | None = None

    def __str__(self) -> str:
        parts = []
        if self.file:
            where = f"{self.file}:{self.line}" if self.line else self.file
            parts.append(f"{where}:{self.column}" if self.line and self.column else where)
        if self.ir_path:
            parts.append(self.ir_path)
        return ": ".join(parts)


class KfpDriverError(Exception):
    """Base class: a problem the user can fix. Exit code 2 unless a subclass says otherwise."""

    exit_code = 2

    def __init__(self, message: str, *, location: Location | None = None, hint: str = "") -> None:
        self.message = message
        self.location = location or Location()
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        where = str(self.location)
        text = f"{where}: {self.message}" if where else self.message
        text = f"{text} ({self.hint})" if self.hint else text
        return text.translate(_ONE_LINE)  # a name holding a newline must not split the line

    def in_source(self, source: str) -> "KfpDriverError":
        """This error, naming ``source`` as its file when it names none (e.g. a translator's refusal)."""
        if self.location.file:
            return self
        located = copy.copy(self)
        located.location = replace(self.location, file=source)
        return located


class InputError(KfpDriverError):
    """The input file cannot be read or is not a KFP pipeline at all."""


class IRError(KfpDriverError):
    """The IR is readable but structurally or semantically wrong."""


class UnsupportedFeature(KfpDriverError):
    """The IR uses a feature the chosen target cannot express."""


class UsageError(KfpDriverError):
    """Wrong command-line usage or option value."""


class RunFailed(KfpDriverError):
    """A pipeline run finished in a failed state."""

    exit_code = 1


class ProblemList(KfpDriverError):
    """Several problems found together; rendered one per line."""

    def __init__(self, problems: list[KfpDriverError]) -> None:
        self.problems = list(problems)
        exit_code = max((p.exit_code for p in self.problems), default=2)
        self.exit_code = exit_code
        super().__init__("\n".join(str(p) for p in self.problems))

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)

    def in_source(self, source: str) -> "KfpDriverError":
        return ProblemList([problem.in_source(source) for problem in self.problems])


def join_path(path: str, part: str | int, *, key: bool = False) -> str:
    """Extend an IR path by a field (``.name``), a list index (``[0]``) or a map key (``['name']``)."""
    if isinstance(part, int):
        return f"{path}[{part}]"
    if not key and _IDENTIFIER.match(part):
        return f"{path}.{part}" if path else part
    quoted = part.replace("\\", "\\\\").replace("'", "\\'")
    return f"{path}['{quoted}']"


def describe(value: object) -> str:
    """A value's JSON kind for messages: 'a string ('x')', 'a list', 'null', ..."""
    kinds = {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
             list: "a list", tuple: "a list", dict: "a mapping", type(None): "null"}
    kind = kinds.get(type(value), f"a {type(value).__name__}")
    if isinstance(value, (dict, list, tuple)) or value is None:
        return kind
    text = repr(value)
    return f"{kind} ({text if len(text) <= 40 else text[:37] + '...'})"


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """'did you mean 'x'?' for the valid name closest to ``name``, or '' if none is close."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""


def unknown_field_hint(name: str, valid: list[str], what: str = "fields") -> str:
    """'did you mean ...?' for a close valid name, else the list of valid names."""
    if not valid:
        return f"no {what} are allowed here"
    return did_you_mean(name, valid) or f"valid {what}: " + ", ".join(valid)


def raise_if_any(problems: list[KfpDriverError]) -> None:
    """Raise the single problem, or a ProblemList, if there are any."""
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise ProblemList(problems)


def report(error: KfpDriverError) -> None:
    """Print every problem on its own stderr line, each starting with the program name."""
    import sys

    for line in str(error).splitlines():
        print(f"kfp-driver: {line}", file=sys.stderr)
