"""Lint files: each is an IR (rules from the registry) or a generated manifest (schema, then the engine)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

from driver.checks import check_ir
from driver.errors import InputError, KfpDriverError, Location
from driver.ir import STDIN, IRDocument, load_ir
from driver.lint.context import IRContext
from driver.lint.engine import engine_findings
from driver.lint.manifest import Manifest, family_of, schema_findings
from driver.lint.model import LintOptions, LintReport
from driver.lint.registry import lint_ir
from driver.plan.build import build_plan

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_ENGINE_GROUP = re.compile(r"(argoproj\.io|tekton\.dev)/")


def lint_paths(sources: list[str], options: LintOptions) -> LintReport:
    """Lint every file; unreadable or invalid ones become ``input_errors``, never an exception."""
    report = LintReport(files=[STDIN if s == "-" else s for s in sources])
    manifests: dict[str, list[Manifest]] = {}
    for source in sources:
        try:
            loaded = load(source)
            if isinstance(loaded, Manifest):
                report.findings.extend(schema_findings(loaded))
                manifests.setdefault(loaded.family, []).append(loaded)
            else:
                report.findings.extend(lint_ir(IRContext(loaded, build_plan(loaded), options)))
        except KfpDriverError as error:
            report.input_errors.append(error)
    for family, items in manifests.items():
        command = (options.validators or {}).get(family)
        report.findings.extend(engine_findings(family, items, command))
    return report


def load(source: str) -> IRDocument | Manifest:
    """A manifest when the file holds Argo or Tekton objects, else a checked IR document."""
    file = STDIN if source == "-" else source
    text = _text(file)
    if text is not None and _ENGINE_GROUP.search(text):
        try:
            documents = list(yaml.load_all(text, Loader=_Loader))
        except yaml.YAMLError:
            documents = []
        family = family_of(documents)
        if family is not None:
            return Manifest(file, text, family, documents)
    # A file is read again by load_ir, which recognises archives and images and says why it cannot load.
    doc = load_ir(file, text=text if file == STDIN else None)
    check_ir(doc)
    return doc


def _text(file: str) -> str | None:
    """The file's text, or None when it cannot be read as UTF-8 (``load_ir`` then says why)."""
    if file == STDIN:
        data = sys.stdin.buffer.read()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = "\x00"
        if "\x00" in text:
            raise InputError("binary content, not UTF-8 text; pass a pipeline or a manifest", location=Location(file))
        return text
    try:
        return Path(file).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None
