"""Shared test fixtures: where the conformance corpus is, and the golden-file switch."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "conformance"
CORPUS = SHARED / "kfp-ir"
INVALID = SHARED / "kfp-ir-invalid"
UPSTREAM_ARGO = SHARED / "upstream-argo"
GOLDEN = Path(__file__).resolve().parent / "golden"


def corpus_files() -> list[Path]:
    """Every IR file of the shared corpus (152), sorted."""
    return sorted(p for p in CORPUS.iterdir() if p.suffix in (".yaml", ".json"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-goldens", action="store_true",
                     help="rewrite tests/golden/** from the current output instead of comparing")


@pytest.fixture
def update_goldens(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-goldens") or os.environ.get("KFP_DRIVER_UPDATE_GOLDENS"))
