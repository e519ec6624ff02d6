#!/usr/bin/env python3
"""Build a Go program from a module under ``hack/`` once and print the binary's path.

    hack/gobuild.py MODULE_DIR PACKAGE NAME [--test]

The binary lands in ``~/.cache/kfp-driver/go/bin/NAME-<key>`` (``KFP_DRIVER_CACHE`` moves the root),
where the key hashes the Go version and every file of the module directory, so an edit rebuilds and a
rerun is instant. Module downloads and compiled packages stay in Go's own caches, shared by every
program. ``--test`` builds the package's test binary (``go test -c``) instead of ``go build``.
Exit codes: 0 built (path on stdout), 3 Go is missing, 1 the build failed (Go's output on stderr).
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

GO_MISSING = 3


def cache_root() -> Path:
    return Path(os.environ.get("KFP_DRIVER_CACHE", Path.home() / ".cache" / "kfp-driver")) / "go"


def module_key(module_dir: Path, go: str) -> str:
    """Go's version and every file of the module and of the local modules its go.mod replaces it with."""
    digest = hashlib.sha256(subprocess.run([go, "version"], capture_output=True, text=True).stdout.encode())
    for directory in [module_dir, *local_replacements(module_dir)]:
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            digest.update(str(path.relative_to(directory.parent)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def local_replacements(module_dir: Path) -> list[Path]:
    """Directories of ``replace X => ../dir`` lines (modules shared between tools under hack/)."""
    go_mod = (module_dir / "go.mod").read_text(encoding="utf-8")
    targets = re.findall(r"=>\s*(\.{1,2}/\S+)\s*$", go_mod, flags=re.MULTILINE)
    return [(module_dir / target).resolve() for target in targets]


def build(module_dir: Path, package: str, name: str, *, test: bool = False) -> Path:
    """Return the cached binary for ``package`` of ``module_dir``, building it first if needed."""
    go = shutil.which("go")
    if go is None:
        raise SystemExit(_fail(GO_MISSING, "Go is not installed (needed to build the engine tools under hack/)"))
    module_dir = module_dir.resolve()
    binary = cache_root() / "bin" / f"{name}-{module_key(module_dir, go)}"
    if binary.exists():
        return binary
    binary.parent.mkdir(parents=True, exist_ok=True)
    with open(binary.parent / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build at a time per program; others wait and reuse it
        if binary.exists():
            return binary
        print(f"gobuild: building {name} (first use; cached afterwards)", file=sys.stderr)
        tmp = binary.with_name(f".{binary.name}.tmp")
        verb = ["test", "-c"] if test else ["build"]
        done = subprocess.run([go, *verb, "-trimpath", "-o", str(tmp), package], cwd=module_dir,
                              stdout=sys.stderr, env={**os.environ, "CGO_ENABLED": "0"})
        if done.returncode != 0:
            raise SystemExit(_fail(1, f"building {name} failed (go exit {done.returncode})"))
        tmp.replace(binary)
    return binary


def _fail(code: int, message: str) -> int:
    print(f"gobuild: {message}", file=sys.stderr)
    return code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("module_dir", type=Path)
    parser.add_argument("package")
    parser.add_argument("name")
    parser.add_argument("--test", action="store_true", help="build the package's test binary")
    args = parser.parse_args()
    print(build(args.module_dir, args.package, args.name, test=args.test))


if __name__ == "__main__":
    main()
