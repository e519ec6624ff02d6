"""What a run leaves in its directory so that ``run --resume`` can finish it.

``runs/<id>/run.json`` holds the run's settings and state, ``runs/<id>/pipeline.yaml`` a copy of the IR and
``parameters.json`` its parameter values; ``runner.lock`` is held (``flock``) while a runner works on it.
The tasks that completed are read from the execution records the launcher wrote (``WORKDIR/records.db``).
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO

from driver.errors import KfpDriverError, UsageError
from driver.local.model import ArtifactRef, RunOptions, State

RUNNING = "RUNNING"


@dataclass
class RunState:
    """``run.json``: enough to run the same pipeline again with the same settings."""

    run_id: str
    state: str = RUNNING
    parallelism: int = 0
    cache: bool = True
    pipeline_root: str = ""
    started_at: float = 0.0
    finished_at: float | None = None

    @classmethod
    def load(cls, run_dir: Path) -> "RunState":
        try:
            data = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
            return cls(**{key: data[key] for key in cls.__dataclass_fields__ if key in data})
        except (OSError, ValueError, TypeError) as error:
            raise UsageError(f"{run_dir}: not a resumable run ({error})") from None

    def save(self, run_dir: Path) -> None:
        staging = run_dir / ".run.json.tmp"
        staging.write_text(json.dumps(asdict(self), indent=1), encoding="utf-8")
        os.replace(staging, run_dir / "run.json")


def start_state(run_dir: Path, run_id: str, options: RunOptions, resumed: bool) -> RunState:
    """Mark the run as running (keeping its first start time when resumed)."""
    state = RunState.load(run_dir) if resumed else RunState(run_id, started_at=time.time())
    state.state, state.finished_at = RUNNING, None
    state.parallelism, state.cache, state.pipeline_root = options.parallelism, options.cache, options.pipeline_root
    state.save(run_dir)
    return state


def find_run(workdir: Path, run_id: str | None) -> Path:
    """The directory of ``run_id`` in ``workdir``; without one, the newest run that did not succeed."""
    runs = workdir / "runs"
    if run_id:
        run_dir = runs / run_id
        if not (run_dir / "run.json").is_file():
            raise UsageError(f"{workdir}: no run {run_id!r} to resume", hint=f"runs are under {runs}")
        state = RunState.load(run_dir)
        if state.state == State.SUCCEEDED.value:
            raise UsageError(f"run {run_id} already succeeded; nothing to resume")
        return run_dir
    candidates = []
    for state_file in runs.glob("*/run.json") if runs.is_dir() else []:
        state = RunState.load(state_file.parent)
        if state.state != State.SUCCEEDED.value:
            candidates.append((state.started_at, state_file.parent))
    if not candidates:
        raise UsageError(f"{workdir}: no interrupted or failed run to resume",
                         hint="pass the work directory a `kfp-driver run --workdir` used")
    return max(candidates)[1]


def lock_run(run_dir: Path) -> BinaryIO:
    """Hold the run's lock for as long as the returned file stays open; refuse if another runner has it."""
    handle = open(run_dir / "runner.lock", "a+b")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise UsageError(f"run {run_dir.name} is being run by another kfp-driver process",
                         hint="wait for it to end, or stop it first") from None
    return handle


def load_parameters(run_dir: Path, artifact_inputs: set[str]) -> dict[str, Any]:
    try:
        data = json.loads((run_dir / "parameters.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise UsageError(f"{run_dir}: the run's parameters are unreadable ({error})") from None
    return {name: ArtifactRef.from_json(value) if name in artifact_inputs else value for name, value in data.items()}


def completed_attempts(workdir: Path, run_id: str) -> dict[str, dict[str, Any]]:
    """Task path -> the outputs of its newest execution record, for the paths whose newest record succeeded."""
    database = workdir / "records.db"
    if not database.exists():
        return {}
    try:
        connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)
        try:
            rows = connection.execute("SELECT task_path, state, record FROM executions WHERE run_id = ? ORDER BY id",
                                      (run_id,)).fetchall()
        finally:
            connection.close()
    except sqlite3.Error as error:
        raise KfpDriverError(f"{database}: cannot read the execution records ({error})",
                             hint="resume needs them to know which tasks completed") from None
    newest = {path: (state, record) for path, state, record in rows}
    return {path: json.loads(record) for path, (state, record) in newest.items() if state == State.SUCCEEDED.value}


def reuse(component_outputs: Any, record: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The outputs a completed attempt recorded, as the runner passes them on, and "" — or ({}, why not)
    when an output the record names is missing (or has another size) in its store."""
    outputs: dict[str, Any] = dict(record["outputs"]["parameters"])
    missing = [name for name in component_outputs.parameters if name not in outputs]
    if missing:
        return {}, f"output parameter {missing[0]!r} is not in the record"
    for name, declared in component_outputs.artifacts.items():
        refs = record["outputs"]["artifacts"].get(name)
        if refs is None:
            return {}, f"output artifact {name!r} is not in the record"
        for ref in refs:
            problem = _check_content(ref)
            if problem:
                return {}, problem
        references = [ArtifactRef.from_json(ref) for ref in refs]
        outputs[name] = references if declared.is_list else references[0]
    return outputs, ""


def _check_content(ref: dict[str, Any]) -> str:
    if ref.get("size") is None:
        return ""  # metadata only: the task wrote no content
    from launcher.errors import LauncherError
    from launcher.retry import RetryCounter, RetryPolicy
    from launcher.stores import StoreConfig, Stores
    from launcher.stores.base import Transfers

    uri = ref["uri"]
    transfers = Transfers(RetryPolicy(attempts=3), RetryCounter(), lambda _: None)
    stores = Stores(StoreConfig.from_env(os.environ), transfers)
    try:
        stat = stores.for_uri(uri).stat(uri)
    except LauncherError as error:
        return f"output {uri} is gone ({error})"
    if stat.size != ref["size"]:
        return f"output {uri} changed size ({stat.size} bytes, recorded {ref['size']})"
    return ""
