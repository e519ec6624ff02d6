"""The two ways into an arbitrary image (hack/build-launcher.py): the PyInstaller binary and the zipapp,
each running real components with a scrubbed environment (``env -i``, no virtualenv on PATH)."""

from __future__ import annotations

import glob
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.launcher.conftest import BUCKET, REPO, launcher_argv
from tests.launcher.test_container import ARTIFACT_SPEC, ECHO_SPEC, HOSTILE

pytestmark = pytest.mark.slow
SCRUBBED = ["env", "-i", "PATH=/usr/bin:/bin", "HOME=/nonexistent"]


def _build(kind: str) -> Path:
    result = subprocess.run([sys.executable, str(REPO / "hack" / "build-launcher.py"), f"--{kind}"],
                            capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        if kind == "binary" and "cannot install" in result.stderr:
            pytest.skip(f"PyInstaller cannot be installed here: {result.stderr.strip()[-300:]}")
        raise AssertionError(result.stderr)
    return Path(result.stdout.split()[-1])


@pytest.fixture(scope="module")
def binary() -> Path:
    return _build("binary")


@pytest.fixture(scope="module")
def zipapp() -> Path:
    return _build("zipapp")


def _interpreters() -> list[str]:
    """System Pythons without this project or its dependencies: the image's Python, and 3.9 if present."""
    found = [p for p in ["/usr/bin/python3"] if Path(p).exists()]
    found += sorted(glob.glob("/root/.pyenv/versions/3.9*/bin/python3.9"))[:1]
    return found


def _run(prefix: list[str], spec: dict, tmp: Path, extra: list[str] = (), env: dict[str, str] | None = None,
         root: str | None = None):
    argv = launcher_argv(spec, tmp, root=root, extra=list(extra))[3:]  # drop "python -m launcher"
    scrubbed = SCRUBBED + [f"{k}={v}" for k, v in (env or {}).items()]
    result = subprocess.run(scrubbed + prefix + argv, capture_output=True, text=True, timeout=120, cwd="/")
    return result, tmp / "outputs" / "run-1" / "task"


def test_binary_runs_a_component_without_python(binary, tmp_path):
    result, outputs = _run([str(binary)], ECHO_SPEC, tmp_path, ["--param", f"text={HOSTILE}"])
    assert result.returncode == 0, result.stderr
    assert (outputs / "parameters" / "same").read_text(encoding="utf-8") == HOSTILE


@pytest.mark.parametrize("python", _interpreters())
def test_zipapp_runs_a_component_with_any_python(zipapp, tmp_path, python):
    result, outputs = _run([python, str(zipapp)], ECHO_SPEC, tmp_path,
                           ["--param", f"text={HOSTILE}", "--records", f"sqlite:///{tmp_path}/r.db"])
    assert result.returncode == 0, result.stderr
    assert (outputs / "parameters" / "wrapped").read_text(encoding="utf-8") == f"<{HOSTILE}>"


@pytest.mark.s3
@pytest.mark.parametrize("kind", ["binary", "zipapp"])
def test_built_launchers_reach_s3(kind, request, s3, tmp_path):
    """The binary through obstore, the zipapp through its pure-Python client (the system Python has no obstore)."""
    built = request.getfixturevalue(kind)
    prefix = [str(built)] if kind == "binary" else ["/usr/bin/python3", str(built)]
    (tmp_path / "in" / "folder").mkdir(parents=True)
    (tmp_path / "in" / "data.txt").write_text("head\n")
    (tmp_path / "in" / "folder" / "part").write_text("tail\n")
    root = f"s3://{BUCKET}/built-{kind}-{tmp_path.name}"
    extra = ["--artifact", f"data={tmp_path}/in/data.txt", "--artifact", f"folder={tmp_path}/in/folder",
             "--records", f"{root}/records"]
    result, outputs = _run(prefix, ARTIFACT_SPEC, tmp_path, extra, env=s3.env(), root=root)
    assert result.returncode == 0, result.stderr
    joined = json.loads((outputs / "artifacts" / "joined").read_text())
    assert joined["uri"] == f"{root}/run-1/task/joined" and joined["size"] == 10
