"""``kfp-driver run --resume``: a real runner process is SIGKILLed mid-run, then the run is finished by a second
process that re-executes only the tasks that did not complete."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests import irbuild as ir
from tests.conftest import ROOT

CLI = "import sys; from driver.cli import main; sys.exit(main())"
DATASET = {"artifactType": {"schemaTitle": "system.Dataset", "schemaVersion": "0.0.1"}}


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", CLI, *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout)


def component(name: str, script: str, *, artifact_in: bool = False, artifact_out: bool = False) -> tuple[dict, dict]:
    """``sh -c SCRIPT`` with $0 = the ledger file, $1 = its output parameter file, $2 = the output artifact
    path (``artifact_out``), $3 = the input artifact path (``artifact_in``; not with ``artifact_out``)."""
    args = ["{{$.inputs.parameters['ledger']}}", "{{$.outputs.parameters['Output'].output_file}}"]
    body: dict[str, Any] = {"executorLabel": f"exec-{name}",
                            "inputDefinitions": {"parameters": {"ledger": {"parameterType": "STRING"}}},
                            "outputDefinitions": {"parameters": {"Output": {"parameterType": "STRING"}}}}
    if artifact_out:
        args.append("{{$.outputs.artifacts['data'].path}}")
        body["outputDefinitions"]["artifacts"] = {"data": DATASET}
    if artifact_in:
        args += ["-", "{{$.inputs.artifacts['data'].path}}"]  # no output artifact here: $2 is a filler
        body["inputDefinitions"]["artifacts"] = {"data": DATASET}
    return body, {"container": {"image": "alpine:3.20", "command": ["sh", "-c", script], "args": args}}


OUT = 'mkdir -p "$(dirname "$1")"; '


def pipeline(go: Path) -> dict[str, Any]:
    """a -> (b waits for the file ``go``, c) -> d; a's parameter and artifact flow to b and d."""
    components = {
        "a": component("a", OUT + 'echo a >> "$0"; mkdir -p "$(dirname "$2")"; printf payload > "$2"; '
                                  'printf from-a > "$1"', artifact_out=True),
        "b": component("b", OUT + f'echo b-start >> "$0"; while [ ! -e "{go}" ]; do sleep 0.05; done; '
                                  'echo b-done >> "$0"; printf "b:$(cat "$3")" > "$1"', artifact_in=True),
        "c": component("c", OUT + 'echo c >> "$0"; printf from-c > "$1"'),
        "d": component("d", OUT + 'echo d >> "$0"; printf "d:$(cat "$3")" > "$1"', artifact_in=True),
    }
    ledger = {"ledger": ir.parent("ledger")}
    data = {"data": {"taskOutputArtifact": {"producerTask": "a", "outputArtifactKey": "data"}}}
    tasks = {
        "a": ir.task("a", params=ledger),
        "b": {**ir.task("b", params=ledger, after=["a"]), "inputs": {"parameters": ledger, "artifacts": data}},
        "c": ir.task("c", params=ledger, after=["a"]),
        "d": {**ir.task("d", params=ledger, after=["b", "c"]), "inputs": {"parameters": ledger, "artifacts": data}},
    }
    return ir.pipeline("resumable", components, tasks, inputs={"ledger": {"parameterType": "STRING"}})


def succeeded(workdir: Path) -> set[str]:
    database = workdir / "records.db"
    if not database.exists():
        return set()
    try:
        connection = sqlite3.connect(database, timeout=5)
        try:
            return {row[0] for row in connection.execute("SELECT task_path FROM executions WHERE state = 'SUCCEEDED'")}
        finally:
            connection.close()
    except sqlite3.OperationalError:
        return set()


