"""Tag-safe values for engines that re-substitute parameter text (Argo and Tekton: ``--escape-tags``).

Argo expands ``{{...}}`` found *inside* a parameter's value on each of its substitution passes, so a
value holding ``{{workflow.name}}`` or ``{{=expr}}`` would be rewritten (or executed) on its way to
the next task. With ``--escape-tags`` every string that holds ``{{`` (or starts with the marker
itself) travels as ``PREFIX + base64(utf-8)``: the whole text of a ``STRING`` value, and each string
leaf (and key) of a JSON value, so Argo can still parse lists for ``withParam`` and take ``{{item.k}}``.
Tekton substitutes ``$(...)`` found in values too, and the kubelet rewrites ``$(VAR)`` and ``$$`` in
container args, so those are escaped the same way (Tekton passes ``--escape-tags`` as well).
The compiler applies the same encoding to constants; the launcher decodes every input.
"""

from __future__ import annotations

import base64
import re
from typing import Any

MARKER = "kfp-driver:"
"""Texts starting with it are ours on the wire: natural values that do are escaped too."""
PREFIX = MARKER + "b64:"
ABSENT = MARKER + "absent"
"""An input the engine could not fill (its producer failed): the launcher treats it as not passed."""


KUBELET_REFERENCE = re.compile(r"\$\$|\$\([A-Za-z_][A-Za-z0-9_]*\)")
"""What the kubelet rewrites in container args: ``$$`` and ``$(VAR)``."""


def needs_escape(text: str) -> bool:
    """``{{`` (Argo's tags), ``$(`` (Tekton's variables, the kubelet's ``$(VAR)``), ``$$``, or our marker."""
    return "{{" in text or "$(" in text or "$$" in text or text.startswith(MARKER)


def escape_text(text: str) -> str:
    if not needs_escape(text):
        return text
    return PREFIX + base64.b64encode(text.encode("utf-8")).decode("ascii")


def unescape_text(text: str) -> str:
    if not text.startswith(PREFIX):
        return text
    try:
        return base64.b64decode(text[len(PREFIX):], validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return text  # not ours after all: leave the value as it came


def escape_tree(value: Any) -> Any:
    """Every string leaf and key of a JSON value escaped."""
    if isinstance(value, str):
        return escape_text(value)
    if isinstance(value, list):
        return [escape_tree(item) for item in value]
    if isinstance(value, dict):
        return {escape_text(key): escape_tree(item) for key, item in value.items()}
    return value


def unescape_tree(value: Any) -> Any:
    if isinstance(value, str):
        return unescape_text(value)
    if isinstance(value, list):
        return [unescape_tree(item) for item in value]
    if isinstance(value, dict):
        return {unescape_text(key): unescape_tree(item) for key, item in value.items()}
    return value
