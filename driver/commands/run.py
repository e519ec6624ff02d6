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
    cmd.add_argument("ir", help="IR file (YAML or JSON); '-' reads stdin")
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
    cmd.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    import os

    from driver.local.model import RunOptions, State
    from driver.local.params import parse_run_parameters
    from driver.local.progress import Progress, summary_table
    from driver.local.runner import LocalRunner
    from driver.plan import load_plan

    plan = load_plan(args.ir)
    parameters = parse_run_parameters(plan, args.param, args.param_file)
    if args.parallelism is not None and args.parallelism < 1:
        raise UsageError("--parallelism must be at least 1")
    options = RunOptions(
        workdir=Path(args.workdir).resolve(),
        parallelism=args.parallelism or os.cpu_count() or 2,
        cache=not args.no_cache,
        pipeline_root=args.pipeline_root or "",
        stream_logs=not (args.json or args.quiet),
    )
    if args.engine == "local":
        result = LocalRunner(plan, options, Progress(enabled=not args.json)).run(parameters)
    else:
        from driver.engines import run_on_engine

        result = run_on_engine(args.engine, plan, parameters, options)
    if args.json:
        print(json.dumps(result.summary(), indent=1, ensure_ascii=False))
    else:
        print(summary_table(result), file=sys.stderr)
        if result.outputs:
            print(json.dumps(result.summary()["outputs"], indent=1, ensure_ascii=False))
    if result.state == State.CANCELLED:
        return 130
    return 0 if result.state == State.SUCCEEDED else 1