def wait_for(condition, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def interrupted_run(tmp_path: Path, stop: signal.Signals = signal.SIGKILL) -> tuple[Path, Path, Path]:
    """Start a run, send ``stop`` to the runner once a and c completed and b is running; (workdir, ledger, go)."""
    workdir, ledger, go = tmp_path / "work", tmp_path / "ledger", tmp_path / "go"
    spec = ir.write(pipeline(go), tmp_path / "pipeline.yaml")
    runner = subprocess.Popen([sys.executable, "-c", CLI, "run", str(spec), "--workdir", str(workdir), "--quiet",
                               "--no-cache", "--param", f"ledger={ledger}"],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: {"a", "c"} <= succeeded(workdir) and "b-start" in _read(ledger), "a and c to complete")
    finally:
        runner.send_signal(stop)
        code = runner.wait(timeout=60)
    assert code == (-stop if stop == signal.SIGKILL else 130)
    return workdir, ledger, go


def _read(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def _orphans(run_id: str) -> list[Path]:
    """Launcher processes of the run that are still alive (not zombies)."""
    alive = []
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            zombie = ") Z " in (proc / "stat").read_text()
        except OSError:
            continue
        if b"--run-id" in argv and run_id.encode() in argv and not zombie:
            alive.append(proc)
    return alive


@pytest.mark.parametrize("stop, state", [(signal.SIGKILL, "RUNNING"), (signal.SIGINT, "CANCELLED")])
def test_interrupted_run_resumes_running_only_what_did_not_complete(tmp_path: Path, stop: signal.Signals,
                                                                    state: str) -> None:
    workdir, ledger, go = interrupted_run(tmp_path, stop)
    [run_dir] = (workdir / "runs").iterdir()
    assert json.loads((run_dir / "run.json").read_text())["state"] == state
    wait_for(lambda: not _orphans(run_dir.name), "the killed runner's tasks to stop", timeout=20)
    assert "b-done" not in _read(ledger)
    go.touch()
    result = cli("run", "--resume", str(workdir), "--json", "--metrics-file", str(tmp_path / "m.prom"))
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["state"] == "SUCCEEDED" and summary["run_id"] == run_dir.name
    assert summary["tasks"]["b"]["outputs"]["Output"] == "b:payload"
    assert summary["tasks"]["d"]["outputs"]["Output"] == "d:payload"
    assert sorted(_read(ledger).split()) == ["a", "b-done", "b-start", "b-start", "c", "d"]
    metrics = (tmp_path / "m.prom").read_text()
    assert 'kfp_run_tasks{pipeline="resumable",state="RESUMED"} 2' in metrics
    assert 'kfp_task_retries_total{pipeline="resumable",task="b",component="comp-b"} 0' in metrics
    assert 'task="a"' not in metrics.split("kfp_task_duration_seconds", 1)[1]
    assert json.loads((run_dir / "run.json").read_text())["state"] == "SUCCEEDED"
    again = cli("run", "--resume", str(workdir), run_dir.name)
    assert again.returncode == 2 and "already succeeded" in again.stderr


def test_a_completed_task_whose_output_is_gone_runs_again(tmp_path: Path) -> None:
    workdir, ledger, go = interrupted_run(tmp_path)
    [run_dir] = (workdir / "runs").iterdir()
    wait_for(lambda: not _orphans(run_dir.name), "the killed runner's tasks to stop", timeout=20)
    [artifact] = (workdir / "artifacts" / run_dir.name / "a").iterdir()
    artifact.unlink()
    go.touch()
    result = cli("run", "--resume", str(workdir), run_dir.name, "--json")
    assert result.returncode == 0, result.stderr
    assert "a: running again: output" in result.stderr and "is gone" in result.stderr
    assert _read(ledger).split().count("a") == 2 and _read(ledger).split().count("c") == 1
    assert json.loads(result.stdout)["tasks"]["d"]["outputs"]["Output"] == "d:payload"


def test_resume_refuses_what_it_cannot_resume(tmp_path: Path) -> None:
    empty = cli("run", "--resume", str(tmp_path / "nothing"))
    assert empty.returncode == 2 and "no interrupted or failed run to resume" in empty.stderr
    mixed = cli("run", "x.yaml", "--resume", str(tmp_path))
    assert mixed.returncode == 2 and "--resume reruns the run as it was started" in mixed.stderr
    unknown = cli("run", "--resume", str(tmp_path), "no-such-run")
    assert unknown.returncode == 2 and "no run 'no-such-run'" in unknown.stderr
