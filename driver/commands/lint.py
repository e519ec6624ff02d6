"""``kfp-driver lint``: check IR files or generated manifests; exit 1 on errors (or warnings with --strict)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from driver.errors import UsageError, report
from driver.lint.model import DEFAULT_MAX_FANOUT


def register(commands: Any) -> None:
    cmd = commands.add_parser("lint", help="find problems in IR files or generated manifests",
                              description="Lint KFP IR files (rules) or Argo/Tekton manifests (schema and the "
                                          "engine's own validation). Exit 1 when an error is found (or a "
                                          "warning, with --strict), 2 when a file cannot be loaded.")
    cmd.add_argument("files", nargs="+", metavar="FILE",
                     help="IR or manifest file(s), YAML or JSON; '-' reads stdin")
    cmd.add_argument("--target", choices=("argo", "tekton"), default="argo",
                     help="engine the IR will be compiled for (default: argo)")
    cmd.add_argument("--format", choices=("human", "json"), default="human")
    cmd.add_argument("--strict", action="store_true", help="warnings fail too (exit 1)")
    cmd.add_argument("--max-fanout", type=int, default=DEFAULT_MAX_FANOUT, metavar="N",
                     help="most loop iterations (nested loops multiplied) before a warning "
                          f"(default {DEFAULT_MAX_FANOUT}: Tekton's matrix limit)")
    cmd.set_defaults(handler=_lint)


def _lint(args: argparse.Namespace) -> int:
    from driver.lint.model import LintOptions
    from driver.lint.run import lint_paths
    from driver.lint.report import as_json, human

    if args.max_fanout < 1:
        raise UsageError(f"--max-fanout {args.max_fanout}: must be at least 1")
    if args.files.count("-") > 1:
        raise UsageError("stdin ('-') can be linted only once")
    result = lint_paths(args.files, LintOptions(target=args.target, max_fanout=args.max_fanout))
    if args.format == "json":
        sys.stdout.write(as_json(result))
    else:
        for error in result.input_errors:
            report(error)
        sys.stdout.write(human(result))
    return result.exit_code(args.strict)
