"""Generated manifests (Argo Workflow/WorkflowTemplate, Tekton PipelineRun/Pipeline): recognise them and
check every document against the project's strict JSON Schema for its kind."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema

from driver.errors import InputError, Location, join_path
from driver.ir import DocumentLayout, IRDocument
from driver.lint.model import Finding, Severity

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
FAMILIES = {"argoproj.io": "argo", "tekton.dev": "tekton"}
KINDS = {
    "argo": {"Workflow": "io.argoproj.workflow.v1alpha1.Workflow",
             "WorkflowTemplate": "io.argoproj.workflow.v1alpha1.WorkflowTemplate"},
    "tekton": {"PipelineRun": "v1.PipelineRun", "Pipeline": "v1.Pipeline"},
}
_SCHEMA_FILES = {"argo": "argo-workflow.strict.json", "tekton": "tekton-v1.strict.json"}
API_VERSIONS = {"argo": "argoproj.io/v1alpha1", "tekton": "tekton.dev/v1"}
SCHEMA_FIX = "make the field match the engine's API (if kfp-driver wrote this manifest unchanged, report a bug)"


@dataclass
class Manifest:
    """A manifest file: its text (for the engine validator and line numbers) and its documents."""

    file: str
    text: str
    family: str
    documents: list[Any]
    _locator: IRDocument | None = field(default=None, repr=False)

    def line(self, index: int, path: str = "") -> int | None:
        """The line of ``path`` (``spec.templates[0]``) in document ``index`` (the YAML is composed once)."""
        if self._locator is None:
            self._locator = IRDocument(self.file, {}, None, self.text)
        self._locator.layout = DocumentLayout(spec=(index, ()))
        return self._locator.location(path).line


def family_of(documents: list[Any]) -> str | None:
    """'argo' or 'tekton' when the documents are engine objects (or a Kubernetes List of them), else None."""
    for document in documents:
        if not isinstance(document, dict):
            continue
        if document.get("kind") == "List" and isinstance(document.get("items"), list):
            return family_of(document["items"])
        group = str(document.get("apiVersion", "")).split("/", 1)[0]
        if group in FAMILIES:
            return FAMILIES[group]
    return None


def schema_findings(manifest: Manifest) -> list[Finding]:
    """One finding per schema violation, in every document (a ``List`` is checked item by item)."""
    findings = []
    for index, document in enumerate(manifest.documents):
        if document is None:
            continue  # an empty YAML document (a stray '---')
        items = document.get("items") if isinstance(document, dict) and document.get("kind") == "List" else None
        entries = [(f"items[{i}]", item) for i, item in enumerate(items)] if isinstance(items, list) \
            else [("", document)]
        for prefix, entry in entries:
            for path, message in _violations(manifest, index, prefix, entry):
                findings.append(Finding(Severity.ERROR, "schema", manifest.file, f"{path or 'document'}: {message}",
                                        SCHEMA_FIX, line=manifest.line(index, path), ir_path=path))
    return findings


def _violations(manifest: Manifest, index: int, prefix: str, document: Any) -> list[tuple[str, str]]:
    kind = document.get("kind") if isinstance(document, dict) else None
    definition = KINDS[manifest.family].get(kind) if isinstance(kind, str) else None
    if definition is None:
        what = f"a {kind}" if isinstance(kind, str) else "not a Kubernetes object"
        raise InputError(f"document {index + 1} is {what}; lint checks {', '.join(KINDS[manifest.family])}",
                         location=Location(manifest.file, manifest.line(index, prefix)))
    found = []
    for error in _validator(manifest.family, definition).iter_errors(document):
        path = prefix
        for part in error.absolute_path:
            path = join_path(path, part)
        message = error.message if len(error.message) <= 200 else error.message[:197] + "..."
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            for extra in sorted(set(error.instance) - set(error.schema.get("properties", {}))):
                found.append((join_path(path, extra), f"unknown field '{extra}'"))
            continue
        found.append((path, message))
    return sorted(found)


@lru_cache(maxsize=None)
def _validator(family: str, definition: str) -> jsonschema.protocols.Validator:
    schema = json.loads((SCHEMAS / _SCHEMA_FILES[family]).read_text())
    api_version = {"properties": {"apiVersion": {"const": API_VERSIONS[family]}}, "required": ["apiVersion"]}
    return jsonschema.Draft202012Validator({"allOf": [{"$ref": f"#/definitions/{definition}"}, api_version],
                                            "definitions": schema["definitions"]})
