"""What a local run produces: task outcomes and the run summary (the ``--json`` contract)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any


class State(str, Enum):
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"  # condition was false
    NOT_RUN = "NOT_RUN"  # an upstream task failed
    CANCELLED = "CANCELLED"

    @property
    def ok(self) -> bool:
        return self in (State.SUCCEEDED, State.SKIPPED)


@dataclass
class Outcome:
    """How one task (or loop, or sub-DAG) ended, with its outputs (typed values; artifacts as references)."""

    state: State
    outputs: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    iterations: list["Outcome"] | None = None
    """Set for a ParallelFor task: one outcome per item, in item order."""


@dataclass(frozen=True)
class RunOptions:
    workdir: Path
    parallelism: int = os.cpu_count() or 2
    cache: bool = True
    pipeline_root: str = ""
    """Default: ``<workdir>/artifacts`` (local files)."""
    python: str = ""
    """Interpreter that runs the launcher; default: this one."""
    stream_logs: bool = True
    """Echo task log lines (tagged with the task path) to stderr as they come."""
    metrics_file: Path | None = None
    """Write the run's SLIs here (Prometheus text format) when it ends."""
    runner: str = "host"
    """``host``: commands run with this machine's tools; ``docker``/``podman``: in their images
    (the launcher stays on the host, ``launcher/containers.py``)."""


@dataclass
class TaskRecord:
    path: str
    state: State
    outputs: dict[str, Any]
    error: str = ""
    duration: float = 0.0
    attempts: int = 0
    cached: bool = False
    component: str = ""
    queued: float = 0.0
    """Seconds the task waited for a free slot (``--parallelism``), over all its attempts."""
    resumed: bool = False
    """Completed by an earlier invocation of this run; taken from its execution record."""


@dataclass
class RunResult:
    run_id: str
    state: State
    outputs: dict[str, Any]
    tasks: dict[str, TaskRecord]
    run_dir: Path
    error: str = ""
    duration: float = 0.0
    started_at: float = 0.0
    """Wall-clock start (``time.time()``) of this invocation."""

    def summary(self) -> dict[str, Any]:
        """The ``run --json`` object."""
        return {
            "state": "SUCCEEDED" if self.state == State.SUCCEEDED else "FAILED",
            "run_id": self.run_id,
            "outputs": _public(self.outputs),
            "tasks": {path: {"state": record.state.value, "outputs": _public(record.outputs)}
                      for path, record in self.tasks.items()},
        }


def _public(outputs: dict[str, Any]) -> dict[str, Any]:
    """Artifact references as ``{"uri", "metadata"}``; parameters as they are."""
    return {name: _public_value(value) for name, value in outputs.items()}


def _public_value(value: Any) -> Any:
    if isinstance(value, ArtifactRef):
        return {"uri": value.uri, "metadata": value.metadata}
    if isinstance(value, list) and value and all(isinstance(v, ArtifactRef) for v in value):
        return [_public_value(v) for v in value]
    return value


@dataclass(frozen=True)
class ArtifactRef:
    """An artifact as tasks pass it: URI, metadata, and its type (docs/task-spec.md, "References")."""

    uri: str
    metadata: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    name: str = ""
    schema_title: str = "system.Artifact"
    details: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    """Everything else the launcher reported (digest, size, the full type): passed on unchanged."""

    def to_json(self) -> dict[str, Any]:
        reference = dict(self.details)
        reference.update({"uri": self.uri, "name": self.name, "metadata": self.metadata})
        reference["type"] = {**reference.get("type", {}), "schemaTitle": self.schema_title}
        return reference

    @classmethod
    def from_json(cls, data: Any) -> "ArtifactRef":
        if isinstance(data, str):
            return cls(uri=data)
        details = {k: v for k, v in data.items() if k not in ("uri", "name", "metadata")}
        return cls(uri=data.get("uri", ""), metadata=data.get("metadata") or {}, name=data.get("name", ""),
                   schema_title=(data.get("type") or {}).get("schemaTitle", "system.Artifact"), details=details)
