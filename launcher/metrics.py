"""This attempt's metrics as a Prometheus text file (node-exporter textfile format)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def write_metrics(path: Path, record: dict[str, Any]) -> None:
    labels = f'run_id="{_escape(record["run_id"])}",task_path="{_escape(record["task_path"])}"'
    metrics = record["metrics"]
    lines = [
        "# TYPE kfp_task_duration_seconds gauge",
        f"kfp_task_duration_seconds{{{labels}}} {metrics['duration_seconds']}",
        "# TYPE kfp_task_phase_seconds gauge",
        *(f'kfp_task_phase_seconds{{{labels},phase="{phase}"}} {seconds}'
          for phase, seconds in record["timings"].items()),
        "# TYPE kfp_task_artifact_bytes gauge",
        f'kfp_task_artifact_bytes{{{labels},direction="in"}} {metrics["artifact_bytes_in"]}',
        f'kfp_task_artifact_bytes{{{labels},direction="out"}} {metrics["artifact_bytes_out"]}',
        "# TYPE kfp_task_upload_success gauge",  # absent when the attempt uploaded nothing
        *([f"kfp_task_upload_success{{{labels}}} {int(metrics['upload_success'])}"]
          if metrics["upload_success"] is not None else []),
        "# TYPE kfp_task_store_retries gauge",
        f"kfp_task_store_retries{{{labels}}} {metrics['retries']}",
        "# TYPE kfp_task_cache_hit gauge",
        f"kfp_task_cache_hit{{{labels}}} {int(record['cache']['hit'])}",
        "# TYPE kfp_task_exit_code gauge",
        f"kfp_task_exit_code{{{labels}}} {record['exit_code'] if record['exit_code'] is not None else -1}",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.tmp")
    staging.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(staging, path)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
