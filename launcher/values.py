"""Typed parameter values and their raw text on engine channels (docs/task-spec.md, "Raw parameter values").

A ``STRING`` travels verbatim; every other type as compact JSON. Decoding is lenient where KFP is: an
integer written as ``3.0``, Python-style ``True``/``False``, surrounding whitespace around non-strings
(``echo 42`` writes ``42\\n``).
"""

from __future__ import annotations

import json
from typing import Any

STRING = "STRING"
INTEGER = "NUMBER_INTEGER"
DOUBLE = "NUMBER_DOUBLE"
BOOLEAN = "BOOLEAN"
LIST = "LIST"
STRUCT = "STRUCT"
FINAL_STATUS = "TASK_FINAL_STATUS"
TYPES = (STRING, INTEGER, DOUBLE, BOOLEAN, LIST, STRUCT, FINAL_STATUS)

_WORDS = {STRING: "string", INTEGER: "integer", DOUBLE: "number", BOOLEAN: "boolean (true/false)",
          LIST: "JSON list", STRUCT: "JSON object", FINAL_STATUS: "task final status (JSON object)"}


class TypeMismatch(ValueError):
    """A value that does not fit its declared type."""


def decode(text: str, kind: str) -> Any:
    """Engine text -> typed value."""
    if kind == STRING:
        return text
    stripped = text.strip()
    if kind == BOOLEAN and stripped in ("True", "False"):
        return stripped == "True"
    try:
        value = json.loads(stripped)
    except ValueError:
        raise TypeMismatch(f"{_short(text)} is not a valid {_WORDS[kind]}") from None
    return check(value, kind)


def check(value: Any, kind: str) -> Any:
    """``value`` coerced to ``kind`` where KFP allows it (3.0 -> 3 for an integer), else ``TypeMismatch``."""
    if kind == STRING and isinstance(value, str):
        return value
    if kind == INTEGER and not isinstance(value, bool):
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    if kind == DOUBLE and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if kind == BOOLEAN and isinstance(value, bool):
        return value
    if kind == LIST and isinstance(value, list):
        return value
    if kind in (STRUCT, FINAL_STATUS) and isinstance(value, dict):
        return value
    raise TypeMismatch(f"{_short(json.dumps(value))} is not a valid {_WORDS.get(kind, kind)}")


def encode(value: Any, kind: str) -> str:
    """Typed value -> engine text (the inverse of ``decode``; an integer stays ``3``, never ``3.0``)."""
    if kind == STRING and isinstance(value, str):
        return value
    value = check(value, kind)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _short(text: str) -> str:
    return repr(text if len(text) <= 80 else text[:77] + "...")
