"""A local run's SLIs as a Prometheus text file (``run --metrics-file``), the same names the Argo target emits.

Labels have bounded cardinality: the pipeline name, the IR task path with loop indices removed and the
component name; never a run id or an item value. Per-attempt figures (artifact bytes, upload success,
store retries) come from the execution records the launcher wrote for this run.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable

from driver.local.model import RunResult, State

_INDEX = re.compile(r"\[\d+\]")
Labels = tuple[tuple[str, str], ...]


class Family:
    """One metric family: its samples keyed by label set, summed."""

    def __init__(self, name: str, kind: str, help_text: str) -> None:
        self.name, self.kind, self.help = name, kind, help_text
        self.samples: dict[tuple[str, Labels], float] = defaultdict(float)

    def add(self, labels: dict[str, str], value: float, suffix: str = "") -> None:
        self.samples[(suffix, tuple(labels.items()))] += value

    def lines(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} {self.kind}"
        for (suffix, labels), value in sorted(self.samples.items()):
            rendered = ",".join(f'{key}="{_escape(text)}"' for key, text in labels)
            yield f"{self.name}{suffix}{{{rendered}}} {_number(value)}"


def run_metrics(pipeline: str, result: RunResult, attempts: list[dict[str, Any]]) -> str:
    """The text file's content for ``result`` and this run's execution records ``attempts``."""
    run = {"pipeline": pipeline}
    status = "Succeeded" if result.state == State.SUCCEEDED else "Failed"
    families = {name: Family(name, kind, text) for name, kind, text in (
        ("kfp_run_duration_seconds", "gauge", "Wall time of the run (this invocation, when resumed)."),
        ("kfp_run_result_total", "counter", "Runs that ended, by status."),
        ("kfp_run_tasks", "gauge", "Tasks of the run by final state (resumed: completed by an earlier invocation)."),
        ("kfp_task_duration_seconds", "summary", "Time from a task's first start to its end, over all attempts."),
        ("kfp_task_attempts_total", "counter", "Task attempts that ended, by status."),
        ("kfp_task_queue_seconds", "summary", "Time tasks waited for a free slot (--parallelism)."),
        ("kfp_task_retries_total", "counter", "Attempts beyond the first, by task."),
        ("kfp_task_cache_hits_total", "counter", "Tasks whose outputs came from the cache."),
        ("kfp_artifact_bytes_total", "counter", "Artifact bytes moved by the launcher, by direction."),
        ("kfp_artifact_uploads_total", "counter", "Attempts that uploaded output artifacts, by result."),
        ("kfp_store_retries_total", "counter", "Artifact store operations retried after a transient error."),
    )}
    families["kfp_run_duration_seconds"].add(run, result.duration)
    families["kfp_run_result_total"].add({**run, "status": status}, 1)
    for state in State:
        families["kfp_run_tasks"].add({**run, "state": state.value}, 0)
    components: dict[str, str] = {}
    for path, record in result.tasks.items():
        families["kfp_run_tasks"].add({**run, "state": "RESUMED" if record.resumed else record.state.value}, 1)
        if not record.attempts or record.resumed:
            continue  # not a container task, or not run by this invocation
        components[path] = record.component
        task = {**run, "task": task_label(path), "component": record.component}
        final = {**task, "status": record.state.value.capitalize()}  # Argo's spelling: Succeeded, Failed
        families["kfp_task_duration_seconds"].add(final, record.duration, "_sum")
        families["kfp_task_duration_seconds"].add(final, 1, "_count")
        families["kfp_task_attempts_total"].add(final, 1)
        if record.attempts > 1:
            families["kfp_task_attempts_total"].add({**task, "status": "Failed"}, record.attempts - 1)
        families["kfp_task_queue_seconds"].add(task, record.queued, "_sum")
        families["kfp_task_queue_seconds"].add(task, 1, "_count")
        families["kfp_task_retries_total"].add(task, record.attempts - 1)
        families["kfp_task_cache_hits_total"].add(task, int(record.cached))
    for attempt in attempts:
        path = attempt.get("task_path", "")
        if path not in components:
            continue
        task = {**run, "task": task_label(path), "component": components[path]}
        metrics = attempt.get("metrics") or {}
        families["kfp_artifact_bytes_total"].add({**task, "direction": "in"}, metrics.get("artifact_bytes_in", 0))
        families["kfp_artifact_bytes_total"].add({**task, "direction": "out"}, metrics.get("artifact_bytes_out", 0))
        if metrics.get("upload_success") is not None:
            outcome = "success" if metrics["upload_success"] else "failure"
            families["kfp_artifact_uploads_total"].add({**task, "result": outcome}, 1)
        families["kfp_store_retries_total"].add(task, metrics.get("retries", 0))
    return "\n".join(line for family in families.values() if family.samples for line in family.lines()) + "\n"


def write_run_metrics(path: Path, pipeline: str, result: RunResult, records_db: Path) -> None:
    """Write the file atomically (a scraper never reads half of it)."""
    text = run_metrics(pipeline, result, _attempts(records_db, result.run_id, result.started_at))
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.tmp")
    staging.write_text(text, encoding="utf-8")
    os.replace(staging, path)


def task_label(path: str) -> str:
    """``a/loop[3]/b`` -> ``a/loop/b``: one label value per IR task, however many items a loop has."""
    return _INDEX.sub("", path)


def _attempts(records_db: Path, run_id: str, since: float) -> list[dict[str, Any]]:
    """This invocation's execution records (a resumed run's database also holds the earlier ones)."""
    if not records_db.exists():
        return []
    try:
        connection = sqlite3.connect(f"file:{records_db}?mode=ro", uri=True, timeout=30)
        try:
            rows = connection.execute("SELECT record FROM executions WHERE run_id = ? AND started_at >= ?"
                                      " ORDER BY id", (run_id, since)).fetchall()
        finally:
            connection.close()
    except sqlite3.Error:
        return []  # no records: the file still has the runner's own figures
    return [json.loads(record) for (record,) in rows]


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.6f}".rstrip("0")
