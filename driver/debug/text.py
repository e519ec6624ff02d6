"""Small text helpers shared by the human renderings: conditions in short form, cells, tables."""

from __future__ import annotations

import re

_REF = re.compile(r"inputs\.parameter_values\['((?:[^'\\]|\\.)*)'\]")
_CHANNEL = "pipelinechannel--"


def short_condition(text: str) -> str:
    """A KFP CEL condition with ``inputs.parameter_values['pipelinechannel--x']`` shortened to ``x``."""
    return _REF.sub(lambda m: m.group(1).removeprefix(_CHANNEL), text)


def cell(text: str, width: int) -> str:
    """One table cell: control characters made visible, cut to ``width`` with an ellipsis."""
    flat = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def table(header: list[str], rows: list[list[str]], widths: list[int]) -> str:
    """A plain aligned table; each column is as wide as its widest cell (at most its width)."""
    cells = [[cell(value, width) for value, width in zip(row, widths)] for row in [header, *rows]]
    sizes = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(value.ljust(size) for value, size in zip(row, sizes)).rstrip() for row in cells]
    return "\n".join(lines) + "\n"
