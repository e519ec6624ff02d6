"""Run the user's command inside its image through a container engine's CLI (``--container-runtime``).

The launcher itself stays on the host (the local runner's ``--runner docker``): it resolves inputs and
placeholders to host paths as usual, and the container sees each directory those paths live in mounted at
the same path, so every path in the command line, the executor input and the output files is valid on
both sides. The spec's environment is passed by name (values travel in the CLI's environment, never in
its argv); the engine CLI forwards SIGTERM/SIGINT to the container (``--sig-proxy``, its default).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterable, Mapping, Sequence

RUNTIMES = ("docker", "podman")
_NAME_UNSAFE = re.compile(r"[^a-zA-Z0-9_.-]+")


def container_command(runtime: str, image: str, argv: Sequence[str], env: Mapping[str, str],
                      directories: Iterable[Path], name: str) -> tuple[list[str], dict[str, str]]:
    """(argv, environment) that run ``argv`` in ``image`` with ``env`` and ``directories`` mounted."""
    command = [runtime, "run", "--rm", "--name", _container_name(name), "--entrypoint", argv[0]]
    for directory in _outermost(directories):
        command += ["--volume", f"{directory}:{directory}"]
    for key in sorted(env):
        command += ["--env", key]
    command += ["--workdir", "/", image, *argv[1:]]
    return command, {**os.environ, **env}


def _outermost(directories: Iterable[Path]) -> list[Path]:
    """Each directory once, leaving out those inside another one (a nested mount adds nothing)."""
    chosen: list[Path] = []
    for directory in sorted({Path(os.path.abspath(d)) for d in directories}, key=lambda p: len(p.parts)):
        if not any(directory == kept or kept in directory.parents for kept in chosen):
            chosen.append(directory)
    return sorted(chosen)


def _container_name(name: str) -> str:
    """A unique, engine-valid container name (shows up in `docker ps` next to the task path)."""
    return f"kfp-{_NAME_UNSAFE.sub('-', name).strip('-.')[:80]}-{os.urandom(3).hex()}"
