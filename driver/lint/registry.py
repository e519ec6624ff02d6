"""The IR rule registry: each rule family module registers its checks with ``@rule``."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from driver.lint.context import IRContext
from driver.lint.model import Finding, Severity


@dataclass(frozen=True)
class Hit:
    """What a check found; the registry adds the rule id, severity, file and line."""

    message: str
    fix: str
    ir_path: str = ""
    task: str = ""


Check = Callable[[IRContext], Iterable[Hit]]


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    summary: str
    check: Check


RULES: dict[str, Rule] = {}


def rule(rule_id: str, severity: Severity, summary: str) -> Callable[[Check], Check]:
    """Register ``check`` under ``rule_id``."""

    def register(check: Check) -> Check:
        if rule_id in RULES:
            raise ValueError(f"lint rule {rule_id!r} registered twice")
        RULES[rule_id] = Rule(rule_id, severity, summary, check)
        return check

    return register


def ir_rules() -> list[Rule]:
    """Every registered IR rule, in registration order."""
    importlib.import_module("driver.lint.rules")  # importing the families registers them

    return list(RULES.values())


def lint_ir(ctx: IRContext) -> list[Finding]:
    """Run every IR rule over one loaded pipeline."""
    findings = []
    for each in ir_rules():
        for hit in each.check(ctx):
            line = ctx.doc.location(hit.ir_path).line if hit.ir_path else None
            findings.append(Finding(each.severity, each.id, ctx.doc.file, hit.message, hit.fix, line=line,
                                    task=hit.task, ir_path=hit.ir_path))
    return findings
