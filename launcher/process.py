"""Run the user's command: stdio passes straight through, SIGTERM/SIGINT/SIGHUP go to its process group."""

from __future__ import annotations

import os
import signal
import subprocess
from typing import Callable, Mapping, Sequence

FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


class Terminated(BaseException):
    """The launcher was asked to stop outside the user's command (raised from the signal handler)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def stop_on_signals() -> None:
    """Outside the user's command, a terminating signal aborts the launcher (no outputs published)."""

    def handler(signum, frame) -> None:
        raise Terminated(signum)

    for sig in FORWARDED:
        signal.signal(sig, handler)


def run_command(argv: Sequence[str], env: Mapping[str, str], say: Callable[[str], None]) -> tuple[int, list[int]]:
    """Run ``argv`` to completion; return (exit code as a shell reports it, signals forwarded to it).

    The command runs in its own session, so a shell's children receive forwarded signals too.
    """
    child: subprocess.Popen | None = None
    forwarded: list[int] = []

    def forward(signum, frame) -> None:
        forwarded.append(signum)
        if child is not None:
            _signal_group(child.pid, signum)

    previous = {sig: signal.signal(sig, forward) for sig in FORWARDED}
    try:
        try:
            child = subprocess.Popen(list(argv), env=dict(env), start_new_session=True)
        except FileNotFoundError:
            say(f"command not found: {argv[0]!r}")
            return 127, forwarded
        except PermissionError:
            say(f"command not executable: {argv[0]!r}")
            return 126, forwarded
        except OSError as error:  # e.g. E2BIG: an argument over the kernel's 128 KiB limit
            say(f"cannot start {argv[0]!r}: {error.strerror or error}")
            return 126, forwarded
        for signum in list(forwarded):  # arrived while the command was starting
            _signal_group(child.pid, signum)
        code = child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return (128 - code if code < 0 else code), forwarded


def _signal_group(pid: int, signum: int) -> None:
    try:
        os.killpg(pid, signum)
    except ProcessLookupError:
        pass
