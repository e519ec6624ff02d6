"""Run progress for people: a live status line on a terminal, and the final summary table."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from driver.local.model import RunResult, State


class Progress:
    """Counts tasks as they start and end; redraws one status line on a terminal."""

    def __init__(self, enabled: bool, stream: TextIO = sys.stderr) -> None:
        self.enabled = enabled and stream.isatty()
        self.stream = stream
        self.started_at = time.monotonic()
        self.running: set[str] = set()
        self.counts = {state: 0 for state in State}

    def started(self, path: str) -> None:
        self.running.add(path)
        self._draw()

    def ended(self, path: str, state: State) -> None:
        self.running.discard(path)
        self.counts[state] += 1
        self._draw()

    def finish(self) -> None:
        if self.enabled:
            self.stream.write("\r\033[K")
            self.stream.flush()

    def _draw(self) -> None:
        if not self.enabled:
            return
        elapsed = time.monotonic() - self.started_at
        line = (f"{elapsed:6.1f}s  done {self.counts[State.SUCCEEDED]}  running {len(self.running)}  "
                f"failed {self.counts[State.FAILED]}  skipped {self.counts[State.SKIPPED]}")
        self.stream.write(f"\r\033[K{line}")
        self.stream.flush()


def summary_table(result: RunResult) -> str:
    """One line per task: state, duration, attempts, cache, and the error if any."""
    rows = [("TASK", "STATE", "TIME", "TRIES", "NOTE")]
    for path, record in result.tasks.items():
        note = "resumed" if record.resumed else "cached" if record.cached else record.error
        rows.append((path, record.state.value, f"{record.duration:.1f}s" if record.duration else "-",
                     str(record.attempts or "-"), note[:80]))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4])) + "  " + row[4] for row in rows]
    lines.append(f"run {result.run_id}: {result.state.value}  (logs and records: {result.run_dir})")
    return "\n".join(line.rstrip() for line in lines)
