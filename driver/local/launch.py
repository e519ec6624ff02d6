"""Run one container task through ``kfp-launcher`` as a subprocess: argv, retries, logs, outputs."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from driver.errors import KfpDriverError
from driver.local.envs import ensure_env, strip_install_preamble
from driver.local.model import ArtifactRef, Outcome, RunOptions, State
from driver.plan.model import Component, ContainerExecutor, ParamType, Plan, Task
from driver.plan.taskspec import task_spec
from driver.plan.values import TypeMismatch, decode_value, encode_value

ARGV_VALUE_LIMIT = 64 * 1024  # larger values go through --param-file
CACHE_HIT_MARK = "cache hit"


@dataclass
class LaunchSpec:
    component: Component
    task: Task
    path: str
    values: dict[str, Any]


@dataclass
class LaunchResult:
    outcome: Outcome
    duration: float
    attempts: int
    cached: bool = False
    queued: float = 0.0
    """Seconds spent waiting for a free slot, over all attempts."""


class Launch:
    """Starts launcher processes for one run, at most ``options.parallelism`` at a time."""

    def __init__(self, plan: Plan, options: RunOptions, run_id: str, run_dir: Path) -> None:
        self.plan = plan
        self.options = options
        self.run_id = run_id
        self.run_dir = run_dir
        self.root = options.pipeline_root or str((options.workdir / "artifacts").resolve())
        self.slots = asyncio.Semaphore(max(1, options.parallelism))
        self.spec_files: dict[str, Path] = {}
        self.running: set[asyncio.subprocess.Process] = set()
        self.host_notice_given = False
        self.death_signal = _death_signal()
        self.job_name = f"{plan.name}-{run_id}"

    async def run(self, spec: LaunchSpec) -> LaunchResult:
        started = time.monotonic()
        retry = spec.task.retry
        attempts = 1 + (retry.max_retries if retry else 0)
        delay = retry.backoff_seconds if retry else 0.0
        outcome = Outcome(State.FAILED, error="not started")
        cached = False
        queued = 0.0
        for attempt in range(1, attempts + 1):
            outcome, cached, waited = await self.attempt(spec, attempt)
            queued += waited
            if outcome.state != State.FAILED or attempt == attempts:
                break
            if delay:
                await asyncio.sleep(min(delay, retry.backoff_max_seconds))  # type: ignore[union-attr]
                delay *= retry.backoff_factor  # type: ignore[union-attr]
        return LaunchResult(outcome, time.monotonic() - started, attempt, cached, queued)

    async def attempt(self, spec: LaunchSpec, attempt: int) -> tuple[Outcome, bool, float]:
        """One launcher process: (outcome, cache hit, seconds it waited for a slot)."""
        task_dir = self.run_dir / "tasks" / _safe_path(spec.path)
        outputs_dir = task_dir / f"attempt-{attempt}"
        _clear(outputs_dir)  # a resumed run may find what an interrupted attempt left
        outputs_dir.mkdir(parents=True, exist_ok=True)
        try:
            argv, env = self.command(spec, attempt, outputs_dir, task_dir)
        except KfpDriverError as error:  # the task environment could not be built
            return Outcome(State.FAILED, error=str(error)), False, 0.0
        log_path = self.run_dir / "logs" / f"{_safe_path(spec.path)}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        ready = time.monotonic()
        async with self.slots:
            waited = time.monotonic() - ready
            process = await asyncio.create_subprocess_exec(
                *argv, env=env, stdin=asyncio.subprocess.DEVNULL, preexec_fn=self.death_signal,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, start_new_session=True)
            self.running.add(process)
            try:
                cached = await self._stream(process, spec.path, log_path, attempt)
                code = await process.wait()
            finally:
                self.running.discard(process)
        if code != 0:
            return Outcome(State.FAILED, error=f"exit code {code} (log: {log_path})"), False, waited
        try:
            return Outcome(State.SUCCEEDED, self.read_outputs(spec.component, outputs_dir)), cached, waited
        except (OSError, ValueError, TypeMismatch) as error:
            return Outcome(State.FAILED, error=f"launcher outputs unreadable: {error}"), False, waited

    def command(self, spec: LaunchSpec, attempt: int, outputs_dir: Path, task_dir: Path) -> tuple[list[str], dict]:
        component = spec.component
        python = self.options.python or sys.executable
        argv = [python, "-m", "launcher",
                "--spec-file", str(self.spec_file(component)),
                "--run-id", self.run_id,
                "--job-name", self.job_name,
                "--task-path", spec.path,
                "--pipeline-root", self.root,
                "--output-root", f"{self.root.rstrip('/')}/{self.run_id}/{spec.path}",
                "--outputs-dir", str(outputs_dir),
                "--records", f"sqlite:///{(self.options.workdir / 'records.db').resolve()}",
                "--cache-root", str((self.options.workdir / "cache").resolve()),
                "--attempt", str(attempt),
                "--workspace-path", str(self.run_dir / "workspace"),
                "--cache" if (spec.task.cache and self.options.cache) else "--no-cache"]
        if self.options.runner != "host":
            argv += ["--container-runtime", self.options.runner]
        for name, value in sorted(spec.values.items()):
            if name in component.inputs.artifacts:
                argv += ["--artifact", f"{name}={json.dumps(_ref_json(value))}"]
                continue
            declared = component.inputs.parameters.get(name)
            if declared is None:
                continue
            kind = ParamType.STRUCT if declared.type == ParamType.TASK_FINAL_STATUS else declared.type
            text = encode_value(value, kind)
            if len(text) > ARGV_VALUE_LIMIT:
                value_file = task_dir / "inputs" / name
                value_file.parent.mkdir(parents=True, exist_ok=True)
                value_file.write_text(text, encoding="utf-8")
                argv += ["--param-file", f"{name}={value_file}"]
            else:
                argv += ["--param", f"{name}={text}"]
        env = dict(os.environ)
        if self.options.runner == "host":  # in an image, the image has the tools (and installs packages)
            assert isinstance(component.executor, ContainerExecutor)
            self.prepare_host(component.executor, env)
        return argv, env

    def prepare_host(self, executor: ContainerExecutor, env: dict[str, str]) -> None:
        """A lightweight component gets its cached task environment; a container component a notice."""
        if executor.lightweight_python and executor.pip_installs:
            venv = ensure_env(executor.pip_installs, say=lambda m: print(f"kfp-driver: {m}", file=sys.stderr))
            env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
            env["VIRTUAL_ENV"] = str(venv)
        elif not self.host_notice_given:
            self.host_notice_given = True
            print("kfp-driver: container components run with this machine's tools (images are not pulled)",
                  file=sys.stderr)

    def spec_file(self, component: Component) -> Path:
        """The component's task spec, written once per run; on the host the install preamble is dropped."""
        path = self.spec_files.get(component.name)
        if path is None:
            spec = task_spec(component)
            if self.options.runner == "host":
                spec["command"] = strip_install_preamble(spec["command"])
            path = self.run_dir / "specs" / f"{component.name}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(spec, indent=1), encoding="utf-8")
            self.spec_files[component.name] = path
        return path

    def read_outputs(self, component: Component, outputs_dir: Path) -> dict[str, Any]:
        outputs: dict[str, Any] = {}
        for name, declared in component.outputs.parameters.items():
            file = outputs_dir / "parameters" / name
            if file.exists():
                outputs[name] = decode_value(file.read_text(encoding="utf-8"), declared.type)
        for name in component.outputs.artifacts:
            file = outputs_dir / "artifacts" / name
            if file.exists():
                data = json.loads(file.read_text(encoding="utf-8"))
                outputs[name] = [ArtifactRef.from_json(d) for d in data] if isinstance(data, list) \
                    else ArtifactRef.from_json(data)
        return outputs

    async def _stream(self, process: asyncio.subprocess.Process, path: str, log_path: Path, attempt: int) -> bool:
        """Copy the task's output to its log file (and stderr), each line tagged with the task path."""
        cached = False
        tag = f"[{path}]" if attempt == 1 else f"[{path} #{attempt}]"
        assert process.stdout is not None
        with open(log_path, "a", encoding="utf-8") as log:
            async for raw in process.stdout:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                cached = cached or CACHE_HIT_MARK in line
                log.write(f"{tag} {line}\n")
                if self.options.stream_logs:
                    print(f"{tag} {line}", file=sys.stderr, flush=True)
        return cached

    async def terminate_all(self) -> None:
        """Ctrl-C: SIGTERM every running launcher (it forwards to the user process), then wait."""
        for process in list(self.running):
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for process in list(self.running):
            try:
                await asyncio.wait_for(process.wait(), timeout=10)
            except asyncio.TimeoutError:
                os.killpg(process.pid, signal.SIGKILL)


def _ref_json(value: Any) -> Any:
    """An artifact input as JSON: one reference, or (Collected, maybe nested) lists of them."""
    if isinstance(value, list):
        return [_ref_json(item) for item in value]
    return (value if isinstance(value, ArtifactRef) else ArtifactRef.from_json(value)).to_json()


def _safe_path(path: str) -> str:
    return path.replace("[", "_").replace("]", "")


def _clear(directory: Path) -> None:
    if directory.exists():
        import shutil

        shutil.rmtree(directory)


def _death_signal() -> Any:
    """A function for the launcher's process (``preexec_fn``) that makes it get SIGTERM when the runner dies,
    even by SIGKILL (Linux), so no task outlives an interrupted run: the launcher forwards the signal to the
    command and records a failed attempt. Built here, in the parent: the child only calls it."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl
    PR_SET_PDEATHSIG = 1
    return lambda: prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM))
