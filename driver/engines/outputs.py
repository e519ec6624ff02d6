"""Task outputs as an engine hands them back, decoded for the run summary (shared by every engine).

Values on both engines' channels are tag-escaped by the launcher (``launcher.wire``): decoded here.
"""

from __future__ import annotations

import json
from typing import Any

from driver.local.model import ArtifactRef
from driver.plan.model import ParamType
from driver.plan.values import TypeMismatch, decode_value
from launcher.wire import unescape_text, unescape_tree


def decode_parameter(text: str, kind: ParamType) -> Any:
    """A value the launcher wrote, by its declared type; anything else is reported as it came."""
    try:
        return unescape_text(text) if kind == ParamType.STRING else unescape_tree(decode_value(text, kind))
    except TypeMismatch:
        return text


def decode_item(text: str) -> Any:
    """An element of a gathered loop output (a string of an array result): JSON if it parses, else text."""
    text = unescape_text(text)
    try:
        return unescape_tree(json.loads(text))
    except json.JSONDecodeError:
        return text


def decode_artifacts(data: Any) -> Any:
    """Artifact reference(s) from parsed JSON; list elements may be JSON text themselves."""
    data = unescape_tree(data)
    if isinstance(data, list):
        return [ArtifactRef.from_json(json.loads(d) if isinstance(d, str) and d.startswith("{") else d) for d in data]
    return ArtifactRef.from_json(data)
