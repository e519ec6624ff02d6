"""Launcher log lines: stderr, each prefixed with the run id and task path."""

from __future__ import annotations

import sys
from typing import TextIO


class Log:
    def __init__(self, run_id: str, task_path: str, stream: TextIO | None = None) -> None:
        self.prefix = f"[kfp-launcher {run_id} {task_path}]"
        self.stream = stream

    def __call__(self, message: str) -> None:
        stream = self.stream or sys.stderr
        for line in str(message).splitlines() or [""]:
            stream.write(f"{self.prefix} {line}\n")
        stream.flush()
