"""``kfp-driver explain``: what each IR task becomes in the manifest, one task in full, or the manifest's size."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from driver.commands.compile import add_manifest_options, compile_options, with_parameters
from driver.errors import UsageError, did_you_mean


def register(commands: Any) -> None:
    cmd = commands.add_parser("explain", help="map IR tasks to the manifest; one task in full; manifest size",
                              description="Explain what the compiled manifest makes of each IR task: template or "
                                          "pipeline task, pod, condition (IR and engine), loop, input sources, "
                                          "artifact URIs.")
    cmd.add_argument("ir", help="IR file (YAML or JSON); '-' reads stdin")
    cmd.add_argument("--target", choices=("argo", "tekton"), default="argo")
    cmd.add_argument("--task", metavar="PATH", help="everything about one task (IR task path, e.g. outer/inner)")
    cmd.add_argument("--size", action="store_true", help="bytes per section and component, and the distance to "
                                                          "the ~1.5 MiB Kubernetes object limit")
    cmd.add_argument("--format", choices=("human", "json"), default="human")
    add_manifest_options(cmd)
    cmd.set_defaults(handler=_explain)


def _explain(args: argparse.Namespace) -> int:
    from driver.debug import explain_text
    from driver.debug.explain import explain
    from driver.plan import load_plan

    if args.size and args.task:
        raise UsageError("--size and --task cannot be combined", hint="--size is about the whole manifest")
    plan = load_plan(args.ir)
    options = with_parameters(compile_options(args), plan, args.param, args.param_file)
    explanation = explain(plan, args.target, options)
    if args.size:
        return _size(explanation.manifest, explanation.refusal, args.format)
    task = None
    if args.task is not None:
        task = explanation.task(args.task)
        if task is None:
            paths = [t.path for t in explanation.tasks]
            same_name = [t.path for t in explanation.tasks if t.name == args.task.rsplit("/", 1)[-1]]
            hint = (f"did you mean '{same_name[0]}'?" if len(same_name) == 1 else did_you_mean(args.task, paths)) \
                or "list the task paths with `kfp-driver explain IR`"
            raise UsageError(f"{plan.source_file}: no task with path '{args.task}'", hint=hint)
    if args.format == "json":
        sys.stdout.write(explain_text.as_json(explanation, task))
    elif task is not None:
        sys.stdout.write(explain_text.human_task(explanation, task))
    else:
        sys.stdout.write(explain_text.human_table(explanation))
    return 0


def _size(manifest: dict[str, Any] | None, refusal: str, fmt: str) -> int:
    import json

    from driver.debug.size import human, size_report
    from driver.errors import UnsupportedFeature

    if manifest is None:
        raise UnsupportedFeature(f"nothing to measure: {refusal}")
    objects = manifest["items"] if manifest.get("kind") == "List" else [manifest]
    reports = [(obj.get("kind", ""), size_report(obj)) for obj in objects]
    if fmt == "json":
        body: Any = [{"kind": kind, **r.to_json()} for kind, r in reports]
        sys.stdout.write(json.dumps(body if len(body) > 1 else body[0], indent=1, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write("\n".join((f"{kind}:\n" if len(reports) > 1 else "") + human(r) for kind, r in reports))
    return 0
