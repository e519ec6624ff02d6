"""Rendering a lint report: one line per finding and a summary, or one JSON document for CI."""

from __future__ import annotations

import json

from driver.errors import KfpDriverError, ProblemList
from driver.lint.model import Finding, LintReport, Severity


def ordered(report: LintReport) -> list[Finding]:
    """Findings by file (command-line order), then line, then rule."""
    rank = {file: i for i, file in enumerate(report.files)}
    return sorted(report.findings, key=lambda f: (rank.get(f.file, len(rank)), f.line or 0, f.rule, f.message))


def human(report: LintReport) -> str:
    lines = []
    for finding in ordered(report):
        where = f"{finding.file}:{finding.line}" if finding.line else finding.file
        lines.append(f"{where}: {finding.severity.value} [{finding.rule}] {finding.message} (fix: {finding.fix})")
    lines.append(summary(report))
    return "\n".join(lines) + "\n"


def summary(report: LintReport) -> str:
    files = f"{len(report.files)} file{'s' if len(report.files) != 1 else ''}"
    errors, warnings = report.count(Severity.ERROR), report.count(Severity.WARNING)
    parts = [f"{errors} error{'s' if errors != 1 else ''}", f"{warnings} warning{'s' if warnings != 1 else ''}"]
    if report.input_errors:
        parts.append(f"{len(report.input_errors)} file{'s' if len(report.input_errors) != 1 else ''} not loaded")
    rules = ", ".join(f"{rule} {count}" for rule, count in report.by_rule().items())
    return f"lint: {files}: {', '.join(parts)}" + (f" ({rules})" if rules else "")


def as_json(report: LintReport) -> str:
    document = {
        "files": report.files,
        "findings": [f.to_json() for f in ordered(report)],
        "input_errors": [_problem(p) for error in report.input_errors for p in _problems(error)],
        "summary": {"errors": report.count(Severity.ERROR), "warnings": report.count(Severity.WARNING),
                    "by_rule": report.by_rule()},
    }
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


def _problems(error: KfpDriverError) -> list[KfpDriverError]:
    return error.problems if isinstance(error, ProblemList) else [error]


def _problem(error: KfpDriverError) -> dict[str, object]:
    where = error.location
    return {"file": where.file, "line": where.line, "path": where.ir_path, "message": error.message,
            "fix": error.hint}
