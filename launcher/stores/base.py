"""The artifact store interface, and the directory protocol every object store shares.

A file artifact is one object at its URI. A directory artifact is one object per file under
``<uri>/``, published as: ``.kfp-pending`` marker, the files, then the completion marker
``.kfp-complete`` (a JSON manifest of relative path, size and sha256 per file), then the pending marker
is removed. A reader only trusts a directory whose completion marker exists; a prefix with neither
marker was written by someone else (an importer's data) and is read as it is.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterator, TypeVar

from launcher.errors import NotFound, StoreError
from launcher.retry import RetryCounter, RetryPolicy, with_retries

T = TypeVar("T")
CHUNK = 8 * 1024 * 1024
COMPLETE = ".kfp-complete"
PENDING = ".kfp-pending"


@dataclass(frozen=True)
class Stat:
    """What a transfer or a look-up learnt about an artifact."""

    uri: str
    kind: str  # "file" or "dir"
    size: int
    digest: str | None = None
    """``sha256:<hex>`` (content; for a directory over its manifest), ``etag:...`` (the store's identity of
    an object whose sha256 it does not know) or None (not computed)."""


@dataclass(frozen=True)
class Entry:
    path: str  # relative, "/"-separated
    size: int
    sha256: str


@dataclass
class Transfers:
    """How stores retry and report: one per launcher attempt, shared by every store it opens."""

    policy: RetryPolicy
    counter: RetryCounter
    say: Callable[[str], None]

    def run(self, operation: Callable[[], T], what: str) -> T:
        return with_retries(operation, policy=self.policy, what=what, counter=self.counter, say=self.say)


class Store(ABC):
    """One artifact store (a local tree, or one bucket). Every method takes full URIs."""

    def local_path(self, uri: str) -> Path | None:
        """The artifact's own local path when the store is local files (zero-copy), else None."""
        return None

    @abstractmethod
    def upload(self, local: Path, uri: str) -> Stat:
        """Publish a local file or directory at ``uri``, atomically for readers."""

    @abstractmethod
    def download(self, uri: str, local: Path) -> Stat:
        """Fetch the artifact at ``uri`` (file or directory) to ``local``; ``local`` appears complete or not at all."""

    @abstractmethod
    def stat(self, uri: str, *, digest: bool = False) -> Stat:
        """Kind and size of the artifact at ``uri``; NotFound if absent. ``digest``: also its digest (a local
        store reads the content for it)."""

    @abstractmethod
    def write_bytes(self, uri: str, data: bytes) -> None:
        """Write a small object atomically."""

    @abstractmethod
    def read_bytes(self, uri: str) -> bytes:
        """Read a small object; NotFound if absent."""


# ---------------------------------------------------------------------------------------------
# hashing and manifests


def hashing_reader(file: BinaryIO, sha: "hashlib._Hash", chunk: int = CHUNK) -> Iterator[bytes]:
    """Yield ``file`` in chunks, feeding each to ``sha``."""
    while True:
        data = file.read(chunk)
        if not data:
            return
        sha.update(data)
        yield data


class ChunkHasher:
    """sha256 of a stream of chunks on a worker thread (hashlib releases the GIL), so hashing overlaps
    the transfer; at most ``depth`` chunks wait. Use as a context manager; ``hexdigest()`` after the last chunk."""

    def __init__(self, depth: int = 4) -> None:
        import queue
        import threading

        self.sha = hashlib.sha256()
        self.size = 0
        self.queue: "queue.Queue[bytes | None]" = queue.Queue(depth)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            chunk = self.queue.get()
            if chunk is None:
                return
            self.sha.update(chunk)

    def update(self, chunk: bytes) -> None:
        self.size += len(chunk)
        self.queue.put(chunk)

    def hexdigest(self) -> str:
        self.close()
        return self.sha.hexdigest()

    def close(self) -> None:
        if self.thread.is_alive():
            self.queue.put(None)
            self.thread.join()

    def __enter__(self) -> "ChunkHasher":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def hash_file(path: Path) -> tuple[int, str]:
    """(size, sha256 hex) of a local file, streaming."""
    sha = hashlib.sha256()
    size = 0
    with open(path, "rb") as file:
        for data in hashing_reader(file, sha, 1024 * 1024):
            size += len(data)
    return size, sha.hexdigest()


