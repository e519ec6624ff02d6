"""SVG and PNG through Graphviz's ``dot`` program."""

from __future__ import annotations

import shutil
import subprocess

from driver.errors import KfpDriverError

TIMEOUT_SECONDS = 120


def render_image(dot_source: str, fmt: str) -> bytes:
    """``dot_source`` drawn as ``fmt`` (svg or png) by Graphviz."""
    program = shutil.which("dot")
    if program is None:
        raise KfpDriverError(f"--format {fmt} needs Graphviz's 'dot' program, which is not installed",
                             hint="install it (Debian/Ubuntu: apt-get install graphviz; macOS: brew install "
                                  "graphviz) or use --format dot or mermaid")
    try:
        done = subprocess.run([program, f"-T{fmt}"], input=dot_source.encode(), capture_output=True,
                              timeout=TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        raise KfpDriverError(f"Graphviz did not finish within {TIMEOUT_SECONDS} s",
                             hint="draw fewer tasks (leave out --expand)") from None
    if done.returncode != 0:
        reason = done.stderr.decode(errors="replace").strip().splitlines()
        raise KfpDriverError(f"Graphviz failed: {reason[-1] if reason else f'exit code {done.returncode}'}")
    return done.stdout
