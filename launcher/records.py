"""Execution records, one per attempt, and their sinks: SQLite (``sqlite:///path.db``) or JSON documents
under a store URI prefix (``<prefix>/<task path>/attempt-<n>-<id>.json``)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Protocol

from launcher.context import Context
from launcher.errors import LauncherError, RecordError
from launcher.stores import Stores

RECORD_VERSION = 1


def build_record(ctx: Context) -> dict[str, Any]:
    options = ctx.options
    succeeded = ctx.exit_code == 0 and not ctx.error
    outputs_artifacts = {name: [ref] if isinstance(ref, dict) else ref for name, ref in ctx.published_refs.items()}
    return {
        "v": RECORD_VERSION,
        "run_id": options.run_id,
        "task_path": options.task_path,
        "task_name": options.task_name,
        "attempt": options.attempt,
        "pod_name": options.pod_name,
        "component_digest": ctx.spec.digest,
        "state": "SUCCEEDED" if succeeded else "FAILED",
        "exit_code": ctx.exit_code,
        "error": ctx.error or None,
        "cache": {"enabled": options.cache, "key": ctx.cache_key, "hit": ctx.cache_hit,
                  "source": ctx.cache_source or None},
        "inputs": {
            "parameters": ctx.params,
            "artifacts": {name: [a.summary() for a in items] for name, items in ctx.inputs.items()},
        },
        "outputs": {
            "parameters": ctx.output_values if succeeded else {},
            "artifacts": {name: [{**r, "digest": r.get("digest"), "size": r.get("size")} for r in refs]
                          for name, refs in outputs_artifacts.items()} if succeeded else {},
        },
        "timings": {phase: round(seconds, 6) for phase, seconds in ctx.timings.items()},
        "started_at": ctx.started,
        "finished_at": time.time(),
        "metrics": {
            "duration_seconds": round(time.time() - ctx.started, 6),
            "artifact_bytes_in": ctx.bytes_in,
            "artifact_bytes_out": ctx.bytes_out,
            "upload_success": _upload_success(ctx),
            "retries": ctx.transfers.counter.retries,
        },
    }


def _upload_success(ctx: Context) -> bool | None:
    """Whether this attempt's outputs reached the store; None when it uploaded nothing (no output
    artifacts, a cache hit, or it failed before the upload phase)."""
    if not ctx.outputs or "upload" not in ctx.timings:
        return None
    return bool(ctx.published_refs)


class Sink(Protocol):
    def write(self, record: dict[str, Any]) -> None: ...


class SqliteSink:
    """One row per attempt in table ``executions``; the whole record is in column ``record`` (JSON)."""

    SCHEMA = """CREATE TABLE IF NOT EXISTS executions (
        id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, task_path TEXT NOT NULL,
        attempt INTEGER NOT NULL, state TEXT NOT NULL, exit_code INTEGER, cache_hit INTEGER NOT NULL,
        cache_key TEXT, component_digest TEXT NOT NULL, started_at REAL, finished_at REAL, error TEXT,
        record TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS executions_task ON executions (run_id, task_path);"""
    PRAGMAS = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
    """WAL: concurrent launchers do not block readers; NORMAL: a commit does not wait for fsync (the
    database stays consistent; a power cut may lose the newest records)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    BUSY_RETRY_SECONDS = 60.0
    """Switching to WAL and creating the schema can report "locked" at once (SQLite's busy handler does not
    cover them) when many launchers start together: such a write is retried, with jitter, for this long."""

    def write(self, record: dict[str, Any]) -> None:
        import random
        import sqlite3
        import time

        deadline = time.monotonic() + self.BUSY_RETRY_SECONDS
        while True:
            try:
                self._write_once(record)
                return
            except RecordError as error:
                busy = isinstance(error.__context__, sqlite3.OperationalError) and \
                    any(word in str(error.__context__) for word in ("locked", "busy"))
                if not busy or time.monotonic() > deadline:
                    raise
                time.sleep(random.uniform(0.01, 0.1))

    def _write_once(self, record: dict[str, Any]) -> None:
        import sqlite3

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(str(self.path), timeout=60)
            try:
                connection.executescript(self.PRAGMAS)
                with connection:
                    connection.executescript(self.SCHEMA)
                    connection.execute(
                        "INSERT INTO executions (run_id, task_path, attempt, state, exit_code, cache_hit, cache_key,"
                        " component_digest, started_at, finished_at, error, record)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (record["run_id"], record["task_path"], record["attempt"], record["state"],
                         record["exit_code"], int(record["cache"]["hit"]), record["cache"]["key"],
                         record["component_digest"], record["started_at"], record["finished_at"], record["error"],
                         json.dumps(record, ensure_ascii=False)))
            finally:
                connection.close()
        except (sqlite3.Error, OSError) as error:
            # ``from None`` hides the chain in messages; ``__context__`` still holds the SQLite error for ``write``
            raise RecordError(f"execution record: cannot write to sqlite:///{self.path}: {error}") from None


class StoreSink:
    """JSON documents in the run's artifact store; names never collide, so retries and reruns add documents."""

    def __init__(self, prefix: str, stores: Stores) -> None:
        self.prefix = prefix.rstrip("/")
        self.stores = stores

    def write(self, record: dict[str, Any]) -> None:
        uri = f"{self.prefix}/{record['task_path']}/attempt-{record['attempt']}-{os.urandom(6).hex()}.json"
        try:
            self.stores.for_uri(uri).write_bytes(uri, json.dumps(record, indent=1, ensure_ascii=False).encode())
        except LauncherError as error:
            raise RecordError(f"execution record: cannot write {uri}: {error}") from None


def open_sink(uri: str, stores: Stores) -> Sink:
    if uri.startswith("sqlite:///"):  # as SQLAlchemy: sqlite:///relative.db, sqlite:////absolute.db
        return SqliteSink(Path(uri[len("sqlite:///"):]))
    return StoreSink(uri, stores)
