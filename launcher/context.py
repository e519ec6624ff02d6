"""The one object the phases share: options, spec, resolved inputs and outputs, and what happened."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from launcher.log import Log
from launcher.options import Options
from launcher.spec import TaskSpec
from launcher.stores import Stores
from launcher.stores.base import Stat, Transfers


@dataclass
class InputArtifact:
    input: str
    uri: str
    name: str
    schema_title: str
    schema_version: str
    metadata: dict[str, Any]
    digest: str | None = None
    size: int | None = None
    local: Path | None = None
    """The content on this machine (the file store's own path, or the downloaded copy)."""
    executor_uri: str = ""
    """The URI the KFP SDK sees: it derives ``.path`` from it (local path, or /s3/, /gcs/, /minio/ mounts)."""

    def runtime(self) -> dict[str, Any]:
        """The executor input's RuntimeArtifact."""
        return {"name": self.name, "type": {"schemaTitle": self.schema_title, "schemaVersion": self.schema_version},
                "uri": self.executor_uri or self.uri, "metadata": self.metadata}

    def summary(self) -> dict[str, Any]:
        return {"uri": self.uri, "digest": self.digest, "size": self.size}


@dataclass
class OutputArtifact:
    output: str
    uri: str
    schema_title: str
    schema_version: str
    is_list: bool
    local: Path
    """Where the user's code writes the artifact (a staging path for the file store)."""
    executor_uri: str
    metadata: dict[str, Any] = field(default_factory=dict)
    stat: Stat | None = None
    """Set once uploaded; None when the task wrote no content (e.g. a Metrics artifact)."""

    def runtime(self) -> dict[str, Any]:
        return {"name": self.output, "type": {"schemaTitle": self.schema_title, "schemaVersion": self.schema_version},
                "uri": self.executor_uri, "metadata": self.metadata}

    def ref(self) -> dict[str, Any]:
        """The reference published to the engine (docs/task-spec.md, "References")."""
        ref: dict[str, Any] = {"uri": self.uri, "name": self.output,
                               "type": {"schemaTitle": self.schema_title, "schemaVersion": self.schema_version},
                               "metadata": self.metadata}
        if self.stat is not None:
            ref.update(digest=self.stat.digest, size=self.stat.size)
        return ref


@dataclass
class Context:
    options: Options
    spec: TaskSpec
    log: Log
    stores: Stores
    transfers: Transfers
    scratch: Path
    params: dict[str, Any] = field(default_factory=dict)
    """Typed input parameter values (defaults applied); absent inputs are not keys."""
    inputs: dict[str, list[InputArtifact]] = field(default_factory=dict)
    outputs: dict[str, OutputArtifact] = field(default_factory=dict)
    output_files: dict[str, Path] = field(default_factory=dict)
    executor_output: Path = Path()
    mount_root: Path | None = None
    staging: list[Path] = field(default_factory=list)
    """Directories to remove when the attempt ends (file-store output staging)."""
    output_values: dict[str, Any] = field(default_factory=dict)
    published_refs: dict[str, Any] = field(default_factory=dict)
    """Output artifact references as published (from this run, or from the cache on a hit)."""
    exit_code: int | None = None
    error: str = ""
    cache_key: str | None = None
    cache_hit: bool = False
    cache_source: dict[str, Any] = field(default_factory=dict)
    bytes_in: int = 0
    bytes_out: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    started: float = field(default_factory=time.time)

    def say(self, message: str) -> None:
        self.log(message)
