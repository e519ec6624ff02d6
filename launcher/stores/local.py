"""Local files (``file://`` URIs or plain paths): zero-copy reads, publish by rename."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

from launcher.errors import NotFound, StoreError
from launcher.stores.base import (
    Entry,
    Stat,
    Store,
    dir_stat,
    hash_file,
    remove_path,
    replace_path,
    temp_sibling,
    walk_files,
)


def path_of(uri: str) -> Path:
    """``file:///a/b`` or ``/a/b`` -> ``/a/b``."""
    return Path(uri[len("file://"):] if uri.startswith("file://") else uri)


class FileStore(Store):
    """Artifacts are the files themselves. A directory is published by one rename, so it needs no marker."""

    def local_path(self, uri: str) -> Path:
        return path_of(uri)

    def upload(self, local: Path, uri: str) -> Stat:
        target = path_of(uri)
        if local.resolve() != target.resolve():
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                replace_path(local, target)
            except OSError as error:
                if error.errno != errno.EXDEV:
                    raise StoreError(f"publish {uri}: {error.strerror or error}") from None
                self._copy_into_place(local, target)
        return self._stat(uri, target, digest=True)

    def download(self, uri: str, local: Path) -> Stat:
        source = path_of(uri)
        if not source.exists():
            raise NotFound(f"{uri}: no such artifact")
        self._copy_into_place(source, local)
        return self._stat(uri, local, digest=True)

    def stat(self, uri: str, *, digest: bool = False) -> Stat:
        return self._stat(uri, path_of(uri), digest=digest)

    def write_bytes(self, uri: str, data: bytes) -> None:
        target = path_of(uri)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            staging = temp_sibling(target, "tmp")
            staging.write_bytes(data)
            os.replace(staging, target)
        except OSError as error:
            raise StoreError(f"write {uri}: {error.strerror or error}") from None

    def read_bytes(self, uri: str) -> bytes:
        try:
            return path_of(uri).read_bytes()
        except FileNotFoundError:
            raise NotFound(f"{uri}: no such file") from None
        except OSError as error:
            raise StoreError(f"read {uri}: {error.strerror or error}") from None

    @staticmethod
    def _copy_into_place(source: Path, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = temp_sibling(target, "part")
        try:
            if source.is_dir():
                shutil.copytree(source, staging)
            else:
                shutil.copyfile(source, staging)
            replace_path(staging, target)
        finally:
            remove_path(staging)

    @staticmethod
    def _stat(uri: str, path: Path, *, digest: bool) -> Stat:
        if path.is_dir():
            if not digest:
                return Stat(uri, "dir", sum((path / rel).stat().st_size for rel in walk_files(path)))
            return dir_stat(uri, [Entry(rel, *hash_file(path / rel)) for rel in walk_files(path)])
        if not path.exists():
            raise NotFound(f"{uri}: no such artifact")
        if not digest:
            return Stat(uri, "file", path.stat().st_size)
        size, sha = hash_file(path)
        return Stat(uri, "file", size, "sha256:" + sha)
