"""Task states and durations of a local run, read from what ``kfp-driver run --workdir W`` leaves behind.

The launcher writes one row per attempt into ``W/records.db`` (table ``executions``, see
``launcher/records.py``); runs live in ``W/runs/<run id>/``. Tasks without a record did not run (skipped
by a condition, or never reached).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

import networkx as nx

from driver.debug.tekton_map import ir_path
from driver.errors import UsageError

SUCCEEDED, FAILED, CACHED, NOT_RUN = "succeeded", "failed", "cached", "not run"


@dataclass(frozen=True)
class TaskRun:
    """The last attempt of one task instance (a loop iteration has its own ``path[i]``)."""

    path: str
    state: str
    started: float
    finished: float
    attempts: int


@dataclass(frozen=True)
class RunRecords:
    run_id: str
    run_dir: Path
    tasks: dict[str, list[TaskRun]]
    """IR task path (iteration indices dropped) -> its instances."""


def find_run_dir(workdir: Path) -> Path:
    """``workdir`` itself when it is one run's directory, else its newest run."""
    if workdir.parent.name == "runs" and workdir.is_dir():
        return workdir
    runs = [p for p in (workdir / "runs").iterdir() if p.is_dir()] if (workdir / "runs").is_dir() else []
    if not runs:
        raise UsageError(f"{workdir}: no local run here",
                         hint="pass the directory given to `kfp-driver run --workdir` (or one of its runs/<id>)")
    return max(runs, key=lambda p: p.stat().st_mtime)


def load_run(workdir: Path) -> RunRecords:
    run_dir = find_run_dir(workdir)
    database = run_dir.parent.parent / "records.db"
    if not database.is_file():
        raise UsageError(f"{database}: no execution records", hint="was this run made by `kfp-driver run`?")
    try:
        connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        try:
            rows = connection.execute(
                "SELECT task_path, attempt, state, cache_hit, started_at, finished_at FROM executions"
                " WHERE run_id = ? ORDER BY task_path, attempt", (run_dir.name,)).fetchall()
        finally:
            connection.close()
    except sqlite3.Error as error:
        raise UsageError(f"{database}: cannot read execution records ({error})") from None
    latest: dict[str, TaskRun] = {}
    for path, attempt, state, cache_hit, started, finished in rows:
        first = latest.get(path)
        kind = CACHED if cache_hit and state == "SUCCEEDED" else SUCCEEDED if state == "SUCCEEDED" else FAILED
        latest[path] = TaskRun(path, kind, first.started if first else started or 0.0, finished or started or 0.0,
                               attempt)
    tasks: dict[str, list[TaskRun]] = {}
    for run in latest.values():
        tasks.setdefault(ir_path(run.path), []).append(run)
    return RunRecords(run_dir.name, run_dir, tasks)


def summarize(runs: list[TaskRun]) -> tuple[str, float]:
    """(state, wall-clock seconds) of the task instances behind one drawn node."""
    if not runs:
        return NOT_RUN, 0.0
    states = {run.state for run in runs}
    state = FAILED if FAILED in states else CACHED if states == {CACHED} else SUCCEEDED
    return state, max(run.finished for run in runs) - min(run.started for run in runs)


def apply_run(graph: nx.DiGraph, records: RunRecords) -> None:
    """Give every node of a ``build_graph`` graph a ``state`` and a label line with state and duration."""
    for _, data in graph.nodes(data=True):
        prefixes = tuple(f"{path}/" for path in data["paths"])
        runs = [run for path, instances in records.tasks.items()
                if path in data["paths"] or path.startswith(prefixes) for run in instances]
        state, seconds = summarize(runs)
        data["state"] = state
        data["label"] = [*data["label"], state if state == NOT_RUN else f"{state} {_duration(seconds)}"]
    graph.graph["title"] = f"{graph.graph.get('title', '')} (run {records.run_id})"


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes}m{rest:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"
