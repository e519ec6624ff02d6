"""The ``kfp-driver`` command line. Exit codes: 0 success, 1 a failed run, 2 bad input or usage.

Each subcommand lives in ``driver/commands/<name>.py``; this module only builds the parser and maps
errors to exit codes.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from driver.commands import COMMANDS
from driver.errors import KfpDriverError, UsageError, report


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 too, but with its own wording
        raise UsageError(f"{self.prog}: {message}", hint=f"see '{self.prog} --help'")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
        return int(args.handler(args) or 0)
    except KfpDriverError as error:
        report(error)
        return error.exit_code
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        print("kfp-driver: interrupted", file=sys.stderr)
        return 130


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="kfp-driver", description="Compile, check and run Kubeflow Pipelines v2 IR.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in COMMANDS:
        importlib.import_module(f"driver.commands.{name}").register(commands)
    return parser


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
