#!/usr/bin/env python3
"""Build the Argo harness (Argo's real workflow controller, in-process) once and print the binary's path.

    hack/argo-harness/build.py

The pinned argo-workflows module (``go.mod`` here, checked by ``go.sum``) is taken from the Go module
cache (``go mod download -json`` gives its directory), copied into
``~/.cache/kfp-driver/go/src/argo-<version>-<key>/`` (writable), the files under ``overlay/`` are laid
over it (the harness is ``overlay/workflow/controller/zz_kfp_harness_test.go``, a test file so it can
use Argo's unexported test helpers), and the package's test binary is built with ``go test -c`` into
``~/.cache/kfp-driver/go/bin/argo-harness-<key>``. The key hashes the Go version and every file of this
directory, so an edit rebuilds (about 10 s once Go's build cache is warm; older builds are removed)
and a rerun is instant. No upstream code lives in this repository.
Exit codes: 0 built (path on stdout), 3 Go is missing, 1 the build failed (Go's output on stderr).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from gobuild import GO_MISSING, cache_root, module_key  # noqa: E402

MODULE = "github.com/argoproj/argo-workflows/v3"
PACKAGE = "./workflow/controller"
NAME = "argo-harness"


class BuildError(Exception):
    """The harness cannot be built; ``code`` is the exit code (GO_MISSING when Go is missing)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def pinned_version() -> str:
    for line in (HERE / "go.mod").read_text().splitlines():
        parts = line.split()
        if MODULE in parts:
            return parts[parts.index(MODULE) + 1]
    raise BuildError(1, f"go.mod does not require {MODULE}")


def build() -> Path:
    """Return the cached harness binary, building it first if needed."""
    go = shutil.which("go")
    if go is None:
        raise BuildError(GO_MISSING, "Go is not installed (needed to build the Argo harness)")
    version = pinned_version()
    key = module_key(HERE, go)
    binary = cache_root() / "bin" / f"{NAME}-{key}"
    if binary.exists():
        return binary
    binary.parent.mkdir(parents=True, exist_ok=True)
    with open(binary.parent / f".{NAME}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build at a time; others wait and reuse it
        if binary.exists():
            return binary
        print(f"argo-harness: building Argo {version} controller harness (first use; cached afterwards)",
              file=sys.stderr)
        source = _prepare_source(go, version, key)
        tmp = binary.with_name(f".{binary.name}.tmp")
        done = subprocess.run([go, "test", "-c", "-trimpath", "-o", str(tmp), PACKAGE], cwd=source,
                              stdout=sys.stderr, env={**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=readonly"})
        if done.returncode != 0:
            raise BuildError(1, f"building the Argo harness failed (go exit {done.returncode}; Go's output is above)")
        tmp.replace(binary)
        _prune(key)
    return binary


def _prune(key: str) -> None:
    """Older harness builds (about 130 MB each, plus a 53 MB source copy) go once a new one exists."""
    for path in [*(cache_root() / "bin").glob(f"{NAME}-*"), *(cache_root() / "src").glob("argo-*")]:
        if not path.name.endswith(key):
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)


def _prepare_source(go: str, version: str, key: str) -> Path:
    """A writable copy of the pinned module with the overlay files laid over it."""
    source = cache_root() / "src" / f"argo-{version}-{key}"
    if (source / ".complete").exists():
        return source
    download = subprocess.run([go, "mod", "download", "-json", f"{MODULE}@{version}"], cwd=HERE,
                              capture_output=True, text=True)
    info = json.loads(download.stdout or "{}")
    if download.returncode != 0 or not info.get("Dir"):
        message = info.get("Error") or download.stderr.strip() or "no module directory"
        raise BuildError(1, f"go mod download {MODULE}@{version} failed: {message}")
    if source.exists():
        shutil.rmtree(source)
    shutil.copytree(info["Dir"], source, copy_function=shutil.copy)
    for path in [source, *source.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)
    overlay = HERE / "overlay"
    for path in overlay.rglob("*"):
        if path.is_file():
            target = source / path.relative_to(overlay)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target)
    (source / ".complete").write_text(version)
    return source


def harness_command(binary: Path, manifest: Path, workdir: Path, launcher: list[str], *, seed: Path | None = None,
                    parallelism: int = 0, timeout: float = 1800, stall: float = 10) -> list[str]:
    """The harness's command line: it writes its result document to ``workdir/harness.json``."""
    command = [str(binary), "-test.run", "^TestKfpHarness$", "-kfp.manifest", str(manifest.resolve()),
               "-kfp.workdir", str(workdir), "-kfp.out", str(workdir / "harness.json"),
               "-kfp.launcher", json.dumps(launcher), "-kfp.timeout", f"{timeout}s", "-kfp.stall", f"{stall}s"]
    if seed is not None:
        command += ["-kfp.seed", str(seed.resolve())]
    if parallelism > 0:
        command += ["-kfp.parallelism", str(parallelism)]
    return command


def main() -> int:
    try:
        print(build())
    except BuildError as error:
        print(f"argo-harness: {error}", file=sys.stderr)
        return error.code
    return 0


if __name__ == "__main__":
    sys.exit(main())