def walk_files(root: Path) -> list[str]:
    """Relative "/"-paths of every file under ``root``, sorted (symlinks to files count as files)."""
    found = []
    for directory, _, files in os.walk(root):
        for name in files:
            full = Path(directory, name)
            if full.is_file():
                found.append(full.relative_to(root).as_posix())
    return sorted(found)


def tree_digest(entries: list[Entry]) -> str:
    """The digest of a directory: sha256 over its sorted (path, size, sha256) lines."""
    sha = hashlib.sha256()
    for entry in sorted(entries, key=lambda e: e.path):
        sha.update(f"{entry.path}\0{entry.size}\0{entry.sha256}\n".encode())
    return "sha256:" + sha.hexdigest()


def dir_stat(uri: str, entries: list[Entry]) -> Stat:
    return Stat(uri, "dir", sum(e.size for e in entries), tree_digest(entries))


def manifest_bytes(entries: list[Entry]) -> bytes:
    return json.dumps({"v": 1, "files": [[e.path, e.size, e.sha256] for e in entries]},
                      separators=(",", ":")).encode()


def parse_manifest(data: bytes, uri: str) -> list[Entry]:
    try:
        return [Entry(str(p), int(s), str(h)) for p, s, h in json.loads(data)["files"]]
    except (ValueError, KeyError, TypeError):
        raise StoreError(f"{uri}: the directory's completion marker is unreadable") from None


def temp_sibling(path: Path, tag: str) -> Path:
    """A hidden name next to ``path`` (same filesystem, so a rename can publish it)."""
    return path.parent / f".{path.name}.{tag}-{os.urandom(4).hex()}"


def replace_path(source: Path, target: Path) -> None:
    """Move ``source`` onto ``target`` (file or directory), replacing what is there."""
    if target.is_dir() and not target.is_symlink():
        trash = temp_sibling(target, "old")
        os.rename(target, trash)
        os.rename(source, target)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(source, target)


