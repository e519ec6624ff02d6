"""``kfp-driver run --runner docker``: commands run in their images through the docker CLI.

No container engine runs on CI machines, so these tests put ``tests/fakes/docker`` first on PATH: it runs
the command on the host but only sees what a container would (the ``--env`` names, paths under
``--volume``), so a missing mount or a leaked variable fails the run. Not tested here: a real engine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests import irbuild as ir
from tests.conftest import ROOT
from tests.test_local_runner import HOSTILE, echo_component

FAKES = ROOT / "tests" / "fakes"


def run_cli(spec: dict, tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    path = ir.write(spec, tmp_path / "pipeline.yaml")
    code = "import sys; from driver.cli import main; sys.exit(main())"
    full_env = {**os.environ, "PATH": f"{FAKES}{os.pathsep}{os.environ['PATH']}",
                "FAKE_DOCKER_LOG": str(tmp_path / "docker.log"), **env}
    return subprocess.run([sys.executable, "-c", code, "run", str(path), "--json", "--workdir", str(tmp_path / "w"),
                           *args], capture_output=True, text=True, cwd=ROOT, env=full_env, timeout=120)


def chain() -> dict:
    """first -> second, a parameter crossing from one image's command to the next."""
    return ir.pipeline("chain", {"echo": echo_component("echo")}, {
        "first": ir.task("echo", name="first", params={"text": ir.constant(HOSTILE)}),
        "second": ir.task("echo", name="second", params={"text": ir.output_of("first")}, after=["first"])})


def test_tasks_run_in_their_images(tmp_path: Path) -> None:
    result = run_cli(chain(), tmp_path, "--runner", "docker")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["tasks"]["second"]["outputs"]["Output"] == HOSTILE
    calls = [json.loads(line) for line in (tmp_path / "docker.log").read_text().splitlines()]
    runs = [call for call in calls if call[0] == "run"]
    assert len(runs) == 2 and all("alpine:3.20" in call for call in runs)
    assert calls[0][0] == "info"  # the daemon is checked once, before anything runs
    assert "images are not pulled" not in result.stderr


def test_unreachable_daemon_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = run_cli(chain(), tmp_path, "--runner", "docker", FAKE_DOCKER_DOWN="1")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "kfp-driver: --runner docker: no docker daemon reachable (Cannot connect to the Docker daemon at "
        "unix:///var/run/docker.sock. Is the docker daemon running?) (start it, or use --runner host)"]


def test_missing_cli_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = run_cli(chain(), tmp_path, "--runner", "podman", PATH="/usr/bin:/bin")
    assert result.returncode == 2 and "the podman command is not installed" in result.stderr
