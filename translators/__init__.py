"""Plan -> engine manifests. One package per target; shared naming and options live here."""

from __future__ import annotations

from typing import Any, Callable

from driver.plan.model import Plan
from translators.options import CompileOptions

TARGETS = ("argo", "tekton")


def compiler_for(target: str) -> Callable[[Plan, CompileOptions], dict[str, Any]]:
    """The compile function of ``target`` (imported lazily so one target never loads the other)."""
    if target == "argo":
        from translators.argo import compile_workflow

        return compile_workflow
    if target == "tekton":
        from translators.tekton import compile_pipeline_run

        return compile_pipeline_run
    raise ValueError(f"unknown target {target!r}; choose one of {', '.join(TARGETS)}")
