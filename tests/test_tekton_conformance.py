"""Every corpus pipeline compiles to a Tekton PipelineRun that passes the strict v1 schema, or is refused with
one line per problem naming the IR task and the feature. The refusals are listed here with their reason."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from driver.errors import KfpDriverError
from driver.plan import load_plan
from tests.conftest import ROOT, corpus_files
from translators.options import CompileOptions
from translators.tekton import compile_pipeline_run

SCHEMA = ROOT / "schemas" / "tekton-v1.strict.json"
PROBLEM_LINE = re.compile(r"^(task '[^']+' \(.+\)|pipeline): .+")

REFUSED = {
    # a matrix cannot pair two per-iteration values, nor test one in a condition
    "collected_artifacts.yaml": "produced in the same iteration",
    "pipeline_with_loops_and_conditions.yaml": "changes between iterations",
    "parallel_and_nested__pipeline_with_loops.yaml": "whose items are STRUCT",
    # Tekton cannot limit a matrix's parallelism
    "pipeline_with_parallelfor_parallelism.yaml": "parallelism limit 2 over a list known only at run time",
    "pipeline_with_parallelfor_pipeline_param.yaml": "parallelism limit 1 over a list known only at run time",
    # finally tasks cannot depend on each other
    "pipeline_as_exit_task.yaml": "reads the outputs of an exit task",
    # quantities are typed fields: Tekton substitutes no run-time value into them
    "pipeline_with_string_machine_fields_task_output.yaml": "container resources read input",
}
FIXED = {
    # a CEL condition over it, or loop items a matrix cannot take, fix a parameter with a value into the run
    "artifacts_complex.yaml": "threshold",
    "conditional_producer_and_consumers.yaml": "threshold",
    "if_elif_else_complex.yaml": "trials",
    "pipeline_with_nested_loops.yaml": "loop_parameter",
    "pipeline_with_string_machine_fields_pipeline_input.yaml": "accelerator_limit,accelerator_type,cpu_limit,memory_limit",
}


@lru_cache(maxsize=1)
def validator() -> jsonschema.protocols.Validator:
    return jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))


def compile_file(path: Path, **options: Any) -> dict[str, Any]:
    return compile_pipeline_run(load_plan(path), CompileOptions(**options))


def schema_errors(manifest: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in validator().iter_errors(manifest)]


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.name)
def test_corpus_compiles_or_is_refused_by_name(path: Path) -> None:
    try:
        manifest = compile_file(path)
    except KfpDriverError as exc:
        assert path.name in REFUSED, str(exc)
        assert REFUSED[path.name] in str(exc)
        assert all(PROBLEM_LINE.match(line) for line in str(exc).splitlines()), str(exc)
        return
    assert path.name not in REFUSED
    assert manifest["metadata"]["annotations"].get("kfp-driver.io/fixed-parameters") == FIXED.get(path.name)
    assert manifest["kind"] == "PipelineRun"
    assert schema_errors(manifest) == []


def test_compile_rate() -> None:
    files = corpus_files()
    assert len(files) == 152
    assert (len(files) - len(REFUSED)) / len(files) >= 0.95


def test_strict_schema_rejects_a_misspelt_field() -> None:
    manifest = compile_file(corpus_files()[0])
    manifest["spec"]["pipelineSpec"]["tasks"][0]["taskSpec"]["stepz"] = []
    assert schema_errors(manifest)


def test_strict_schema_rejects_a_wrong_kind() -> None:
    manifest = compile_file(corpus_files()[0])
    manifest["kind"] = "Pipelinerun"
    assert schema_errors(manifest)


def test_separate_pipeline_option() -> None:
    manifest = compile_file(ROOT.parent / "shared/conformance/kfp-ir/critical__pipeline_with_secret_as_env.yaml",
                            separate_pipeline=True)
    assert schema_errors(manifest) == []
    assert manifest["apiVersion"] == "v1" and manifest["kind"] == "List"
    pipeline, run = manifest["items"]
    assert pipeline["kind"] == "Pipeline" and run["kind"] == "PipelineRun"
    assert run["spec"]["pipelineRef"] == {"name": pipeline["metadata"]["name"]}
    assert "pipelineSpec" not in run["spec"] and pipeline["spec"]["tasks"]
    assert "generateName" not in pipeline["metadata"] and run["metadata"]["generateName"]
