"""``kfp-driver run --engine tekton``: the plan compiled by the real Tekton translator, run on Tekton's own
PipelineRun and TaskRun reconcilers in-process (``hack/tekton-harness``), every pod run locally.

The run's parameters are compiled into the PipelineRun (``CompileOptions.parameters``). TaskRuns map back
to IR task paths through their ``kfp-driver.io/task-path`` annotation (a matrix task's ``[*]`` becomes the
combination's ``kfp-task`` parameter or its index); a task's outputs are what its launcher published in
the pod's ``--outputs-dir`` volume; pipeline outputs are the PipelineRun's results; pipeline tasks Tekton
skipped are SKIPPED (``when`` was false, recorded at the conditional task the local runner would skip) or
NOT_RUN. The result follows the local runner's ``--json`` contract.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from driver.engines.outputs import decode_artifacts, decode_item, decode_parameter
from driver.engines.support import COMPONENT_ANNOTATION, HACK, compile_values, load_hack_module, task_environment
from driver.errors import KfpDriverError
from driver.local.model import RunOptions, RunResult, State, TaskRecord
from driver.plan.model import Interface, Plan
from translators import compiler_for
from translators.options import CompileOptions
from translators.tekton.names import result_name

TASK_PATH = "kfp-driver.io/task-path"
OUTPUTS_VOLUME = "kfp-outputs"
MATRIX_TASK_PARAM = "kfp-task"
WHEN_FALSE = "When Expressions evaluated to false"
_PREFIX = "tekton-harness:"


def run_plan(plan: Plan, parameters: dict[str, Any], options: RunOptions) -> RunResult:
    run_id = uuid.uuid4().hex[:12]
    run_dir = options.workdir / "runs" / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    root = options.pipeline_root or str(run_dir / "artifacts")
    pipeline_run = pipeline_run_for(plan, parameters, options, root)
    manifest = run_dir / "pipelinerun.json"
    manifest.write_text(json.dumps(pipeline_run, indent=1, ensure_ascii=False), encoding="utf-8")
    document = run_harness(manifest, run_dir, options)
    return TaskRuns(plan, pipeline_run, document, run_dir).result(run_id)


# -- the manifest ---------------------------------------------------------------------------------


def pipeline_run_for(plan: Plan, parameters: dict[str, Any], options: RunOptions, root: str) -> dict[str, Any]:
    """The translator's PipelineRun for this run's values, with run-time options applied."""
    try:
        pipeline_run = compiler_for("tekton")(plan, CompileOptions(pipeline_root=root, parameters=compile_values(parameters)))
    except KfpDriverError as refused:
        raise KfpDriverError(f"--engine tekton: the Tekton translator refuses this pipeline: {refused}",
                             hint="run it with --engine local or --engine argo") from None
    for task in _pipeline_tasks(pipeline_run):
        spec = task.get("taskSpec", {})
        component = plan.components.get(spec.get("metadata", {}).get("annotations", {}).get(COMPONENT_ANNOTATION, ""))
        for step in spec.get("steps", []):
            if step.get("command", [""])[0].endswith("kfp-launcher"):
                if not options.cache:
                    step["args"] = ["--no-cache" if arg == "--cache" else arg for arg in step.get("args", [])]
                step["env"] = step.get("env", []) + task_environment(component)
    return pipeline_run


def _pipeline_tasks(pipeline_run: dict[str, Any]) -> list[dict[str, Any]]:
    spec = pipeline_run["spec"].get("pipelineSpec", {})
    return spec.get("tasks", []) + spec.get("finally", [])


# -- the harness ----------------------------------------------------------------------------------


def run_harness(manifest: Path, run_dir: Path, options: RunOptions) -> dict[str, Any]:
    """Build (once) and run the harness; its result document, or one clear error."""
    binary = build_harness()
    runner = load_hack_module("tekton", "run-tekton")
    python = options.python or sys.executable
    command = runner.harness_command(binary, manifest, run_dir, [python, "-m", "launcher"],
                                     parallelism=options.parallelism)
    reason = ""
    with open(run_dir / "pods.log", "w", encoding="utf-8") as log, \
            subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                             errors="replace", cwd=run_dir) as process:
        assert process.stderr is not None
        for line in process.stderr:
            if line.startswith(_PREFIX):
                reason = line[len(_PREFIX):].strip()
                continue
            log.write(line)
            if options.stream_logs:
                sys.stderr.write(line)
    result = run_dir / "harness.json"
    if process.returncode != 0 or not result.exists():
        reason = reason or f"exit {process.returncode}"
        raise KfpDriverError(f"the Tekton harness could not run the PipelineRun: {reason}",
                             hint=f"see {run_dir / 'controller.log'} and {run_dir / 'pods.log'}")
    return json.loads(result.read_text(encoding="utf-8"))


def build_harness() -> Path:
    """The cached harness binary, built by hack/gobuild.py on first use."""
    if shutil.which("go") is None:
        raise KfpDriverError("--engine tekton needs Go to build Tekton's controller harness, and 'go' is not on PATH",
                             hint="install Go, or run with --engine local")
    gobuild = load_hack_module("tekton", "gobuild.py")
    try:
        return gobuild.build(HACK / "tekton-harness", ".", "tekton-harness", test=True)
    except SystemExit:
        raise KfpDriverError("building the Tekton controller harness failed (Go's output is above)",
                             hint="check Go and access to the Go module proxy") from None


# -- TaskRuns back to IR task paths ---------------------------------------------------------------


@dataclass
class TaskRuns:
    plan: Plan
    pipeline_run: dict[str, Any]
    document: dict[str, Any]
    run_dir: Path

    def result(self, run_id: str) -> RunResult:
        records: dict[str, TaskRecord] = {}
        for run in self.document["taskRuns"]:
            record = self.record(run)
            records[record.path] = record
        for skipped in self.document["skippedTasks"]:
            for record in self.skipped(skipped):
                if not any(_under(record.path, other) for other in records):
                    records[record.path] = record
        state = State.SUCCEEDED if self.document["status"] == "True" else State.FAILED
        outputs = self.pipeline_outputs() if state == State.SUCCEEDED else {}
        failed = [path for path, record in sorted(records.items()) if record.state == State.FAILED]
        error = "" if state == State.SUCCEEDED else \
            f"failed tasks: {', '.join(failed)}" if failed else self.document["message"]
        return RunResult(run_id, state, outputs, dict(sorted(records.items())), self.run_dir, error)

    def record(self, run: dict[str, Any]) -> TaskRecord:
        annotations = run.get("annotations") or {}
        path = annotations.get(TASK_PATH, run["pipelineTaskName"])
        if "[*]" in path and run["matrix"] is not None:
            path = run["params"].get(MATRIX_TASK_PARAM) or path.replace("[*]", f"[{run['matrix']['index']}]", 1)
        state = {"True": State.SUCCEEDED, "False": State.FAILED}.get(run["status"], State.FAILED)
        if run["reason"] == "TaskRunCancelled":
            state = State.CANCELLED
        component = self.plan.components.get(annotations.get(COMPONENT_ANNOTATION, ""))
        outputs = self.outputs(run["podName"], component.outputs) if state == State.SUCCEEDED and component else {}
        error = "" if state == State.SUCCEEDED else run["message"]
        return TaskRecord(path, state, outputs, error, _duration(run), run["retries"] + 1)

    def outputs(self, pod: str, declared: Interface) -> dict[str, Any]:
        """What the launcher published in the pod's ``--outputs-dir`` volume (the harness's pod directory)."""
        directory = self.run_dir / "pods" / pod / "volumes" / OUTPUTS_VOLUME
        outputs: dict[str, Any] = {}
        for name, param in declared.parameters.items():
            file = directory / "parameters" / name
            if file.exists():
                outputs[name] = decode_parameter(file.read_text(encoding="utf-8"), param.type)
        for name in declared.artifacts:
            file = directory / "artifacts" / name
            if file.exists():
                outputs[name] = decode_artifacts(json.loads(file.read_text(encoding="utf-8")))
        return outputs

    def skipped(self, skipped: dict[str, Any]) -> list[TaskRecord]:
        """A pipeline task Tekton skipped, at the IR path the local runner records it."""
        task = next((t for t in _pipeline_tasks(self.pipeline_run) if t["name"] == skipped["name"]), None)
        if task is None:
            return []
        path = task.get("taskSpec", {}).get("metadata", {}).get("annotations", {}).get(TASK_PATH, skipped["name"])
        path = path.split("[*]")[0]
        if skipped["reason"] == WHEN_FALSE:
            return [TaskRecord(self.conditional_owner(path), State.SKIPPED, {})]
        return [TaskRecord(path, State.NOT_RUN, {}, skipped["reason"])]

    def conditional_owner(self, path: str) -> str:
        """The outermost task on ``path`` that carries a condition and under which nothing ran."""
        ran = [run.get("annotations", {}).get(TASK_PATH, "") for run in self.document["taskRuns"]]
        component, prefix = self.plan.root, ""
        for segment in path.split("/"):
            if component.dag is None:
                break
            name = segment.split("[")[0]
            task = component.dag.tasks.get(name)
            if task is None:
                break
            prefix = f"{prefix}/{segment}" if prefix else segment
            if task.condition is not None and not any(_under(other, prefix) for other in ran):
                return prefix
            component = self.plan.component_of(task)
        return path

    def pipeline_outputs(self) -> dict[str, Any]:
        """The PipelineRun's results, typed by the pipeline's outputs (a ``OneOf`` by whichever branch ran)."""
        results = self.document["results"]
        declared = self.plan.root.outputs
        outputs: dict[str, Any] = {}
        for name in list(declared.parameters) + list(declared.artifacts):
            base = result_name(name)
            candidates = [base] + sorted(r for r in results if re.fullmatch(rf"{re.escape(base)}-\d+", r))
            value = next((results[r] for r in candidates if r in results and results[r] not in ("", None)), None)
            if value is None:
                continue
            if name in declared.parameters:
                kind = declared.parameters[name].type
                outputs[name] = [decode_item(v) for v in value] if isinstance(value, list) \
                    else decode_parameter(value, kind)
            else:
                outputs[name] = decode_artifacts(value if isinstance(value, list) else json.loads(value))
        return outputs


def _under(path: str, ancestor: str) -> bool:
    return path == ancestor or path.startswith(ancestor + "/") or path.startswith(ancestor + "[")


def _duration(run: dict[str, Any]) -> float:
    if not run["startTime"] or not run["completionTime"]:
        return 0.0
    start, end = (datetime.fromisoformat(run[key].replace("Z", "+00:00")) for key in ("startTime", "completionTime"))
    return (end - start).total_seconds()
