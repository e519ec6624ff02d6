"""``kfp-driver compile``: IR files to Argo Workflows or Tekton PipelineRuns."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

from driver.errors import KfpDriverError, UsageError, report
from driver.output import check_size, render, write_text
from driver.plan.model import Plan
from translators.options import CompileOptions, StoreOptions


def register(commands: Any) -> None:
    cmd = commands.add_parser("compile", help="IR -> Argo Workflow or Tekton PipelineRun",
                              description="Compile KFP IR files to engine manifests.")
    cmd.add_argument("ir", nargs="+", help="IR file(s) (YAML or JSON); '-' reads stdin")
    cmd.add_argument("--target", choices=("argo", "tekton"), default="argo")
    cmd.add_argument("-o", "--output", help="output file, or a directory when compiling several files")
    cmd.add_argument("--format", choices=("yaml", "json"), help="default: json for *.json outputs, else yaml")
    add_manifest_options(cmd)
    cmd.set_defaults(handler=_compile)


def add_manifest_options(cmd: argparse.ArgumentParser) -> None:
    """The flags that shape a manifest (read back by ``compile_options`` and ``with_parameters``)."""
    cmd.add_argument("--pipeline-root", help="artifact root URI (default: the IR's, else minio://mlpipeline/v2/artifacts)")
    cmd.add_argument("--launcher-image", help="image the launcher is copied from (env KFP_DRIVER_LAUNCHER_IMAGE)")
    cmd.add_argument("--service-account", help="service account for task pods")
    cmd.add_argument("--namespace", help="namespace to put in the manifest")
    cmd.add_argument("--store-endpoint", help="S3-compatible endpoint URL for task pods")
    cmd.add_argument("--store-region", help="object store region")
    cmd.add_argument("--store-secret", help="Secret with keys accesskey/secretkey for the object store")
    cmd.add_argument("--workflow-template", action="store_true", help="Argo: emit a WorkflowTemplate")
    cmd.add_argument("--separate-pipeline", action="store_true", help="Tekton: emit a Pipeline and a PipelineRun")
    cmd.add_argument("--no-metrics", dest="metrics", action="store_false", help="Argo: no Prometheus metrics")
    cmd.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                     help="this run's value for a pipeline parameter (typed as in `run`; default: the IR's)")
    cmd.add_argument("--param-file", help="JSON or YAML file with a mapping of parameter values")


def compile_options(args: argparse.Namespace) -> CompileOptions:
    """Compile options from the flags above (and ``KFP_DRIVER_*`` environment variables)."""

    options = CompileOptions.from_env(
        pipeline_root=args.pipeline_root,
        launcher_image=args.launcher_image,
        service_account=args.service_account,
        namespace=args.namespace,
        workflow_template=args.workflow_template,
        separate_pipeline=args.separate_pipeline,
        metrics=args.metrics,
    )
    store = options.store
    store = StoreOptions(
        endpoint=args.store_endpoint or store.endpoint,
        region=args.store_region or store.region,
        secret=args.store_secret or store.secret,
    )
    return dataclasses.replace(options, store=store)


def with_parameters(options: CompileOptions, plan: Plan, pairs: list[str], param_file: str | None) -> CompileOptions:
    """``options`` carrying the run's parameter values given on the command line (typed by the IR)."""
    if not pairs and not param_file:
        return options
    from driver.local.model import ArtifactRef
    from driver.local.params import parse_run_parameters

    values = parse_run_parameters(plan, pairs, param_file, complete=False)
    values = {name: value.to_json() if isinstance(value, ArtifactRef) else value for name, value in values.items()}
    return dataclasses.replace(options, parameters=values)


def _compile(args: argparse.Namespace) -> int:
    from driver.plan import load_plan
    from translators import compiler_for

    compile_one = compiler_for(args.target)
    options = compile_options(args)
    many = len(args.ir) > 1
    if many and (args.param or args.param_file):
        raise UsageError("--param/--param-file apply to one pipeline", hint="compile that file alone")
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
            plan = load_plan(source)
            run_options = with_parameters(options, plan, args.param, args.param_file)
            manifest = compile_one(plan, run_options)
            if out_dir is not None:
                fmt = args.format or "yaml"
                target = out_dir / f"{Path(source).stem}.{fmt}"
            else:
                target = Path(args.output) if args.output else None
                fmt = args.format or ("json" if target is not None and target.suffix == ".json" else "yaml")
            text = render(manifest, fmt)
            check_size(text, source)
            write_text(text, target)
            note_fixed_parameters(manifest, source)
            note_missing_values(plan, run_options, source)
        except KfpDriverError as error:
            if not many:
                raise error.in_source(source) from None
            problems.append(error.in_source(source))
    for error in problems:
        report(error)
    return 2 if problems else 0


def note_fixed_parameters(manifest: dict[str, Any], source: str) -> None:
    """Tekton may fix parameters into the run (translators/tekton/pipelinerun.py): say so, never silently."""
    from translators.tekton.pipelinerun import FIXED_PARAMETERS_ANNOTATION

    fixed = manifest.get("metadata", {}).get("annotations", {}).get(FIXED_PARAMETERS_ANNOTATION)
    if fixed:
        print(f"kfp-driver: note: {source}: parameter(s) {fixed} are fixed into this PipelineRun (Tekton cannot "
              "take them as parameters here); compile again to change them", file=sys.stderr)


def note_missing_values(plan: Plan, options: CompileOptions, source: str) -> None:
    """Required inputs without a value are fine in a template, but the run needs them: say which."""
    given = options.parameters
    missing = sorted(name for name, param in plan.root.inputs.parameters.items() if param.required and name not in given)
    missing += sorted(name for name, artifact in plan.root.inputs.artifacts.items()
                      if not artifact.optional and name not in given)
    if missing:
        print(f"kfp-driver: note: {source}: no value for required input(s) {', '.join(missing)}; give them with "
              "--param, or when the run is created (argo submit -p, PipelineRun params)", file=sys.stderr)
