"""The engines' own validation (hack/validate-argo, hack/validate-tekton: Go programs built on first use).

Each prints one JSON verdict per document, ``{"file","index","kind","name","ok","errors"}``, and exits
0 (all valid), 1 (some invalid), 2 (unreadable input) or 3 (Go is missing). All files of one family go
to one process.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from driver.ir import STDIN
from driver.lint.manifest import Manifest
from driver.lint.model import Finding, Severity

HACK = Path(__file__).resolve().parents[2] / "hack"
GO_MISSING = 3
NAMES = {"argo": "Argo", "tekton": "Tekton"}


def default_command(family: str) -> list[str]:
    return [str(HACK / f"validate-{family}")]


def engine_findings(family: str, manifests: list[Manifest], command: list[str] | None = None) -> list[Finding]:
    """Findings of the engine validator over ``manifests``; a warning per file when it cannot run."""
    command = command or default_command(family)
    stdin = next((m.text for m in manifests if m.file == STDIN), None)
    feed = {"input": stdin} if stdin is not None else {"stdin": subprocess.DEVNULL}
    by_file = {("-" if m.file == STDIN else m.file): m for m in manifests}
    try:
        done = subprocess.run([*command, *by_file], capture_output=True, text=True, check=False, **feed)
    except OSError as error:
        return _skipped(family, manifests, f"{command[0]} cannot run ({error.strerror or error})",
                        "lint from a checkout of kfp-driver, where hack/ holds the validators")
    verdicts = []
    for line in done.stdout.splitlines():
        try:
            verdict = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(verdict, dict):
            verdicts.append(verdict)
    if done.returncode == GO_MISSING or not verdicts:
        tail = " ".join(done.stderr.strip().splitlines()[-2:]) or f"exit code {done.returncode}"
        fix = ("install Go (https://go.dev/dl/) so the validator can be built, then lint again"
               if done.returncode == GO_MISSING else f"run {' '.join(command)} FILE to see why it fails")
        return _skipped(family, manifests, tail, fix)
    findings = []
    for verdict in verdicts:
        if verdict.get("ok"):
            continue
        manifest = by_file.get(str(verdict.get("file"))) or (manifests[0] if len(manifests) == 1 else None)
        index = int(verdict.get("index") or 0)
        file = manifest.file if manifest else str(verdict.get("file"))
        line = manifest.line(index) if manifest and index < len(manifest.documents) else None
        what = f"{verdict.get('kind', 'document')} '{verdict.get('name', '')}'"
        for error in verdict.get("errors") or ["rejected without a reason"]:
            findings.append(Finding(Severity.ERROR, "engine", file, f"{NAMES[family]} rejects {what}: {error}",
                                    "fix the manifest (or the translator that wrote it) as the message says",
                                    line=line))
    return findings


def _skipped(family: str, manifests: list[Manifest], reason: str, fix: str) -> list[Finding]:
    return [Finding(Severity.WARNING, "engine-skipped", m.file, f"{NAMES[family]}'s own validation was skipped: "
                    f"{reason}", fix) for m in manifests]
