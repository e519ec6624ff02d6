"""Golden files for the representative pipelines (rewrite with ``pytest --update-goldens``)."""

from __future__ import annotations

from dataclasses import replace

import pytest
import yaml

from driver.output import render
from driver.plan import load_plan
from tests.conftest import CORPUS, GOLDEN
from tests.golden.cases import GOLDEN_CASES, GOLDEN_PARAMETERS
from translators.argo import compile_workflow
from translators.options import CompileOptions

GOLDEN_OPTIONS = CompileOptions(pipeline_root="s3://kfp-artifacts/root", launcher_image="kfp-driver/launcher:test")


@pytest.mark.parametrize("case", sorted(GOLDEN_CASES))
def test_argo_golden(case: str, update_goldens: bool) -> None:
    manifest = compile_workflow(load_plan(CORPUS / GOLDEN_CASES[case]),
                      replace(GOLDEN_OPTIONS, parameters=GOLDEN_PARAMETERS.get(case, {})))
    golden = GOLDEN / "argo" / f"{case}.yaml"
    text = render(manifest, "yaml")
    if update_goldens:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text)
        return
    assert golden.exists(), f"{golden} is missing; run pytest --update-goldens once and review it"
    assert yaml.safe_load(text) == yaml.safe_load(golden.read_text()), \
        f"{case}: output differs from {golden.name}; review the change, then run pytest --update-goldens"
