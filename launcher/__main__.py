"""``kfp-launcher`` / ``python -m launcher``: run one KFP task (docs/task-spec.md)."""

from __future__ import annotations

import os
import shutil
import sys
import traceback
from pathlib import Path
from typing import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    from launcher.errors import LauncherError
    from launcher.log import Log
    from launcher.options import parse_options
    from launcher.process import Terminated, stop_on_signals

    try:
        options = parse_options(sys.argv[1:] if argv is None else argv, os.environ)
    except LauncherError as error:
        print(f"kfp-launcher: {error}", file=sys.stderr)
        return 1
    log = Log(options.run_id, options.task_path)
    stop_on_signals()
    scratch = _scratch_dir(options.environ)
    try:
        return _run(options, log, scratch)
    except LauncherError as error:
        log(str(error))
        return 1
    except Terminated as stop:
        log(f"stopped by signal {stop.signum} before the task started")
        return 128 + stop.signum
    except Exception:  # a launcher bug: say so, with the traceback
        log("internal error, please report:\n" + traceback.format_exc())
        return 1
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _scratch_dir(environ) -> Path:
    """A private directory for this attempt (tempfile costs an import of random; this does not)."""
    base = Path(environ.get("TMPDIR") or "/tmp")
    while True:
        path = base / f"kfp-launcher-{os.urandom(6).hex()}"
        try:
            path.mkdir(mode=0o700)
            return path
        except FileExistsError:
            continue


def _run(options, log, scratch: Path) -> int:
    from launcher.context import Context
    from launcher.phases import execute
    from launcher.retry import RetryCounter
    from launcher.spec import parse_spec
    from launcher.stores import Stores
    from launcher.stores.base import Transfers

    spec = parse_spec(options.spec)
    transfers = Transfers(options.retry, RetryCounter(), log)
    ctx = Context(options, spec, log, Stores(options.store, transfers), transfers, scratch)
    return execute(ctx)


if __name__ == "__main__":
    sys.exit(main())
