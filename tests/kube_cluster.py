"""A real Kubernetes API server for tests: kube-apiserver + embedded etcd built from hack/kube-apiserver.

``start_cluster(dir)`` builds the server once (cached by hack/gobuild.py), starts it on 127.0.0.1, and
returns a ``KubeCluster`` whose kubeconfig has three contexts: ``admin``, ``wrong-token`` (401) and
``no-rights`` (403). ``install_crds`` installs Argo's and Tekton's own CustomResourceDefinitions, taken
from the engines' Go modules at the versions the engine harnesses pin (``go mod download``).
The ``kube_cluster`` fixture does all of this once per test session; hack/kube-up does it for a
developer.
"""

from __future__ import annotations

import json
import select
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SERVER_MODULE = ROOT / "hack" / "kube-apiserver"
NAMESPACE = "kfp"  # created in every cluster the fixture starts

# The engines' own CRD manifests, from the module versions hack/argo-harness and hack/tekton-harness pin.
ARGO_MODULE = "github.com/argoproj/argo-workflows/v3@v3.7.18"
TEKTON_MODULE = "github.com/tektoncd/pipeline@v1.15.0"
ARGO_CRDS = [f"manifests/base/crds/minimal/argoproj.io_{name}.yaml" for name in ("workflows", "workflowtemplates")]
TEKTON_CRDS = [f"config/300-crds/300-{name}.yaml" for name in ("pipelinerun", "pipeline", "taskrun")]


class ClusterUnavailable(Exception):
    """The server cannot be built or started here (Go missing, build failure); the message says why."""


@dataclass
class KubeCluster:
    """A running API server: its state directory, kubeconfig and process."""

    directory: Path
    kubeconfig: Path
    process: subprocess.Popen[bytes]

    def api_client(self, context: str = "admin") -> Any:
        from kubernetes import client, config

        configuration = client.Configuration()
        config.load_kube_config(str(self.kubeconfig), context=context, client_configuration=configuration,
                                persist_config=False)
        return client.ApiClient(configuration)

    def server(self) -> str:
        return str(yaml.safe_load(self.kubeconfig.read_text())["clusters"][0]["cluster"]["server"])

    def install_crds(self, manifests: list[dict[str, Any]], timeout: float = 60) -> None:
        """Create each CRD and wait until the server serves it."""
        from kubernetes import client

        api = client.ApiextensionsV1Api(self.api_client())
        for crd in manifests:
            _create_unless_present(api.create_custom_resource_definition, crd)
        deadline = time.monotonic() + timeout
        for crd in manifests:
            while not _established(api.read_custom_resource_definition(crd["metadata"]["name"])):
                if time.monotonic() > deadline:
                    raise ClusterUnavailable(f"CRD {crd['metadata']['name']} not established after {timeout}s")
                time.sleep(0.1)

    def create_namespace(self, name: str) -> None:
        from kubernetes import client

        _create_unless_present(client.CoreV1Api(self.api_client()).create_namespace, {"metadata": {"name": name}})

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _create_unless_present(create: Any, body: dict[str, Any]) -> None:
    """Create ``body``; one already there (a restarted server keeps its state directory) is fine."""
    from kubernetes.client.exceptions import ApiException

    try:
        create(body)
    except ApiException as error:
        if error.status != 409:
            raise


def _established(crd: Any) -> bool:
    return any(c.type == "Established" and c.status == "True" for c in (crd.status.conditions or []))


def build_server() -> Path:
    """The kube-apiserver binary (built on first use; minutes on 2 cores, then cached)."""
    if shutil.which("go") is None:
        raise ClusterUnavailable("Go is not installed (needed to build kube-apiserver from hack/kube-apiserver)")
    done = subprocess.run([sys.executable, str(ROOT / "hack" / "gobuild.py"), str(SERVER_MODULE), ".", "kube-apiserver"],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise ClusterUnavailable(f"building kube-apiserver failed: {done.stderr.strip()[-2000:]}")
    return Path(done.stdout.strip())


def start_cluster(directory: Path, timeout: float = 120) -> KubeCluster:
    """Start the server with its state under ``directory``; returns once /readyz answers."""
    binary = build_server()
    directory.mkdir(parents=True, exist_ok=True)
    log = open(directory / "server.log", "wb")
    process = subprocess.Popen([str(binary), "-dir", str(directory), "-ready-timeout", f"{int(timeout)}s"],
                               stdout=subprocess.PIPE, stderr=log, start_new_session=True)
    log.close()
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout + 5)
    line = process.stdout.readline().decode().strip() if ready else ""
    if not line:
        process.kill()
        process.wait()
        tail = (directory / "server.log").read_text(errors="replace")[-2000:]
        raise ClusterUnavailable(f"kube-apiserver did not start (log {directory / 'server.log'}): {tail}")
    return KubeCluster(directory, Path(line), process)


def crd_manifests(*, argo: bool = True, tekton: bool = True) -> list[dict[str, Any]]:
    """Argo's and/or Tekton's CRDs from their Go modules (conversion webhooks dropped: no webhook runs here)."""
    wanted = ([(ARGO_MODULE, ARGO_CRDS)] if argo else []) + ([(TEKTON_MODULE, TEKTON_CRDS)] if tekton else [])
    manifests = []
    for module, files in wanted:
        root = _module_dir(module)
        for name in files:
            crd = yaml.safe_load((root / name).read_text())
            crd["spec"].pop("conversion", None)
            manifests.append(crd)
    return manifests


def _module_dir(module: str) -> Path:
    done = subprocess.run(["go", "mod", "download", "-json", module], capture_output=True, text=True,
                          cwd=SERVER_MODULE)  # checked against the Go checksum database; go.mod is untouched
    info = json.loads(done.stdout or "{}")
    if done.returncode != 0 or "Dir" not in info:
        raise ClusterUnavailable(f"go mod download {module} failed: {info.get('Error') or done.stderr.strip()}")
    return Path(info["Dir"])


def running_cluster(directory: Path) -> Iterator[KubeCluster]:
    """A started cluster with every CRD and the ``kfp`` namespace; stopped when the iterator closes."""
    cluster = start_cluster(directory)
    try:
        cluster.install_crds(crd_manifests())
        cluster.create_namespace(NAMESPACE)
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def kube_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeCluster]:
    """One API server per test session (skips with the reason when it cannot be built here)."""
    pytest.importorskip("kubernetes", reason="the kubernetes client is not installed (pip install -e '.[test]')")
    try:
        cluster_run = running_cluster(tmp_path_factory.mktemp("kube"))
        cluster = next(cluster_run)
    except ClusterUnavailable as error:
        pytest.skip(str(error))
    yield cluster
    cluster_run.close()
