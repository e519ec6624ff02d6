"""Running a plan on an engine's real controller code (issue 9): ``kfp-driver run --engine argo|tekton``.

Each engine module (``driver/engines/<engine>.py``) exposes
``run_plan(plan, parameters, options: RunOptions) -> RunResult``: it compiles the plan with the real
translator, executes the manifest through the engine's harness under ``hack/``, and maps engine nodes
back to IR task paths, so the result follows the same ``--json`` contract as the local runner.
"""

from __future__ import annotations

import importlib
from typing import Any

from driver.local.model import RunOptions, RunResult
from driver.plan.model import Plan

ENGINES = ("local", "argo", "tekton")


def run_on_engine(engine: str, plan: Plan, parameters: dict[str, Any], options: RunOptions) -> RunResult:
    module = importlib.import_module(f"driver.engines.{engine}")
    return module.run_plan(plan, parameters, options)
