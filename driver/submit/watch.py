"""Follow a created run by polling its status until it ends, printing each task's new phase."""

from __future__ import annotations

import sys
import time
from typing import Any, Callable, TextIO

from driver.submit.cluster import Cluster
from driver.submit.progress import RunState, argo_state, tekton_state, tekton_task_paths
from driver.submit.resources import TASK_RUN, WORKFLOW, Resource


def follow(cluster: Cluster, resource: Resource, namespace: str, name: str, sent: list[dict[str, Any]], *,
           interval: float, out: TextIO = sys.stderr) -> RunState:
    """Poll until the run ends; one line per task phase change (``kfp-driver: PATH: PHASE``)."""
    read = _reader(cluster, resource, namespace, name, sent)
    printed: dict[str, str] = {}
    phase = ""
    while True:
        state = read()
        if state.phase != phase and not state.done:
            phase = state.phase
            print(f"kfp-driver: {resource.kind} {namespace}/{name}: {phase}", file=out, flush=True)
        for path, task_phase in state.tasks.items():
            if printed.get(path) != task_phase:
                printed[path] = task_phase
                print(f"kfp-driver: {path}: {task_phase}", file=out, flush=True)
        if state.done:
            return state
        time.sleep(interval)


def _reader(cluster: Cluster, resource: Resource, namespace: str, name: str,
            sent: list[dict[str, Any]]) -> Callable[[], RunState]:
    if resource == WORKFLOW:
        return lambda: argo_state(cluster.get(resource, namespace, name))
    paths = tekton_task_paths(sent)

    def read() -> RunState:
        run = cluster.get(resource, namespace, name)
        task_runs = cluster.list(TASK_RUN, namespace, f"tekton.dev/pipelineRun={name}") \
            if (run.get("status") or {}).get("childReferences") else []
        return tekton_state(run, task_runs, paths)

    return read
