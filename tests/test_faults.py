"""Injected faults with real processes: the artifact store down at task start, throttling (503), rotated
credentials, the execution-record store unavailable or full, a full work directory, and the launcher SIGKILLed
in the middle of an upload. (Store crashes mid-transfer: tests/launcher/test_stores.py; the runner SIGKILLed
mid-run: tests/test_resume.py.)"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from launcher.errors import NotFound
from launcher.retry import RetryCounter, RetryPolicy
from launcher.stores import StoreConfig, Stores
from launcher.stores.base import Transfers
from tests import irbuild as ir
from tests.conftest import ROOT
from tests.launcher.conftest import (ACCESS_KEY, BUCKET, REPO, SECRET_KEY, LoopbackProxy, SeaweedServer,
                                     container_spec, free_ports, launch, launcher_argv, ph, pump)

FAST_RETRIES = {"KFP_STORE_RETRIES": "2", "KFP_STORE_RETRY_DELAY": "0.01"}
WRITE_ARTIFACT = container_spec(
    ["sh", "-c", 'mkdir -p "$(dirname "$0")" && head -c "$1" /dev/urandom > "$0"'],
    [ph("outputPath", "data"), ph("inputValue", "size")],
    inputs={"parameters": {"size": {"type": "NUMBER_INTEGER"}}},
    outputs={"artifacts": {"data": {"schemaTitle": "system.Dataset"}}})
READ_ARTIFACT = container_spec(["cat"], [ph("inputPath", "data")],
                               inputs={"artifacts": {"data": {"schemaTitle": "system.Dataset"}}})


def s3_env(endpoint: str, **extra: str) -> dict[str, str]:
    return {"KFP_S3_ENDPOINT": endpoint, "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY, **FAST_RETRIES, **extra}


def records(tmp: Path) -> list[dict]:
    database = tmp / "records.db"
    if not database.exists():
        return []
    return [json.loads(r) for (r,) in sqlite3.connect(database).execute("SELECT record FROM executions ORDER BY id")]


def sqlite_records(tmp: Path) -> list[str]:
    return ["--records", f"sqlite:///{tmp / 'records.db'}"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    weed = SeaweedServer(tmp_path_factory.mktemp("weed"))
    weed.start()
    yield weed
    weed.stop(signal.SIGKILL)


def stat(server: SeaweedServer, uri: str):
    config = StoreConfig(endpoint=server.endpoint, access_key=ACCESS_KEY, secret_key=SECRET_KEY)
    return Stores(config, Transfers(RetryPolicy(attempts=1), RetryCounter(), lambda _: None)).for_uri(uri).stat(uri)


# ---------------------------------------------------------------------------------------------
# the artifact store


def test_store_down_at_task_start_fails_after_bounded_retries(tmp_path: Path) -> None:
    endpoint = f"http://127.0.0.1:{free_ports(1)[0]}"
    uri = f"s3://{BUCKET}/down/data"
    result = launch(READ_ARTIFACT, tmp_path, env=s3_env(endpoint),
                    extra=["--artifact", f"data={uri}", *sqlite_records(tmp_path)])
    assert result.code == 1 and result.published() == []
    assert f"{uri}" in result.stderr and "gave up after 3 tries" in result.stderr
    assert result.stderr.count("retrying in") == 2 and SECRET_KEY not in result.stderr
    [record] = records(tmp_path)
    assert record["state"] == "FAILED" and record["metrics"]["retries"] == 2 and uri in record["error"]
    assert SECRET_KEY not in json.dumps(record)


class ThrottlingProxy(LoopbackProxy):
    """An HTTP front for the store that answers ``503 SlowDown`` to the first ``refuse`` requests (each on its
    own connection, closed after the answer) and passes everything after that through, sleeping ``pace``
    seconds per 64 KiB sent to the store; ``sent`` is set once ``mark`` bytes went through."""

    BODY = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"

    def __init__(self, server: SeaweedServer, refuse: int, pace: float = 0.0, mark: int = 0) -> None:
        self.refuse, self.refused = refuse, 0
        self.pace, self.mark, self.forwarded, self.sent = pace, mark, 0, threading.Event()
        self.lock = threading.Lock()
        super().__init__(server)

    def handle(self, client: socket.socket) -> None:
        threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with self.lock:
            throttle = self.refused < self.refuse
            self.refused += throttle
        if throttle:
            self._slow_down(client)
            return
        upstream = socket.create_connection(("127.0.0.1", self.server.s3_port))
        threading.Thread(target=pump, args=(upstream, client), daemon=True).start()
        pump(client, upstream, self._paced)

    def _paced(self, size: int) -> None:
        with self.lock:
            self.forwarded += size
            if self.mark and self.forwarded >= self.mark:
                self.sent.set()
        time.sleep(self.pace)

    def _slow_down(self, client: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = client.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        while len(body) < length and (chunk := client.recv(65536)):
            body += chunk
        client.sendall(b"HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nConnection: close\r\n"
                       b"Content-Length: %d\r\n\r\n%s" % (len(self.BODY), self.BODY))
        client.close()


@pytest.mark.s3
@pytest.mark.parametrize("client", ["obstore", "stdlib"])
def test_throttling_is_retried_with_backoff_then_succeeds(server, tmp_path: Path, client: str) -> None:
    proxy = ThrottlingProxy(server, refuse=2)
    root = f"s3://{BUCKET}/throttled-{client}"
    result = launch(WRITE_ARTIFACT, tmp_path, root=root, env=s3_env(proxy.endpoint, KFP_S3_CLIENT=client),
                    extra=["--param", "size=1000", *sqlite_records(tmp_path)])
    proxy.close()
    assert result.code == 0, result.stderr
    assert proxy.refused == 2 and result.stderr.count("retrying in") == 2
    [record] = records(tmp_path)
    assert record["metrics"]["retries"] == 2 and record["metrics"]["upload_success"] is True
    assert stat(server, f"{root}/run-1/task/data").size == 1000


@pytest.mark.s3
def test_throttling_that_does_not_stop_fails_naming_the_uri(server, tmp_path: Path) -> None:
    proxy = ThrottlingProxy(server, refuse=1000)
    root = f"s3://{BUCKET}/throttled-forever"
    result = launch(WRITE_ARTIFACT, tmp_path, root=root, env=s3_env(proxy.endpoint),
                    extra=["--param", "size=1000", *sqlite_records(tmp_path)])
    proxy.close()
    assert result.code == 1 and result.published() == []
    assert f"{root}/run-1/task/data" in result.stderr and "gave up after 3 tries" in result.stderr
    [record] = records(tmp_path)
    assert record["state"] == "FAILED" and record["metrics"]["upload_success"] is False
    with pytest.raises(NotFound):
        stat(server, f"{root}/run-1/task/data")


def _pipeline_identity(weed: SeaweedServer, secret: str) -> None:
    """The tasks' own identity (the admin one stays, for the fixture's readiness check)."""
    config = json.loads((weed.workdir / "s3.json").read_text())
    config["identities"] = [config["identities"][0], {
        "name": "pipeline", "credentials": [{"accessKey": "kfp-pipeline", "secretKey": secret}],
        "actions": ["Read", "Write", "List"]}]
    (weed.workdir / "s3.json").write_text(json.dumps(config))


@pytest.mark.s3
@pytest.mark.slow
def test_rotated_credentials_fail_at_once_without_printing_them(tmp_path: Path) -> None:
    weed = SeaweedServer(tmp_path / "weed")
    old = "kfp-old-secret-Qw3"
    _pipeline_identity(weed, old)
    weed.start()
    try:
        secrets = tmp_path / "secret"
        secrets.mkdir()
        (secrets / "accesskey").write_text("kfp-pipeline")
        (secrets / "secretkey").write_text(old)
        env = {"KFP_S3_ENDPOINT": weed.endpoint, "AWS_REGION": "us-east-1", "KFP_S3_CREDENTIALS_DIR": str(secrets),
               "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", **FAST_RETRIES}
        root = f"s3://{BUCKET}/rotation"
        first = launch(WRITE_ARTIFACT, tmp_path, root=root, env=env, run_id="before", extra=["--param", "size=10"])
        assert first.code == 0, first.stderr
        rotated = "kfp-rotated-secret-Xy7"  # the server now only accepts the new key
        _pipeline_identity(weed, rotated)
        weed.stop()
        weed.start()
        stale = launch(WRITE_ARTIFACT, tmp_path, root=root, env=env, run_id="stale",
                       extra=["--param", "size=10", *sqlite_records(tmp_path)])
        assert stale.code == 1 and "retrying" not in stale.stderr and f"{root}/stale/task/data" in stale.stderr
        assert old not in stale.stderr and rotated not in stale.stderr
        assert records(tmp_path)[-1]["state"] == "FAILED"
        (secrets / "secretkey").write_text(rotated)  # the mounted secret is updated
        fresh = launch(WRITE_ARTIFACT, tmp_path, root=root, env=env, run_id="after", extra=["--param", "size=10"])
        assert fresh.code == 0, fresh.stderr
    finally:
        weed.stop(signal.SIGKILL)


@pytest.mark.s3
def test_launcher_killed_mid_upload_leaves_no_partial_artifact_and_no_cache_entry(server, tmp_path: Path) -> None:
    root = f"s3://{BUCKET}/killed"
    cache = tmp_path / "cache"
    proxy = ThrottlingProxy(server, refuse=0, pace=0.01, mark=4 << 20)  # 16 MiB take > 2.5 s: killed at 4 MiB
    argv = launcher_argv(WRITE_ARTIFACT, tmp_path, root=root,
                         extra=["--param", f"size={16 << 20}", "--cache", "--cache-root", str(cache),
                                *sqlite_records(tmp_path)])
    env = {**os.environ, "PYTHONPATH": str(REPO), **s3_env(proxy.endpoint)}
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert proxy.sent.wait(timeout=60), "the upload did not start"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
        proxy.close()
    assert proxy.forwarded < 16 << 20
    with pytest.raises(NotFound):
        stat(server, f"{root}/run-1/task/data")
    assert not list(cache.glob("*.json")) and not [r for r in records(tmp_path) if r["state"] == "SUCCEEDED"]
    assert not (tmp_path / "outputs" / "run-1" / "task" / "artifacts").exists()


# ---------------------------------------------------------------------------------------------
# the execution-record store, the work directory


def test_record_store_unavailable_fails_the_task_and_publishes_nothing(tmp_path: Path) -> None:
    endpoint = f"http://127.0.0.1:{free_ports(1)[0]}"
    prefix = f"s3://{BUCKET}/records"
    result = launch(WRITE_ARTIFACT, tmp_path, env=s3_env(endpoint),
                    extra=["--param", "size=10", "--records", prefix])
    assert result.code == 1 and result.published() == []
    assert f"execution record: cannot write {prefix}/task/attempt-1-" in result.stderr
    assert "gave up after 3 tries" in result.stderr and SECRET_KEY not in result.stderr


def in_full_filesystem(mount: Path, size: str, fill: int, argv: list[str]) -> list[str]:
    """``argv`` run with a fresh tmpfs of ``size`` on ``mount`` holding ``fill`` bytes (a user namespace: no root)."""
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-rm", "true"], capture_output=True).returncode:
        pytest.skip("unshare -rm (user and mount namespaces) is not available: cannot make a small filesystem")
    mount.mkdir(parents=True, exist_ok=True)
    script = 'mount -t tmpfs -o size="$1" tmpfs "$0" && head -c "$2" /dev/zero > "$0/.fill" 2>/dev/null; ' \
             'shift 3; exec "$@"'
    return ["unshare", "-rm", "sh", "-c", script, str(mount), size, str(fill), "--", *argv]


def test_record_store_full_fails_the_task_clearly(tmp_path: Path) -> None:
    full = tmp_path / "full"
    argv = launcher_argv(WRITE_ARTIFACT, tmp_path, extra=["--param", "size=10", "--records",
                                                          f"sqlite:///{full / 'records.db'}"])
    result = subprocess.run(in_full_filesystem(full, "64k", 1 << 20, argv), capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)
    assert result.returncode == 1, result.stderr
    assert f"execution record: cannot write to sqlite:///{full / 'records.db'}" in result.stderr
    assert "full" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "outputs" / "run-1" / "task" / "artifacts").exists()


def test_full_work_directory_is_one_clear_error(tmp_path: Path) -> None:
    spec = ir.write(ir.pipeline("disk", {"t": ir.container_component("t", ["true"])}, {"t": ir.task("t")}),
                    tmp_path / "p.yaml")
    work = tmp_path / "work"
    argv = [sys.executable, "-c", "import sys; from driver.cli import main; sys.exit(main())", "run", str(spec),
            "--workdir", str(work), "--quiet"]
    result = subprocess.run(in_full_filesystem(work, "64k", 1 << 20, argv), capture_output=True, text=True,
                            cwd=ROOT, timeout=120)
    assert result.returncode == 1, result.stderr
    assert "No space left on device" in result.stderr and "Traceback" not in result.stderr
    assert "--resume" in result.stderr
