"""The ``kfp-driver`` command line. Exit codes: 0 success, 1 a failed run, 2 bad input or usage."""

from __future__ import annotations

import argparse
import json
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

from driver.errors import KfpDriverError, UsageError

K8S_OBJECT_LIMIT = 1_572_864  # ~1.5 MiB: etcd's default request size limit for one object


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 too, but with its own wording
        raise UsageError(f"{self.prog}: {message}", hint=f"see '{self.prog} --help'")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
        return int(args.handler(args) or 0)
    except KfpDriverError as error:
        _report(error)
        return error.exit_code
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        print("kfp-driver: interrupted", file=sys.stderr)
        return 130


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="kfp-driver", description="Compile, check and run Kubeflow Pipelines v2 IR.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _add_compile(commands)
    _add_run(commands)
    return parser


# -- compile --------------------------------------------------------------------------------------


def _add_compile(commands: Any) -> None:
    cmd = commands.add_parser("compile", help="IR -> Argo Workflow or Tekton PipelineRun",
                              description="Compile KFP IR files to engine manifests.")
    cmd.add_argument("ir", nargs="+", help="IR file(s) (YAML or JSON); '-' reads stdin")
    cmd.add_argument("--target", choices=("argo", "tekton"), default="argo")
    cmd.add_argument("-o", "--output", help="output file, or a directory when compiling several files")
    cmd.add_argument("--format", choices=("yaml", "json"), help="default: json for *.json outputs, else yaml")
    cmd.add_argument("--pipeline-root", help="artifact root URI (default: the IR's, else minio://mlpipeline/v2/artifacts)")
    cmd.add_argument("--launcher-image", help="image the launcher is copied from (env KFP_DRIVER_LAUNCHER_IMAGE)")
    cmd.add_argument("--service-account", help="service account for task pods")
    cmd.add_argument("--namespace", help="namespace to put in the manifest")
    cmd.add_argument("--store-endpoint", help="S3-compatible endpoint URL for task pods")
    cmd.add_argument("--store-region", help="object store region")
    cmd.add_argument("--store-secret", help="Secret with keys accesskey/secretkey for the object store")
    cmd.add_argument("--workflow-template", action="store_true", help="Argo: emit a WorkflowTemplate")
    cmd.add_argument("--separate-pipeline", action="store_true", help="Tekton: emit a Pipeline and a PipelineRun")
    cmd.set_defaults(handler=_compile)


def _compile_options(args: argparse.Namespace):
    import dataclasses

    from translators.options import CompileOptions, StoreOptions

    options = CompileOptions.from_env(
        pipeline_root=args.pipeline_root,
        launcher_image=args.launcher_image,
        service_account=args.service_account,
        namespace=args.namespace,
        workflow_template=args.workflow_template,
        separate_pipeline=args.separate_pipeline,
    )
    store = options.store
    store = StoreOptions(
        endpoint=args.store_endpoint or store.endpoint,
        region=args.store_region or store.region,
        secret=args.store_secret or store.secret,
    )
    return dataclasses.replace(options, store=store)


def _compile(args: argparse.Namespace) -> int:
    from driver.plan import load_plan
    from translators import compiler_for

    compile_one = compiler_for(args.target)
    options = _compile_options(args)
    many = len(args.ir) > 1
    if many and not args.output:
        raise UsageError("several IR files need -o DIR", hint="give an output directory")
    if many and "-" in args.ir:
        raise UsageError("stdin ('-') can only be compiled alone")
    out_dir = Path(args.output) if many else None
    if out_dir is not None:
        if out_dir.exists() and not out_dir.is_dir():
            raise UsageError(f"{out_dir} is not a directory", hint="give a directory for several IR files")
        out_dir.mkdir(parents=True, exist_ok=True)
    problems: list[KfpDriverError] = []
    for source in args.ir:
        try:
            manifest = compile_one(load_plan(source), options)
            if out_dir is not None:
                fmt = args.format or "yaml"
                target = out_dir / f"{Path(source).stem}.{fmt}"
            else:
                target = Path(args.output) if args.output else None
                fmt = args.format or ("json" if target is not None and target.suffix == ".json" else "yaml")
            text = render(manifest, fmt)
            check_size(text, source)
            _write(text, target)
        except KfpDriverError as error:
            if not many:
                raise
            problems.append(error)
    for error in problems:
        _report(error)
    return 2 if problems else 0


def _report(error: KfpDriverError) -> None:
    """Every problem on its own line, each starting with the program name."""
    for line in str(error).splitlines():
        print(f"kfp-driver: {line}", file=sys.stderr)


# -- run ------------------------------------------------------------------------------------------


def _add_run(commands: Any) -> None:
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
    cmd.add_argument("--engine", choices=("local",), default="local", help="execution engine")
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
    result = LocalRunner(plan, options, Progress(enabled=not args.json)).run(parameters)
    if args.json:
        print(json.dumps(result.summary(), indent=1, ensure_ascii=False))
    else:
        print(summary_table(result), file=sys.stderr)
        if result.outputs:
            print(json.dumps(result.summary()["outputs"], indent=1, ensure_ascii=False))
    if result.state == State.CANCELLED:
        return 130
    return 0 if result.state == State.SUCCEEDED else 1


def render(manifest: Any, fmt: str) -> str:
    """Manifest text: YAML through the C dumper when available, or compact-but-readable JSON."""
    if fmt == "json":
        return json.dumps(manifest, indent=1, ensure_ascii=False) + "\n"
    import yaml

    return yaml.dump(manifest, Dumper=_dumper(), sort_keys=False, allow_unicode=True, width=4096)


@lru_cache(maxsize=1)
def _dumper() -> type:
    """The C dumper when available; never emits aliases (manifests repeat small dicts on purpose)."""
    import yaml

    class Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
        def ignore_aliases(self, data: Any) -> bool:
            return True

    return Dumper


def check_size(text: str, source: str) -> None:
    size = len(text.encode())
    if size > K8S_OBJECT_LIMIT:
        raise KfpDriverError(
            f"{source}: the manifest is {size:,} bytes, over the ~1.5 MiB Kubernetes object limit",
            hint="split the pipeline or move large constants into artifacts")


def _write(text: str, target: Path | None) -> None:
    if target is None:
        sys.stdout.write(text)
        return
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(target)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
