"""Typed parameter values and their text form on engine channels (docs/task-spec.md, "Raw values").

Engines carry strings: a STRING travels verbatim, every other type as JSON. Decoding is lenient where
KFP is (an integer written as ``3.0``, Python-style ``True``).
"""

from __future__ import annotations

import json
from typing import Any

from driver.plan.model import ParamType


class TypeMismatch(ValueError):
    """A value that does not fit its declared type."""


def encode_value(value: Any, kind: ParamType) -> str:
    """Typed value -> engine text."""
    if kind == ParamType.STRING and isinstance(value, str):
        return value
    if value is None:
        return ""
    if kind == ParamType.NUMBER_INTEGER and isinstance(value, float) and value.is_integer():
        value = int(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def decode_value(text: str, kind: ParamType) -> Any:
    """Engine text -> typed value; raises ``TypeMismatch`` naming the expected type."""
    if kind == ParamType.STRING:
        return text
    if kind == ParamType.BOOLEAN and text in ("True", "False"):
        return text == "True"
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        raise TypeMismatch(f"{text!r} is not a valid {_type_word(kind)}") from None
    return check_type(value, kind)


def check_type(value: Any, kind: ParamType) -> Any:
    """``value`` coerced to ``kind`` where KFP allows it (3.0 -> 3), else ``TypeMismatch``."""
    if kind == ParamType.STRING and isinstance(value, str):
        return value
    if kind == ParamType.NUMBER_INTEGER and not isinstance(value, bool):
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    if kind == ParamType.NUMBER_DOUBLE and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if kind == ParamType.BOOLEAN and isinstance(value, bool):
        return value
    if kind == ParamType.LIST and isinstance(value, list):
        return value
    if kind == ParamType.STRUCT and isinstance(value, dict):
        return value
    if kind == ParamType.TASK_FINAL_STATUS and isinstance(value, dict):
        return value
    raise TypeMismatch(f"{json.dumps(value)[:80]} is not a valid {_type_word(kind)}")


def _type_word(kind: ParamType) -> str:
    return {
        ParamType.STRING: "string",
        ParamType.NUMBER_INTEGER: "integer",
        ParamType.NUMBER_DOUBLE: "number",
        ParamType.BOOLEAN: "boolean (true/false)",
        ParamType.LIST: "JSON list",
        ParamType.STRUCT: "JSON object",
        ParamType.TASK_FINAL_STATUS: "task final status",
    }[kind]
