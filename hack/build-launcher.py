#!/usr/bin/env python3
"""Build kfp-launcher for task images, cached under ~/.cache/kfp-driver/launcher-build (never in the repo).

    python hack/build-launcher.py [--binary] [--zipapp] [--out DIR]

--binary  a self-contained executable (PyInstaller, onefile, with the obstore client) for glibc images
          without Python; it needs a glibc at least as new as the build machine's.
--zipapp  a single-file zipapp of the launcher's own sources (stdlib only) for images with any
          Python 3.9+; S3 goes through the launcher's pure-Python client unless that Python has obstore.
With neither flag, both are built. Prints one built path per line; --out also copies them into DIR.
A build is reused while the launcher's sources, this script and the Python version are unchanged.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipapp
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("KFP_DRIVER_CACHE", Path.home() / ".cache" / "kfp-driver")) / "launcher-build"
BINARY_REQUIREMENTS = ["pyinstaller>=6.10,<7", "obstore>=0.12,<0.13"]
ENTRY = "import sys\nfrom launcher.__main__ import main\nsys.exit(main())\n"


class BuildError(Exception):
    pass


def sources() -> list[Path]:
    return sorted((REPO / "launcher").rglob("*.py"))


def digest(*extra: str) -> str:
    sha = hashlib.sha256()
    for path in [*sources(), Path(__file__)]:
        sha.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes())
    sha.update("\0".join([sys.version, *extra]).encode())
    return sha.hexdigest()[:16]


def build_zipapp() -> Path:
    target = CACHE / f"zipapp-{digest()}" / "kfp-launcher.pyz"
    if target.exists():
        return target
    with tempfile.TemporaryDirectory() as tmp:
        stage = Path(tmp) / "app"
        for path in sources():
            copy = stage / path.relative_to(REPO)
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, copy)
        (stage / "__main__.py").write_text(ENTRY)
        built = Path(tmp) / "kfp-launcher.pyz"
        zipapp.create_archive(stage, built, interpreter="/usr/bin/env python3", compressed=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(built, target)  # atomic: a concurrent build never sees half a file
    _prune("zipapp", target.parent)
    return target


def build_binary() -> Path:
    target = CACHE / f"binary-{digest(*BINARY_REQUIREMENTS)}" / "kfp-launcher"
    if target.exists():
        return target
    venv = _build_venv()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "kfp_launcher.py").write_text(ENTRY)
        # --strip: symbols off the bundled libraries (libpython shrinks ~4x), since onefile unpacks
        # everything on every start
        command = [str(venv / "bin" / "pyinstaller"), "--onefile", "--strip", "--name", "kfp-launcher", "--noconfirm",
                   "--log-level", "WARN", "--paths", str(REPO), "--distpath", str(work / "dist"),
                   "--workpath", str(work / "build"), "--specpath", str(work),
                   "--collect-submodules", "launcher", "--hidden-import", "obstore",
                   *[arg for name in ("tkinter", "unittest", "pydoc", "doctest", "pdb", "lib2to3")
                     for arg in ("--exclude-module", name)],
                   str(work / "kfp_launcher.py")]
        result = subprocess.run(command, capture_output=True, text=True, cwd=work)
        if result.returncode != 0:
            raise BuildError(f"pyinstaller failed:\n{result.stderr[-3000:]}")
        target.parent.mkdir(parents=True, exist_ok=True)
        staged = target.with_name(".kfp-launcher.tmp")
        shutil.copy2(work / "dist" / "kfp-launcher", staged)
        os.replace(staged, target)
    _prune("binary", target.parent)
    return target


def _prune(kind: str, keep: Path) -> None:
    """Remove the builds of older sources."""
    for old in CACHE.glob(f"{kind}-*"):
        if old != keep:
            shutil.rmtree(old, ignore_errors=True)


def _build_venv() -> Path:
    """A venv with PyInstaller and obstore, kept apart from the project's environment."""
    venv = CACHE / f"venv-py{sys.version_info.major}.{sys.version_info.minor}"
    marker = venv / ".complete"
    wanted = "\n".join(BINARY_REQUIREMENTS)
    if marker.exists() and marker.read_text() == wanted:
        return venv
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    result = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                             *BINARY_REQUIREMENTS], capture_output=True, text=True)
    if result.returncode != 0:
        raise BuildError(f"cannot install {' '.join(BINARY_REQUIREMENTS)}: {result.stderr.strip()[-1000:]}")
    marker.write_text(wanted)
    return venv


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", action="store_true")
    parser.add_argument("--zipapp", action="store_true")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    both = not (args.binary or args.zipapp)
    try:
        built = ([build_binary()] if args.binary or both else []) + ([build_zipapp()] if args.zipapp or both else [])
    except BuildError as error:
        print(f"build-launcher: {error}", file=sys.stderr)
        return 1
    for path in built:
        if args.out:
            args.out.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, args.out / path.name)
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
