"""``kfp-driver run --engine argo``: the plan compiled by the real Argo translator, run on Argo's own
workflow controller in-process (``hack/argo-harness``), with every pod run locally by the launcher.

The run's parameters become the workflow's arguments; engine nodes map back to IR task paths through
the ``kfp-task`` argument of each DAG task (the path without loop indices) and the ``(i:item)``
suffix Argo gives loop iterations; outputs are read from the nodes' output parameters the way the
launcher wrote them, so the result follows the local runner's ``--json`` contract.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from driver.engines.outputs import decode_artifacts, decode_parameter
from driver.engines.support import COMPONENT_ANNOTATION, compile_values, load_hack_module, task_environment
from driver.errors import KfpDriverError
from driver.local.envs import strip_install_preamble
from driver.local.model import ArtifactRef, RunOptions, RunResult, State, TaskRecord
from driver.plan.model import (
    Component,
    ImporterExecutor,
    Interface,
    Plan,
    TaskOutput,
)
from launcher.wire import unescape_tree
from translators import compiler_for
from translators.argo import exprs
from translators.options import CompileOptions

TASK_PATH_ARG = "kfp-task"
SELF_PATH = "{{inputs.parameters.kfp-task}}"
LAUNCHER = "/kfp/kfp-launcher"
SPEC_ARG = "--spec="
EMPTY_LOOP = "Skipped, empty params"  # Argo's reason for a loop over no items (dag.go)
_DISPLAY = re.compile(r"([A-Za-z0-9][-A-Za-z0-9]*)(?:\((\d+):.*\))?\Z", re.S)
_STATES = {"Succeeded": State.SUCCEEDED, "Failed": State.FAILED, "Error": State.FAILED,
           "Skipped": State.SKIPPED, "Omitted": State.NOT_RUN}


def run_plan(plan: Plan, parameters: dict[str, Any], options: RunOptions) -> RunResult:
    run_id = uuid.uuid4().hex[:12]
    run_dir = options.workdir / "runs" / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    root = options.pipeline_root or str(run_dir / "artifacts")
    workflow = workflow_for(plan, parameters, options, root, run_id)
    manifest = run_dir / "workflow.json"
    manifest.write_text(json.dumps(workflow, indent=1, ensure_ascii=False), encoding="utf-8")
    document = run_harness(manifest, run_dir, options)
    return Nodes(plan, workflow, document).result(run_id, run_dir, echo=options.stream_logs)


# -- the manifest ---------------------------------------------------------------------------------


def workflow_for(plan: Plan, parameters: dict[str, Any], options: RunOptions, root: str,
                 run_id: str = "local") -> dict[str, Any]:
    """The translator's Workflow with the run's parameters as arguments and run-time options applied."""
    workflow = compiler_for("argo")(plan, CompileOptions(pipeline_root=root, parameters=compile_values(parameters)))
    metadata = workflow["metadata"]
    metadata["name"] = metadata.pop("generateName", "pipeline-") + run_id  # the job name, as the local runner's
    for template in workflow["spec"]["templates"]:
        container = template.get("container")
        if container is None:
            continue
        if container.get("command") == [LAUNCHER]:  # runs that share a work directory share the cache
            container["args"] = [*container.get("args", []), f"--cache-root={options.workdir.resolve() / 'cache'}"]
        if not options.cache:
            container["args"] = ["--no-cache" if arg == "--cache" else arg for arg in container.get("args", [])]
        env = task_environment(plan.components.get(_component_name(template)))
        if env:
            container["env"] = container.get("env", []) + env
            container["args"] = [_without_install(arg) for arg in container.get("args", [])]
    return workflow


def _without_install(arg: str) -> str:
    """The spec without the component's ``pip install`` preamble, as the local runner runs it, so both
    engines run the same command (the packages are in the task virtualenv already)."""
    if not arg.startswith(SPEC_ARG):
        return arg
    spec = json.loads(arg[len(SPEC_ARG):])
    spec["command"] = strip_install_preamble(spec["command"])
    return SPEC_ARG + exprs.json_without_tags(spec)


# -- the harness ----------------------------------------------------------------------------------


def run_harness(manifest: Path, run_dir: Path, options: RunOptions) -> dict[str, Any]:
    """Build (once) and run the harness; its result document, or one clear error."""
    build = load_hack_module("argo", "argo-harness/build.py")
    try:
        binary = build.build()
    except build.BuildError as error:
        if error.code == build.GO_MISSING:
            raise KfpDriverError("--engine argo needs Go to build Argo's controller harness, and 'go' is not on PATH",
                                 hint="install Go, or run with --engine local") from None
        raise KfpDriverError(f"the Argo controller harness: {error}",
                             hint="check Go and access to the Go module proxy") from None
    python = options.python or sys.executable
    command = build.harness_command(binary, manifest, run_dir, [python, "-m", "launcher"],
                                    parallelism=options.parallelism)
    log = run_dir / "harness.log"
    with open(log, "w") as out:
        done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, cwd=run_dir)
    result = run_dir / "harness.json"
    if done.returncode != 0 or not result.exists():
        lines = log.read_text(errors="replace").splitlines()
        reason = next((line for line in reversed(lines) if line.startswith("argo-harness:")), "")
        raise KfpDriverError(f"the Argo harness could not run the workflow: {reason or f'exit {done.returncode}'}",
                             hint=f"see {log}")
    return json.loads(result.read_text(encoding="utf-8"))


# -- nodes back to IR task paths -----------------------------------------------------------------


@dataclass
class Nodes:
    plan: Plan
    workflow: dict[str, Any]
    document: dict[str, Any]

    def __post_init__(self) -> None:
        self.nodes = {node["id"]: node for node in self.document["nodes"]}
        self.templates = {t["name"]: t for t in self.workflow["spec"]["templates"]}
        self.retry_children = {child: node["id"] for node in self.nodes.values() if node["type"] == "Retry"
                               for child in node["children"]}
        self.paths: dict[str, str] = {}

    def result(self, run_id: str, run_dir: Path, echo: bool = False) -> RunResult:
        records: dict[str, TaskRecord] = {}
        for node in self.nodes.values():
            if node["id"] in self.retry_children or node["type"] not in ("Pod", "Retry", "Skipped") \
                    or node["message"] == EMPTY_LOOP:  # a loop over no items succeeded, as locally
                continue
            state = _STATES.get(node["phase"], State.FAILED)
            path = self.path(node)
            outputs = self.outputs(node, self.component(node["templateName"])) if state == State.SUCCEEDED else {}
            attempts = len(node["children"]) if node["type"] == "Retry" else int(node["type"] == "Pod")
            records[path] = TaskRecord(path, state, outputs, node["message"] if not state.ok else "",
                                       _duration(node), attempts)
            if node["type"] != "Skipped":
                records.update(self.importers(node))
        phase = self.document["phase"]
        state = State.SUCCEEDED if phase == "Succeeded" else State.FAILED
        root = self.nodes.get(self.document["name"])
        outputs = self.outputs(root, self.plan.root) if root is not None and state == State.SUCCEEDED else {}
        error = "" if state == State.SUCCEEDED else self.error(records)
        self.write_logs(run_dir, echo)
        return RunResult(run_id, state, outputs, dict(sorted(records.items())), run_dir, error)

    def write_logs(self, run_dir: Path, echo: bool) -> None:
        """``logs/<task path>.log`` as the local runner keeps them: every attempt's pod log, in order
        (with ``echo``, also on stderr, each line tagged with the task path, once the run is over)."""
        logs = run_dir / "logs"
        for node in sorted(self.nodes.values(), key=lambda n: (n["startedAt"], n["name"])):
            pod_log = run_dir / "pods" / node["podName"] / "main.log" if node.get("podName") else None
            if pod_log is None or not pod_log.exists():
                continue
            owner = self.nodes[self.retry_children.get(node["id"], node["id"])]
            path = self.path(owner)
            target = logs / (path.replace("[", "_").replace("]", "") + ".log")
            target.parent.mkdir(parents=True, exist_ok=True)
            text = pod_log.read_text(encoding="utf-8", errors="replace")
            with open(target, "a", encoding="utf-8") as out:
                out.write(text)
            for line in text.splitlines() if echo else ():
                print(f"[{path}] {line}", file=sys.stderr)

    def error(self, records: dict[str, TaskRecord]) -> str:
        if self.document.get("timedOut"):
            return "the Argo harness timed out"
        if self.document.get("stalled"):
            waiting = sorted(self.path(n) for n in self.nodes.values() if n["phase"] in ("Pending", "Running")
                             and n["type"] in ("Pod", "Retry", "DAG", "TaskGroup") and n["boundaryID"])
            return f"Argo made no progress with no pod running (still running: {', '.join(waiting) or 'the workflow'})"
        failed = [path for path, record in records.items() if record.state == State.FAILED]
        return f"failed tasks: {', '.join(failed)}" if failed else self.document.get("message", "")

    def importers(self, node: dict[str, Any]) -> dict[str, TaskRecord]:
        """Importers have no pod on Argo (the reference is built where it is consumed): their record
        is the reference this task received."""
        boundary = self.nodes.get(node["boundaryID"])
        if boundary is None:
            return {}
        dag = self.plan.root if boundary["id"] == self.document["name"] else self.component(boundary["templateName"])
        inputs = {p["name"]: p["value"] for p in node["inputs"]["parameters"]}
        tasks = dag.dag.tasks if dag is not None and dag.dag is not None else {}
        task = tasks.get(inputs.get(TASK_PATH_ARG, "").rsplit("/", 1)[-1])
        records: dict[str, TaskRecord] = {}
        for name, binding in task.artifacts.items() if task is not None else ():
            source = binding.source
            importer = tasks.get(source.task) if isinstance(source, TaskOutput) else None
            if importer is None or inputs.get(name) is None or \
                    not isinstance(self.plan.component_of(importer).executor, ImporterExecutor):
                continue
            parent = self.path(boundary)
            path = f"{parent}/{importer.name}" if parent else importer.name
            reference = ArtifactRef.from_json(unescape_tree(json.loads(inputs[name])))
            records[path] = TaskRecord(path, State.SUCCEEDED, {source.output: reference})  # type: ignore[union-attr]
        return records

    def component(self, template_name: str) -> Component | None:
        return self.plan.components.get(_component_name(self.templates.get(template_name, {})))

    def path(self, node: dict[str, Any]) -> str:
        """The IR task path: the boundary DAG's path, this DAG task's segment, ``[i]`` for an iteration."""
        known = self.paths.get(node["id"])
        if known is not None:
            return known
        boundary = self.nodes.get(node["boundaryID"])
        if boundary is None:
            return ""
        match = _DISPLAY.match(node["displayName"])
        task_name, index = (match.group(1), match.group(2)) if match else (node["displayName"], None)
        parent = self.path(boundary)
        segment = self.segment(boundary["templateName"], task_name)
        path = parent if segment is None else f"{parent}/{segment}" if parent and not segment.startswith("/") \
            else segment.lstrip("/")
        if index is not None:
            path += f"[{index}]"
        self.paths[node["id"]] = path
        return path

    def segment(self, dag_template: str, task_name: str) -> str | None:
        """How a DAG task extends its DAG's path: ``None`` for the same path (a loop wrapper's inner
        task), a leading ``/`` for a root-level path."""
        for task in self.templates.get(dag_template, {}).get("dag", {}).get("tasks", []):
            if task["name"] != task_name:
                continue
            for argument in task.get("arguments", {}).get("parameters", []):
                if argument["name"] != TASK_PATH_ARG:
                    continue
                value = argument["value"]
                if value == SELF_PATH:
                    return None
                return value[len(SELF_PATH) + 1:] if value.startswith(SELF_PATH + "/") else "/" + value
        return task_name

    def outputs(self, node: dict[str, Any], component: Component | None) -> dict[str, Any]:
        texts = {p["name"]: p["value"] for p in node["outputs"]["parameters"] if p["value"] is not None}
        return _typed_outputs(texts, component.outputs) if component is not None else {}


def _component_name(template: dict[str, Any]) -> str:
    return template.get("metadata", {}).get("annotations", {}).get(COMPONENT_ANNOTATION, "")


def _typed_outputs(texts: dict[str, str], declared: Interface) -> dict[str, Any]:
    """Output parameters as the launcher wrote them (tag-escaped raw values) -> typed values and refs."""
    outputs: dict[str, Any] = {}
    for name, param in declared.parameters.items():
        if name in texts:
            outputs[name] = decode_parameter(texts[name], param.type)
    for name in declared.artifacts:
        if name in texts:
            outputs[name] = decode_artifacts(json.loads(texts[name]))
    return outputs


def _duration(node: dict[str, Any]) -> float:
    if not node["startedAt"] or not node["finishedAt"]:
        return 0.0
    start, end = (datetime.fromisoformat(node[key].replace("Z", "+00:00")) for key in ("startedAt", "finishedAt"))
    return (end - start).total_seconds()
