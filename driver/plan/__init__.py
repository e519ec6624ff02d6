"""The engine-neutral plan: ``load_plan(path)`` reads, checks and models a KFP IR file."""

from __future__ import annotations

import os

from driver.plan.build import build_plan
from driver.plan.model import Plan


def load_plan(source: str | os.PathLike | None, *, text: str | None = None) -> Plan:
    """Load IR from a file (``-``/None: stdin), check it, and build its plan."""
    from driver.checks import check_ir
    from driver.ir import load_ir

    doc = load_ir(source, text=text)
    check_ir(doc)
    return build_plan(doc)


__all__ = ["Plan", "build_plan", "load_plan"]
