"""Golden files for the representative pipelines (rewrite with ``pytest --update-goldens``).

A case Tekton cannot express keeps its refusal as the golden: ``refused:`` with one line per problem.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
import yaml

from driver.output import render
from driver.errors import KfpDriverError
from driver.plan import load_plan
from tests.conftest import CORPUS, GOLDEN
from tests.golden.cases import GOLDEN_CASES, GOLDEN_PARAMETERS
from translators.options import CompileOptions
from translators.tekton import compile_pipeline_run

GOLDEN_OPTIONS = CompileOptions(pipeline_root="s3://kfp-artifacts/root", launcher_image="kfp-driver/launcher:test")


@pytest.mark.parametrize("case", sorted(GOLDEN_CASES))
def test_tekton_golden(case: str, update_goldens: bool) -> None:
    try:
        manifest = compile_pipeline_run(load_plan(CORPUS / GOLDEN_CASES[case]),
                              replace(GOLDEN_OPTIONS, parameters=GOLDEN_PARAMETERS.get(case, {})))
    except KfpDriverError as exc:
        manifest = {"refused": str(exc).splitlines()}
    golden = GOLDEN / "tekton" / f"{case}.yaml"
    text = render(manifest, "yaml")
    if update_goldens:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text)
        return
    assert golden.exists(), f"{golden} is missing; run pytest --update-goldens once and review it"
    assert yaml.safe_load(text) == yaml.safe_load(golden.read_text()), \
        f"{case}: output differs from {golden.name}; review the change, then run pytest --update-goldens"
