"""Prometheus metrics through Argo's own ``metrics`` fields: the run and per-task SLIs (``CompileOptions.metrics``).

Labels have bounded cardinality: the pipeline name (compile-time), the IR task path of the DAG task (without
loop indices: every iteration of a loop shares it), the component name and the Argo status; never an item
value, a pod name or a run id. The names match ``kfp-driver run --metrics-file``.
"""

from __future__ import annotations

from typing import Any

from translators.argo import exprs

DURATION_BUCKETS = [1, 5, 15, 60, 300, 900, 3600, 14400]
"""Seconds: a quick step to a four-hour training job."""


def workflow_metrics(pipeline: str) -> dict[str, Any]:
    """Run duration (a gauge kept current while the run is going) and a counter of runs by final status."""
    labels = [_label("pipeline", pipeline)]
    return {"prometheus": [
        {"name": "kfp_run_duration_seconds", "help": "Wall time of the run so far (realtime).",
         "labels": labels, "gauge": {"value": exprs.tag("workflow.duration"), "realtime": True}},
        {"name": "kfp_run_result_total", "help": "Runs that ended, by status.",
         "labels": [*labels, _label("status", exprs.tag("workflow.status"))], "counter": {"value": "1"}},
    ]}


def task_metrics(pipeline: str, component: str, task_path_param: str) -> dict[str, Any]:
    """A container template's metrics, emitted by Argo when an attempt ends: its duration and its status.

    A retried template emits once per failed attempt that is retried and once at the end (with the final
    status), so ``kfp_task_attempts_total`` counts attempts. There is no retry counter: Argo defines
    ``{{retries}}`` only on the final emission and flags the others as metric errors on the Workflow."""
    status = [_label("pipeline", pipeline), _label("task", exprs.input_param(task_path_param)),
              _label("component", component), _label("status", exprs.tag("status"))]
    return {"prometheus": [
        {"name": "kfp_task_duration_seconds", "help": "Duration of a task attempt (a retried task's last: all its attempts).",
         "labels": status, "histogram": {"value": exprs.tag("duration"), "buckets": DURATION_BUCKETS}},
        {"name": "kfp_task_attempts_total", "help": "Task attempts that ended, by status.",
         "labels": status, "counter": {"value": "1"}},
    ]}


def add_metrics(spec: dict[str, Any], pipeline: str, task_path_param: str, component_key: str) -> None:
    """Put the workflow metrics on ``spec`` and the task metrics on every container template in it."""
    spec["metrics"] = workflow_metrics(pipeline)
    for template in spec["templates"]:
        if "container" not in template:
            continue
        component = template["metadata"]["annotations"][component_key]
        template["metrics"] = task_metrics(pipeline, component, task_path_param)


def _label(key: str, value: str) -> dict[str, str]:
    return {"key": key, "value": value}
