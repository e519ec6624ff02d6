"""Artifact stores: local files, and S3 through both clients against a real SeaweedFS server."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import threading
from pathlib import Path

import pytest

from launcher.errors import NotFound, StoreError
from launcher.retry import RetryCounter, RetryPolicy
from launcher.stores import StoreConfig, Stores, base
from launcher.stores.base import COMPLETE, PENDING, Transfers
from launcher.stores.local import FileStore
from tests.launcher.conftest import (ACCESS_KEY, BUCKET, SECRET_KEY, LoopbackProxy, SeaweedServer, free_ports,
                                     pump)

CLIENTS = ["obstore", "stdlib"]


def make_tree(root: Path) -> None:
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "a.txt").write_text("alpha")
    (root / "sub" / "b.bin").write_bytes(os.urandom(1000))
    (root / "sub" / "deeper" / "c").write_text("ü")


def sha256(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def transfers(attempts: int = 3, delay: float = 0.01) -> tuple[Transfers, list[str]]:
    said: list[str] = []
    return Transfers(RetryPolicy(attempts=attempts, base_delay=delay, max_delay=delay * 8), RetryCounter(), said.append), said


# ---------------------------------------------------------------------------------------------
# local files


def test_file_store_publishes_by_rename(tmp_path):
    store = FileStore()
    staged = tmp_path / ".staging" / "out"
    staged.parent.mkdir()
    staged.write_text("v1")
    target = tmp_path / "root" / "out"
    stat = store.upload(staged, f"file://{target}")
    assert target.read_text() == "v1" and not staged.exists()
    assert (stat.kind, stat.size, stat.digest) == ("file", 2, sha256(target))
    assert store.local_path(f"file://{target}") == target


def test_file_store_directory_replaces_an_earlier_attempt(tmp_path):
    store = FileStore()
    target = tmp_path / "root" / "dir"
    (target / "stale").mkdir(parents=True)
    staged = tmp_path / "staged"
    make_tree(staged)
    stat = store.upload(staged, str(target))
    assert sorted(p.name for p in target.rglob("*")) == ["a.txt", "b.bin", "c", "deeper", "sub"]
    assert stat.kind == "dir" and stat.size == 5 + 1000 + 2
    assert not list(tmp_path.joinpath("root").glob(".*"))  # no leftovers next to it
    copy = tmp_path / "copy"
    assert store.download(str(target), copy) == stat.__class__(str(target), "dir", stat.size, stat.digest)
    assert store.stat(str(target), digest=True).digest == stat.digest
    assert store.stat(str(target)).digest is None


def test_file_store_small_objects_and_not_found(tmp_path):
    store = FileStore()
    store.write_bytes(str(tmp_path / "x" / "doc.json"), b"{}")
    assert store.read_bytes(f"file://{tmp_path}/x/doc.json") == b"{}"
    with pytest.raises(NotFound):
        store.read_bytes(str(tmp_path / "missing"))
    with pytest.raises(NotFound):
        store.stat(str(tmp_path / "missing"))


# ---------------------------------------------------------------------------------------------
# S3


@pytest.fixture(params=CLIENTS)
def s3_store(request, s3):
    tx, said = transfers()
    stores = Stores(StoreConfig(endpoint=s3.endpoint, region="us-east-1", access_key=ACCESS_KEY,
                                secret_key=SECRET_KEY, client=request.param), tx)
    prefix = f"s3://{BUCKET}/{request.param}-{os.urandom(4).hex()}"
    return stores.for_uri(prefix + "/x"), prefix, tx, said


@pytest.mark.s3
@pytest.mark.parametrize("size", [0, 1234, 2 * base.CHUNK + 5])
def test_s3_file_round_trip(s3_store, tmp_path, size):
    store, prefix, tx, _ = s3_store
    source = tmp_path / "source"
    source.write_bytes(os.urandom(size))
    uri = f"{prefix}/file"
    up = store.upload(source, uri)
    assert (up.kind, up.size, up.digest) == ("file", size, sha256(source))
    down = store.download(uri, tmp_path / "back" / "file")
    assert (tmp_path / "back" / "file").read_bytes() == source.read_bytes() and down.digest == up.digest
    assert store.stat(uri).size == size and tx.counter.retries == 0


@pytest.mark.s3
def test_s3_directory_round_trip_and_markers(s3_store, tmp_path):
    store, prefix, _, _ = s3_store
    tree = tmp_path / "tree"
    make_tree(tree)
    uri = f"{prefix}/dir"
    store.write_bytes(f"{uri}/stale.txt", b"from an earlier attempt")
    up = store.upload(tree, uri)
    local = FileStore().stat(str(tree), digest=True)
    assert (up.kind, up.size, up.digest) == ("dir", local.size, local.digest)  # same digest in every store
    keys = sorted(info.key for info in store.list(store.key(uri) + "/"))
    assert keys == sorted(f"{store.key(uri)}/{p}" for p in ["a.txt", "sub/b.bin", "sub/deeper/c", COMPLETE])
    manifest = json.loads(store.read_bytes(f"{uri}/{COMPLETE}"))
    assert [entry[0] for entry in manifest["files"]] == ["a.txt", "sub/b.bin", "sub/deeper/c"]
    back = tmp_path / "back"
    assert store.download(uri, back).digest == up.digest
    assert sorted(p.relative_to(back).as_posix() for p in back.rglob("*") if p.is_file()) == \
        ["a.txt", "sub/b.bin", "sub/deeper/c"]
    assert store.stat(uri) == up


@pytest.mark.s3
def test_s3_reader_refuses_a_half_published_directory(s3_store, tmp_path):
    store, prefix, _, _ = s3_store
    store.write_bytes(f"{prefix}/half/{PENDING}", b"")
    store.write_bytes(f"{prefix}/half/part-0", b"x")
    with pytest.raises(StoreError, match="incomplete"):
        store.download(f"{prefix}/half", tmp_path / "half")
    assert not (tmp_path / "half").exists()


@pytest.mark.s3
def test_s3_foreign_prefix_is_read_as_a_directory(s3_store, tmp_path):
    store, prefix, _, _ = s3_store
    store.write_bytes(f"{prefix}/imported/x.csv", b"1,2")
    store.download(f"{prefix}/imported", tmp_path / "imp")
    assert (tmp_path / "imp" / "x.csv").read_bytes() == b"1,2"


@pytest.mark.s3
def test_s3_not_found_is_not_retried(s3_store, tmp_path):
    store, prefix, tx, _ = s3_store
    with pytest.raises(NotFound, match=f"{prefix}/nothing"):
        store.download(f"{prefix}/nothing", tmp_path / "n")
    with pytest.raises(NotFound):
        store.read_bytes(f"{prefix}/nothing")
    assert tx.counter.retries == 0


@pytest.mark.s3
@pytest.mark.parametrize("client", CLIENTS)
def test_s3_bad_credentials_fail_at_once_without_printing_them(s3, tmp_path, client):
    tx, said = transfers()
    secret = "WRONG-secret-value-123"
    stores = Stores(StoreConfig(endpoint=s3.endpoint, access_key=ACCESS_KEY, secret_key=secret, client=client), tx)
    uri = f"s3://{BUCKET}/denied/x"
    source = tmp_path / "f"
    source.write_text("x")
    with pytest.raises(StoreError) as raised:
        stores.for_uri(uri).upload(source, uri)
    assert "access denied" in str(raised.value) and uri in str(raised.value)
    assert secret not in str(raised.value) and tx.counter.retries == 0


@pytest.mark.s3
@pytest.mark.parametrize("client", CLIENTS)
def test_s3_unreachable_endpoint_is_retried_then_named(tmp_path, client):
    tx, said = transfers(attempts=3)
    port = free_ports(1)[0]
    stores = Stores(StoreConfig(endpoint=f"http://127.0.0.1:{port}", access_key=ACCESS_KEY,
                                secret_key=SECRET_KEY, client=client), tx)
    uri = "minio://bucket/a/b"
    with pytest.raises(StoreError) as raised:
        stores.for_uri(uri).read_bytes(uri)
    message = str(raised.value)
    assert message.startswith(uri) and "gave up after 3 tries" in message and SECRET_KEY not in message
    assert tx.counter.retries == 2 and len(said) == 2 and all("retrying in" in line for line in said)


# ---------------------------------------------------------------------------------------------
# the server stops in the middle of an upload


class CuttingProxy(LoopbackProxy):
    """A TCP proxy in front of the server that kills the server once ``limit`` request bytes went through
    (and starts it again ``restart_after`` seconds later, if given): a crash in the middle of an upload,
    whichever client is uploading."""

    def __init__(self, server: SeaweedServer, limit: int, restart_after: float | None) -> None:
        self.limit, self.restart_after = limit, restart_after
        self.sent, self.cut = 0, False
        self.lock = threading.Lock()
        self.sockets: list[socket.socket] = []
        super().__init__(server)

    def handle(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.server.s3_port))
        except OSError:
            client.close()
            return
        self.sockets += [client, upstream]
        threading.Thread(target=pump, args=(client, upstream, self._count), daemon=True).start()
        threading.Thread(target=pump, args=(upstream, client), daemon=True).start()

    def _count(self, size: int) -> None:
        with self.lock:
            self.sent += size
            if self.cut or self.sent < self.limit:
                return
            self.cut = True
        self.server.stop(signal.SIGKILL)
        for end in self.sockets:
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self.restart_after is not None:
            threading.Timer(self.restart_after, self.server.start).start()


@pytest.fixture
def own_server(tmp_path):
    server = SeaweedServer(tmp_path / "weed")
    server.start()
    yield server
    server.stop(signal.SIGKILL)  # a throwaway server: no need to wait for a graceful shutdown


@pytest.mark.s3
@pytest.mark.slow
@pytest.mark.parametrize("client", CLIENTS)
def test_s3_upload_survives_a_server_restart(own_server, tmp_path, client):
    proxy = CuttingProxy(own_server, limit=3 * base.CHUNK, restart_after=1.0)
    tx, said = transfers(attempts=8, delay=0.5)
    stores = Stores(StoreConfig(endpoint=proxy.endpoint, access_key=ACCESS_KEY, secret_key=SECRET_KEY,
                                client=client), tx)
    source = tmp_path / "big"
    source.write_bytes(os.urandom(6 * base.CHUNK))
    uri = f"s3://{BUCKET}/fault/{client}"
    stat = stores.for_uri(uri).upload(source, uri)
    assert proxy.cut and stat.digest == sha256(source) and tx.counter.retries >= 1
    assert any(line.startswith(f"upload {uri}: ") and "retrying" in line for line in said)
    stores.for_uri(uri).download(uri, tmp_path / "back")
    assert sha256(tmp_path / "back") == stat.digest
    proxy.close()


@pytest.mark.s3
@pytest.mark.slow
@pytest.mark.parametrize("client", CLIENTS)
def test_s3_upload_fails_cleanly_when_the_server_stays_down(own_server, tmp_path, client):
    proxy = CuttingProxy(own_server, limit=3 * base.CHUNK, restart_after=None)
    tx, said = transfers(attempts=3, delay=0.05)
    config = StoreConfig(endpoint=proxy.endpoint, access_key=ACCESS_KEY, secret_key=SECRET_KEY, client=client)
    source = tmp_path / "big"
    source.write_bytes(os.urandom(6 * base.CHUNK))
    uri = f"s3://{BUCKET}/fault-down/{client}"
    with pytest.raises(StoreError) as raised:
        Stores(config, tx).for_uri(uri).upload(source, uri)
    assert proxy.cut and str(raised.value).startswith(uri) and "gave up after 3 tries" in str(raised.value)
    assert SECRET_KEY not in str(raised.value)
    own_server.start()
    fresh, _ = transfers()
    direct = StoreConfig(endpoint=own_server.endpoint, access_key=ACCESS_KEY, secret_key=SECRET_KEY, client=client)
    with pytest.raises(NotFound):  # no partial object is visible
        Stores(direct, fresh).for_uri(uri).stat(uri)
    proxy.close()
