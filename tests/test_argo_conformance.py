"""Every corpus pipeline compiles to an Argo Workflow that passes the strict schema and hera's model."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from driver.plan import load_plan
from tests.conftest import ROOT, corpus_files
from translators.argo import compile_workflow
from translators.options import CompileOptions

SCHEMA = ROOT / "schemas" / "argo-workflow.strict.json"


@lru_cache(maxsize=1)
def validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA.read_text())
    return jsonschema.Draft202012Validator(schema)


def compile_file(path: Path, **options: Any) -> dict[str, Any]:
    return compile_workflow(load_plan(path), CompileOptions(**options))


def schema_errors(manifest: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in validator().iter_errors(manifest)]


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.name)
def test_corpus_compiles_and_validates(path: Path) -> None:
    from hera.workflows.models import Workflow

    manifest = compile_file(path)
    assert schema_errors(manifest) == []
    Workflow.model_validate(manifest)
    assert manifest["kind"] == "Workflow"


def test_strict_schema_rejects_a_misspelt_field() -> None:
    manifest = compile_file(corpus_files()[0])
    manifest["spec"]["templates"][0]["containr"] = {}
    assert schema_errors(manifest)


def test_workflow_template_option() -> None:
    manifest = compile_file(Path(corpus_files()[0]), workflow_template=True)
    assert manifest["kind"] == "WorkflowTemplate"
    assert "name" in manifest["metadata"] and "generateName" not in manifest["metadata"]
    assert schema_errors(manifest) == []
