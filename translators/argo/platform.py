"""Kubernetes platform options (the IR's second document) as Argo template fields."""

from __future__ import annotations

from typing import Any, Callable

from driver.plan.model import Binding, Component, Plan


class PlatformFields:
    def __init__(self, plan: Plan, problem: Callable[..., None]) -> None:
        self.plan = plan
        self.problem = problem

    def workflow_fields(self) -> dict[str, Any]:
        return {}

    def apply(self, template: dict[str, Any], component: Component) -> None:
        return None

    def arguments(self, component: Component, resolve: Callable[[Binding], Any]) -> list[dict[str, str]]:
        return []
