"""The engine-neutral plan: ``load_plan(path)`` reads, checks and models a KFP IR file.

Importing ``driver.plan.model`` stays cheap (the CLI's start-up): loading and building are imported
when a plan is actually loaded.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from driver.plan.model import Plan


def load_plan(source: str | os.PathLike | None, *, text: str | None = None) -> "Plan":
    """Load IR from a file (``-``/None: stdin), check it, and build its plan."""
    from driver.checks import check_ir
    from driver.ir import load_ir
    from driver.plan.build import build_plan

    doc = load_ir(source, text=text)
    check_ir(doc)
    return build_plan(doc)


__all__ = ["load_plan"]