def remove_path(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


# ---------------------------------------------------------------------------------------------
# object stores


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    etag: str


class ObjectStore(Store):
    """A bucket of objects; subclasses implement the primitive object operations (raising StoreError/NotFound)."""

    scheme: str

    def __init__(self, bucket: str, transfers: Transfers) -> None:
        self.bucket = bucket
        self.transfers = transfers

    # primitives ------------------------------------------------------------------------------

    @abstractmethod
    def put_file(self, key: str, path: Path) -> tuple[int, str]:
        """Upload one local file; return (size, sha256 hex) of what was sent."""

    @abstractmethod
    def get_file(self, key: str, path: Path) -> tuple[int, str]:
        """Download one object to ``path`` (created or truncated); return (size, sha256 hex)."""

    @abstractmethod
    def put_bytes(self, key: str, data: bytes) -> None: ...

    @abstractmethod
    def get_bytes(self, key: str) -> bytes: ...

    @abstractmethod
    def head(self, key: str) -> ObjectInfo | None: ...

    @abstractmethod
    def list(self, prefix: str) -> list[ObjectInfo]: ...

    @abstractmethod
    def delete(self, key: str) -> None: ...

    # the Store interface ---------------------------------------------------------------------

    def key(self, uri: str) -> str:
        prefix = f"{self.scheme}://{self.bucket}/"
        if not uri.startswith(prefix):
            raise StoreError(f"{uri}: not in bucket {self.scheme}://{self.bucket}")
        return uri[len(prefix):].strip("/")

    def upload(self, local: Path, uri: str) -> Stat:
        key = self.key(uri)
        if not local.is_dir():
            size, sha = self._retry("upload", uri, self.put_file, key, local)
            return Stat(uri, "file", size, "sha256:" + sha)
        self._retry("upload", uri, self.put_bytes, f"{key}/{PENDING}", b"")
        entries = []
        for rel in walk_files(local):
            size, sha = self._retry("upload", f"{uri}/{rel}", self.put_file, f"{key}/{rel}", local / rel)
            entries.append(Entry(rel, size, sha))
        keep = {f"{key}/{e.path}" for e in entries} | {f"{key}/{PENDING}"}
        for stale in self._retry("list", uri, self.list, f"{key}/"):
            if stale.key not in keep:
                self._retry("delete", f"{self.scheme}://{self.bucket}/{stale.key}", self.delete, stale.key)
        self._retry("upload", uri, self.put_bytes, f"{key}/{COMPLETE}", manifest_bytes(entries))
        self._retry("delete", uri, self.delete, f"{key}/{PENDING}")
        return dir_stat(uri, entries)

    def download(self, uri: str, local: Path) -> Stat:
        key = self.key(uri)
        local.parent.mkdir(parents=True, exist_ok=True)
        staging = temp_sibling(local, "part")
        try:
            if self._retry("stat", uri, self.head, key) is not None:
                size, sha = self._retry("download", uri, self.get_file, key, staging)
                replace_path(staging, local)
                return Stat(uri, "file", size, "sha256:" + sha)
            entries = self._manifest(uri, key)
            if entries is None:
                entries = [Entry(info.key[len(key) + 1:], info.size, "") for info in self._foreign(uri, key)]
            fetched = []
            for entry in entries:
                target = staging / entry.path
                target.parent.mkdir(parents=True, exist_ok=True)
                size, sha = self._retry("download", f"{uri}/{entry.path}", self.get_file, f"{key}/{entry.path}",
                                        target)
                if entry.sha256 and (size, sha) != (entry.size, entry.sha256):
                    raise StoreError(f"{uri}/{entry.path}: content does not match the directory's manifest")
                fetched.append(Entry(entry.path, size, sha))
            staging.mkdir(parents=True, exist_ok=True)
            replace_path(staging, local)
            return dir_stat(uri, fetched)
        finally:
            remove_path(staging)

    def stat(self, uri: str, *, digest: bool = False) -> Stat:
        key = self.key(uri)
        info = self._retry("stat", uri, self.head, key)
        if info is not None:
            return Stat(uri, "file", info.size, f"etag:{info.etag}" if info.etag else None)
        entries = self._manifest(uri, key)
        if entries is not None:
            return dir_stat(uri, entries)
        listing = self._foreign(uri, key)
        sha = hashlib.sha256("".join(f"{i.key}\0{i.size}\0{i.etag}\n" for i in listing).encode())
        return Stat(uri, "dir", sum(i.size for i in listing), "etag:" + sha.hexdigest())

    def write_bytes(self, uri: str, data: bytes) -> None:
        key = self.key(uri)
        self._retry("write", uri, self.put_bytes, key, data)

    def read_bytes(self, uri: str) -> bytes:
        key = self.key(uri)
        return self._retry("read", uri, self.get_bytes, key)

    # helpers ---------------------------------------------------------------------------------

    def _retry(self, verb: str, uri: str, operation: Callable[..., T], *args: Any) -> T:
        """``operation(*args)`` under the retry policy; log lines and errors name ``verb uri``."""
        return self.transfers.run(partial(operation, *args), f"{verb} {uri}")

    def _manifest(self, uri: str, key: str) -> list[Entry] | None:
        try:
            data = self._retry("read", uri, self.get_bytes, f"{key}/{COMPLETE}")
        except NotFound:
            return None
        return parse_manifest(data, uri)

    def _foreign(self, uri: str, key: str) -> list[ObjectInfo]:
        """The objects under a prefix without a completion marker; errors for a half-published directory."""
        listing = self._retry("list", uri, self.list, f"{key}/")
        if any(info.key == f"{key}/{PENDING}" for info in listing):
            raise StoreError(f"{uri}: the directory artifact is incomplete (being written, or its upload failed)")
        if not listing:
            raise NotFound(f"{uri}: no such artifact")
        return [info for info in listing if not info.key.endswith("/")]
