"""What lint reports: findings, the options that tune the rules, and the result of one run."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import Enum

from driver.errors import KfpDriverError


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    """One problem: which rule, where (file, line, IR task path, IR path) and the one-line fix."""

    severity: Severity
    rule: str
    file: str
    message: str
    fix: str
    line: int | None = None
    task: str = ""
    """IR task path (task names from the root joined by ``/``); empty when no task is involved."""
    ir_path: str = ""
    """Where in the document: an IR path, or a manifest path for manifest findings."""

    def to_json(self) -> dict[str, object]:
        return {"severity": self.severity.value, "rule": self.rule, "file": self.file, "line": self.line,
                "task": self.task, "path": self.ir_path, "message": self.message, "fix": self.fix}


DEFAULT_MAX_FANOUT = 256
"""Tekton's default ``max-matrix-combinations-count``: a larger ``matrix`` is rejected by Tekton, and on Argo
a loop this wide already starts hundreds of pods at once and adds hundreds of nodes to the workflow status."""


@dataclass(frozen=True)
class LintOptions:
    target: str = "argo"
    """Engine the IR will be compiled for: its translator must accept the IR, and its naming rules apply."""
    max_fanout: int = DEFAULT_MAX_FANOUT
    validators: dict[str, list[str]] | None = None
    """Engine validator command per manifest family (``argo``/``tekton``); None: hack/validate-<family>."""


@dataclass
class LintReport:
    """Findings of every linted file, and the files that could not be read or loaded."""

    files: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    input_errors: list[KfpDriverError] = field(default_factory=list)

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity is severity)

    def by_rule(self) -> dict[str, int]:
        return dict(sorted(Counter(f.rule for f in self.findings).items()))

    def exit_code(self, strict: bool) -> int:
        """2 for unreadable or invalid input, 1 for errors (or warnings under ``--strict``), else 0."""
        if self.input_errors:
            return 2
        if self.count(Severity.ERROR) or (strict and self.count(Severity.WARNING)):
            return 1
        return 0
