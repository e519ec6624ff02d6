"""``kfp-driver submit``: compile a pipeline and create it on a cluster (Kubernetes API or Argo Server)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from typing import Any

from driver.commands.compile import (add_manifest_options, compile_options, note_fixed_parameters,
                                     with_parameters)
from driver.errors import KfpDriverError, RunFailed, UsageError


def register(commands: Any) -> None:
    cmd = commands.add_parser("submit", help="compile and create the run on a cluster",
                              description="Compile KFP IR and create the Workflow/PipelineRun through the "
                                          "Kubernetes API (or Argo Server); optionally follow it to the end.")
    cmd.add_argument("ir", help="IR file (YAML or JSON); '-' reads stdin")
    cmd.add_argument("--target", choices=("argo", "tekton"), required=True)
    cmd.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)")
    cmd.add_argument("--context", help="kubeconfig context (default: its current context)")
    cmd.add_argument("--watch", action="store_true", help="follow the run, print task progress, exit 0/1 with its end state")
    cmd.add_argument("--poll-interval", type=float, default=2.0, metavar="SECONDS", help="--watch: seconds between reads")
    cmd.add_argument("--dry-run", action="store_true", help="server-side dry run: validated and admitted, not stored")
    cmd.add_argument("--json", action="store_true", help="print the result as one JSON object on stdout")
    cmd.add_argument("--argo-server", metavar="URL", help="create through Argo Server at URL instead of the Kubernetes API")
    cmd.add_argument("--argo-token", help="Argo Server token (default: $ARGO_TOKEN)")
    cmd.add_argument("--argo-insecure", action="store_true", help="do not verify Argo Server's TLS certificate")
    add_manifest_options(cmd)  # --namespace, --param, --param-file, --pipeline-root, ... as in `compile`
    cmd.set_defaults(handler=_submit)


def _submit(args: argparse.Namespace) -> int:
    from driver.output import check_size, render
    from driver.plan import load_plan
    from driver.submit.resources import RUNS, objects_of
    from translators import compiler_for

    _check_usage(args)
    plan = load_plan(args.ir)
    cluster = None
    if args.argo_server:
        namespace = args.namespace or "default"
    else:
        from driver.submit.cluster import connect

        cluster = connect(args.kubeconfig, args.context)
        namespace = args.namespace or cluster.namespace
    options = dataclasses.replace(compile_options(args), namespace=namespace)
    try:
        manifest = compiler_for(args.target)(plan, with_parameters(options, plan, args.param, args.param_file))
    except KfpDriverError as error:
        raise error.in_source(args.ir) from None
    check_size(render(manifest, "json"), args.ir)
    note_fixed_parameters(manifest, args.ir)
    objects = objects_of(manifest)
    if args.watch and objects[-1][0] not in RUNS:
        raise UsageError(f"--watch follows a run; this manifest is a {objects[-1][0].kind}", hint="drop --watch")
    created = []
    for resource, body in objects:
        if cluster is None:
            from driver.submit import argo_server

            token = args.argo_token or os.environ.get("ARGO_TOKEN")
            obj = argo_server.create(args.argo_server, token, namespace, resource, body,
                                     dry_run=args.dry_run, verify_tls=not args.argo_insecure)
        else:
            obj = cluster.create(resource, namespace, body, dry_run=args.dry_run)
        meta = obj.get("metadata", {})
        created.append({"kind": resource.kind, "namespace": meta.get("namespace", namespace),
                        "name": meta.get("name", ""), "uid": meta.get("uid", "")})
        if not args.json:
            print(f"{created[-1]['namespace']}/{created[-1]['name']}", flush=True)
        if args.dry_run:
            print(f"kfp-driver: dry run: the server accepted {resource.kind} {created[-1]['namespace']}/"
                  f"{created[-1]['name']} (nothing was stored)", file=sys.stderr)
    result: dict[str, Any] = {**created[-1], "dryRun": args.dry_run, "objects": created}
    if args.watch:
        from driver.submit.watch import follow

        run = created[-1]
        state = follow(cluster, objects[-1][0], run["namespace"], run["name"], [body for _, body in objects],
                       interval=args.poll_interval)
        result.update(state=state.phase, tasks=state.tasks)
        end = f"{run['kind']} {run['namespace']}/{run['name']} {state.phase}"
        if not state.succeeded:
            if args.json:
                print(json.dumps(result, indent=1))
            raise RunFailed(end + (f": {state.message}" if state.message else ""))
        print(f"kfp-driver: {end}", file=sys.stderr)
    if args.json:
        print(json.dumps(result, indent=1))
    return 0


def _check_usage(args: argparse.Namespace) -> None:
    if args.argo_server and args.target != "argo":
        raise UsageError("--argo-server submits Argo Workflows", hint="use --target argo")
    if args.argo_server and (args.kubeconfig or args.context):
        raise UsageError("--argo-server does not use --kubeconfig/--context", hint="give one or the other")
    if args.watch and args.argo_server:
        raise UsageError("--watch follows runs through the Kubernetes API, not Argo Server",
                         hint="drop --argo-server, or watch in the Argo UI")
    if args.watch and args.dry_run:
        raise UsageError("--watch cannot follow a dry run (nothing is created)", hint="drop one of them")
    if args.poll_interval <= 0:
        raise UsageError("--poll-interval must be positive")
