"""``kfp-driver run``: execute a pipeline on this machine."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from driver.engines import ENGINES
from driver.errors import UsageError




def register(commands: Any) -> None:
    cmd = commands.add_parser("run", help="run a pipeline on this machine",
                              description="Run KFP IR locally: every task through the launcher, in parallel.")
    cmd.add_argument("ir", nargs="?", help="IR file (YAML or JSON); '-' reads stdin")
    cmd.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                     help="pipeline parameter, parsed by its declared type (lists and structs as JSON)")
    cmd.add_argument("--param-file", help="JSON or YAML file with a mapping of parameter values")
    cmd.add_argument("--workdir", default=".kfp-driver", help="run directory: artifacts, logs, records, cache")
    cmd.add_argument("--parallelism", type=int, help="concurrent tasks (default: number of CPUs)")
    cmd.add_argument("--no-cache", action="store_true", help="ignore and do not write the cache")
    cmd.add_argument("--pipeline-root", help="artifact root (default: WORKDIR/artifacts; s3://... for a store)")
    cmd.add_argument("--engine", choices=ENGINES, default="local",
                     help="local (default), or the Argo/Tekton controller code through the harness under hack/")
    cmd.add_argument("--json", action="store_true", help="print the run summary as JSON on stdout")
    cmd.add_argument("--quiet", action="store_true", help="do not echo task logs (they stay in WORKDIR)")
    cmd.add_argument("--resume", nargs="+", metavar=("WORKDIR", "RUN_ID"),
                     help="finish an interrupted or failed run (default: the newest in WORKDIR that did not "
                          "succeed), re-running only the tasks that did not complete")
    cmd.add_argument("--runner", choices=("host", "docker", "podman"), default="host",
                     help="where task commands run: with this machine's tools (default), or in their images "
                          "through the docker/podman CLI")
    cmd.add_argument("--metrics-file", type=Path, metavar="FILE",
                     help="write the run's SLIs (durations, results, retries, artifact bytes), Prometheus text")
    cmd.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    import os

    from driver.local.model import RunOptions
    from driver.local.params import parse_run_parameters
    from driver.local.progress import Progress
    from driver.local.runner import LocalRunner
    from driver.plan import load_plan

    if args.parallelism is not None and args.parallelism < 1:
        raise UsageError("--parallelism must be at least 1")
    if args.metrics_file and args.engine != "local":
        raise UsageError("--metrics-file is written by the local engine only")
    if args.runner != "host":
        if args.engine != "local":
            raise UsageError("--runner applies to --engine local", hint="the engine harnesses run commands on the host")
        check_container_runtime(args.runner)
    if args.resume:
        return _report(args, _resume(args))
    if args.ir is None:
        raise UsageError("kfp-driver run: an IR file is required (or --resume WORKDIR)")
    stdin = sys.stdin.read() if args.ir == "-" else None
    plan = load_plan(args.ir, text=stdin)
    ir = stdin.encode() if stdin is not None else Path(args.ir).read_bytes()  # kept for --resume
    parameters = parse_run_parameters(plan, args.param, args.param_file)
    options = RunOptions(
        workdir=Path(args.workdir).resolve(),
        parallelism=args.parallelism or os.cpu_count() or 2,
        cache=not args.no_cache,
        pipeline_root=args.pipeline_root or "",
        stream_logs=not (args.json or args.quiet),
        metrics_file=args.metrics_file,
        runner=args.runner,
    )
    if args.engine == "local":
        result = LocalRunner(plan, options, Progress(enabled=not args.json)).run(parameters, ir)
    else:
        from driver.engines import run_on_engine

        result = run_on_engine(args.engine, plan, parameters, options)
    return _report(args, result)


def _resume(args: argparse.Namespace) -> Any:
    """``--resume WORKDIR [RUN_ID]``: the run's own IR, parameters and settings; only --parallelism,
    --no-cache, --json, --quiet and --metrics-file may change."""
    from driver.local.model import RunOptions
    from driver.local.progress import Progress
    from driver.local.resume import RunState, find_run, load_parameters
    from driver.local.runner import LocalRunner
    from driver.plan import load_plan

    if len(args.resume) > 2:
        raise UsageError("--resume takes WORKDIR and at most one RUN_ID")
    if args.ir or args.param or args.param_file or args.pipeline_root or args.engine != "local":
        raise UsageError("--resume reruns the run as it was started: do not pass an IR, --param, --param-file, "
                         "--pipeline-root or --engine")
    workdir = Path(args.resume[0]).resolve()
    run_dir = find_run(workdir, args.resume[1] if len(args.resume) == 2 else None)
    state = RunState.load(run_dir)
    plan = load_plan(run_dir / "pipeline.yaml")
    parameters = load_parameters(run_dir, set(plan.root.inputs.artifacts))
    options = RunOptions(
        workdir=workdir,
        parallelism=args.parallelism or state.parallelism,
        cache=state.cache and not args.no_cache,
        pipeline_root=state.pipeline_root,
        stream_logs=not (args.json or args.quiet),
        metrics_file=args.metrics_file,
        runner=args.runner,
    )
    print(f"kfp-driver: resuming run {state.run_id} ({state.state})", file=sys.stderr)
    return LocalRunner(plan, options, Progress(enabled=not args.json), resume_id=state.run_id).run(parameters)


def _report(args: argparse.Namespace, result: Any) -> int:
    from driver.local.model import State
    from driver.local.progress import summary_table

    if args.json:
        print(json.dumps(result.summary(), indent=1, ensure_ascii=False))
    else:
        print(summary_table(result), file=sys.stderr)
        if result.outputs:
            print(json.dumps(result.summary()["outputs"], indent=1, ensure_ascii=False))
    if result.state == State.CANCELLED:
        return 130
    return 0 if result.state == State.SUCCEEDED else 1


def check_container_runtime(runtime: str) -> None:
    """One clear line (exit 2) unless ``runtime``'s CLI is installed and reaches its daemon."""
    import shutil
    import subprocess

    if shutil.which(runtime) is None:
        raise UsageError(f"--runner {runtime}: the {runtime} command is not installed", hint="or use --runner host")
    try:
        probe = subprocess.run([runtime, "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True,
                               timeout=30, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise UsageError(f"--runner {runtime}: `{runtime} info` did not answer in 30 s") from None
    if probe.returncode != 0:
        reason = (probe.stderr.strip().splitlines() or ["no reason given"])[-1]
        raise UsageError(f"--runner {runtime}: no {runtime} daemon reachable ({reason})", hint="start it, or use --runner host")
