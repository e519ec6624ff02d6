"""Isolated task environments for lightweight Python components, built once and reused.

A lightweight component's command starts with ``pip install kfp==X ...``. Locally we never install into
the user's Python: the same ``pip install`` arguments go into a virtualenv under the cache directory,
keyed by the interpreter and the arguments, and the task runs with that virtualenv first on PATH. The
install preamble is then dropped from the command, since its packages are already there.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

from driver.errors import KfpDriverError

DEFAULT_CACHE = Path(os.environ.get("KFP_DRIVER_CACHE", Path.home() / ".cache" / "kfp-driver"))


class TaskEnvironmentError(KfpDriverError):
    """A task environment could not be built."""

    exit_code = 1


def env_key(installs: tuple[tuple[str, ...], ...], python: str = sys.executable) -> str:
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    payload = json.dumps([version, os.path.realpath(python), [list(i) for i in installs]])
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def ensure_env(installs: tuple[tuple[str, ...], ...], *, cache: Path = DEFAULT_CACHE,
               say: Callable[[str], None] = print) -> Path:
    """The virtualenv for ``installs`` (built on first use; safe when several runs race)."""
    root = cache / "envs"
    root.mkdir(parents=True, exist_ok=True)
    key = env_key(installs)
    target = root / key
    if (target / ".complete").exists():
        return target
    with open(root / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / ".complete").exists():
            return target
        packages = " ".join(" ".join(args) for args in installs)
        say(f"preparing a task environment for: {packages} (first time only; cached in {target})")
        started = time.monotonic()
        # built in place under the lock; the marker written last makes it usable
        shutil.rmtree(target, ignore_errors=True)
        _run([sys.executable, "-m", "venv", str(target)], "create a virtualenv")
        pip = [str(target / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        for args in installs:
            _run(pip + list(args), f"pip install {' '.join(args)}")
        (target / ".complete").write_text(packages + "\n")
        say(f"task environment ready in {time.monotonic() - started:.1f} s")
    return target


def _run(command: list[str], what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise TaskEnvironmentError(f"could not {what}: {' | '.join(tail)}",
                                hint="check network access to the package index and the package names")


def strip_install_preamble(command: list) -> list:
    """``sh -c '<pip install ...> && "$0" "$@"' sh -ec PROGRAM ...`` -> ``sh -ec PROGRAM ...`` (same behaviour)."""
    if (len(command) > 3 and command[:2] == ["sh", "-c"] and isinstance(command[2], str)
            and "pip install" in command[2] and command[2].rstrip().endswith('"$0" "$@"')):
        return command[3:]
    return command
