"""``kfp-driver submit`` against a real kube-apiserver (tests/kube_cluster.py) with Argo's and Tekton's CRDs.

Covers: creating Workflows/WorkflowTemplates/PipelineRuns/Pipelines with typed parameters, server-side dry
run, every corpus pipeline accepted and stored unchanged, each one-line error (unreachable, 401, 403, CRD
missing, namespace missing, rejected object, bad kubeconfig/context), ``--watch`` following a run whose
status the test writes as the controller would, and ``--argo-server`` against a local HTTP server.
"""

from __future__ import annotations

import dataclasses
import json
import queue
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from driver.cli import main
from driver.errors import KfpDriverError
from driver.submit.progress import argo_state, tekton_state, tekton_task_paths
from tests.conftest import CORPUS, GOLDEN, ROOT, corpus_files
from tests.kube_cluster import NAMESPACE, ClusterUnavailable, KubeCluster, kube_cluster, start_cluster

__all__ = ["kube_cluster"]  # the session fixture, imported so pytest finds it here
# The first test also builds kube-apiserver when it is not cached yet (3-6 minutes on 2 cores).
pytestmark = pytest.mark.timeout(1500)

EXAMPLE = ROOT / "examples" / "hello-pipeline.yaml"
NESTED = CORPUS / "parallel_and_nested__pipeline_in_pipeline.yaml"
TYPED = CORPUS / "preprocess.yaml"  # LIST and STRUCT parameters


def submit(capsys: pytest.CaptureFixture[str], cluster: KubeCluster, *args: str,
           context: str | None = None) -> tuple[int, str, str]:
    argv = ["submit", *args, "--kubeconfig", str(cluster.kubeconfig)] + (["--context", context] if context else [])
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def custom_api(cluster: KubeCluster) -> Any:
    from kubernetes import client

    return client.CustomObjectsApi(cluster.api_client())


def get(cluster: KubeCluster, plural: str, name: str) -> dict[str, Any]:
    group, version = ("argoproj.io", "v1alpha1") if plural.startswith("workflow") else ("tekton.dev", "v1")
    return custom_api(cluster).get_namespaced_custom_object(group, version, NAMESPACE, plural, name)


def compiled(*args: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main(["compile", *args, "--namespace", NAMESPACE, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


# --- creating objects ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("target, plural", [("argo", "workflows"), ("tekton", "pipelineruns")])
def test_submit_creates_the_compiled_run_with_typed_parameters(
        kube_cluster: KubeCluster, capsys: pytest.CaptureFixture[str], target: str, plural: str) -> None:
    params = ["--param", "name=Ada <{{workflow.name}}>"]
    code, out, _ = submit(capsys, kube_cluster, str(EXAMPLE), "--target", target, "--namespace", NAMESPACE, *params)
    assert code == 0
    namespace, name = out.strip().split("/")
    stored = get(kube_cluster, plural, name)
    expected = compiled(str(EXAMPLE), "--target", target, *params, capsys=capsys)
    assert namespace == NAMESPACE and name.startswith("hello-pipeline-")
    assert stored["spec"] == expected["spec"]  # the parameter reached the run, escaped as compile escapes it
    assert stored["metadata"]["labels"] == expected["metadata"]["labels"]


def test_submit_types_parameters_by_the_ir(kube_cluster: KubeCluster, capsys: pytest.CaptureFixture[str]) -> None:
    params = ["--param", 'input_list_parameter=[1, "{{workflow.uid}}"]', "--param", 'input_dict_parameter={"a": 2}']
    code, out, _ = submit(capsys, kube_cluster, str(TYPED), "--target", "argo", "--namespace", NAMESPACE, *params)
    stored = get(kube_cluster, "workflows", out.strip().split("/")[1])
    assert code == 0
    assert stored["spec"]["arguments"] == compiled(str(TYPED), "--target", "argo", *params, capsys=capsys)["spec"]["arguments"]
    code, _, err = submit(capsys, kube_cluster, str(TYPED), "--target", "argo", "--param", "input_list_parameter=oops")
    assert code == 2 and "parameter 'input_list_parameter'" in err


def test_json_output_names_the_created_object(kube_cluster: KubeCluster, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = submit(capsys, kube_cluster, str(EXAMPLE), "--target", "tekton", "--namespace", NAMESPACE, "--json")
    result = json.loads(out)
    assert code == 0 and result["kind"] == "PipelineRun" and result["dryRun"] is False
    assert get(kube_cluster, "pipelineruns", result["name"])["metadata"]["uid"] == result["uid"]


def test_dry_run_is_validated_by_the_server_and_stores_nothing(
        kube_cluster: KubeCluster, capsys: pytest.CaptureFixture[str]) -> None:
    from kubernetes.client.exceptions import ApiException

    code, out, err = submit(capsys, kube_cluster, str(EXAMPLE), "--target", "argo", "--namespace", NAMESPACE, "--dry-run")
    name = out.strip().split("/")[1]
    assert code == 0 and "dry run" in err and name.startswith("hello-pipeline-")
    with pytest.raises(ApiException) as missing:
        get(kube_cluster, "workflows", name)
    assert missing.value.status == 404


def test_separate_pipeline_creates_the_pipeline_then_the_run(
        kube_cluster: KubeCluster, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = submit(capsys, kube_cluster, str(EXAMPLE), "--target", "tekton", "--namespace", NAMESPACE,
                          "--separate-pipeline", "--pipeline-root", "s3://separate/root")
    pipeline, run = (line.split("/")[1] for line in out.split())
    assert code == 0
    assert get(kube_cluster, "pipelineruns", run)["spec"]["pipelineRef"]["name"] == pipeline
    assert get(kube_cluster, "pipelines", pipeline)["spec"]["tasks"]


def test_workflow_template_is_created_and_cannot_be_watched(
        kube_cluster: KubeCluster, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = submit(capsys, kube_cluster, str(CORPUS / "hello_world.yaml"), "--target", "argo",
                          "--namespace", NAMESPACE, "--workflow-template")
    assert code == 0 and get(kube_cluster, "workflowtemplates", out.strip().split("/")[1])["spec"]["templates"]
    code, _, err = submit(capsys, kube_cluster, str(EXAMPLE), "--target", "argo", "--workflow-template", "--watch")
    assert code == 2 and "--watch follows a run; this manifest is a WorkflowTemplate" in err


@pytest.mark.slow
def test_every_corpus_pipeline_is_accepted_and_stored_unchanged(kube_cluster: KubeCluster) -> None:
    """Server-side dry run returns the object as it would be stored: after validation, defaulting, pruning."""
    from driver.plan import load_plan
    from driver.submit.cluster import connect
    from driver.submit.resources import objects_of
    from translators import compiler_for
    from translators.options import CompileOptions

    cluster = connect(str(kube_cluster.kubeconfig), None)
    options = dataclasses.replace(CompileOptions(), namespace=NAMESPACE)
    accepted, changed = 0, []
    for target in ("argo", "tekton"):
        for source in corpus_files():
            try:
                manifest = compiler_for(target)(load_plan(str(source)), options)
            except KfpDriverError:
                continue  # features the target cannot express: tested by the conformance suites
            for resource, body in objects_of(manifest):
                stored = cluster.create(resource, NAMESPACE, body, dry_run=True)
                accepted += 1
                for part in ("spec",):
                    if stored[part] != body[part]:
                        changed.append(f"{target} {source.name}: {resource.kind}.{part}")
                for field in ("labels", "annotations"):
                    if stored["metadata"].get(field) != body["metadata"].get(field):
                        changed.append(f"{target} {source.name}: {resource.kind}.metadata.{field}")
    assert accepted >= 2 * len(corpus_files()) - 20 and not changed, changed


# --- one-line errors ----------------------------------------------------------------------------------------

def test_wrong_token_is_rejected_with_401(kube_cluster: KubeCluster, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = submit(capsys, kube_cluster, str(EXAMPLE), "--target", "argo", context="wrong-token")
    assert code == 2 and err.count("\n") == 1
    assert "rejected the credentials of context 'wrong-token' (401 Unauthorized)" in err


def test_user_without_rights_gets_403(kube_cluster: KubeCluster, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = submit(capsys, kube_cluster, str(EXAMPLE), "--target", "tekton", "--namespace", NAMESPACE,
                          context="no-rights")
    assert code == 2 and err.count("\n") == 1
    assert f"not allowed to create pipelineruns.tekton.dev in namespace '{NAMESPACE}' (403 Forbidden" in err
    assert 'User "nobody" cannot create resource "pipelineruns"' in err


def test_missing_namespace(kube_cluster: KubeCluster, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = submit(capsys, kube_cluster, str(EXAMPLE), "--target", "argo", "--namespace", "nowhere")
    assert code == 2 and "namespace 'nowhere' does not exist on https://127.0.0.1:" in err
    assert "kubectl create namespace nowhere" in err


def test_object_the_server_rejects_names_the_servers_reason(
        kube_cluster: KubeCluster, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    ir = yaml.safe_load(EXAMPLE.read_text())
    ir["pipelineInfo"]["name"] = "p" * 300_000  # kept whole in an annotation: over the 256 KiB metadata limit
    source = tmp_path / "long-name.yaml"
    source.write_text(yaml.safe_dump(ir))
    code, _, err = submit(capsys, kube_cluster, str(source), "--target", "tekton", "--namespace", NAMESPACE)
    assert code == 2 and err.count("\n") == 1
    assert "the API server rejected PipelineRun 'ppp" in err
    assert "metadata.annotations: Too long: may not be more than 262144 bytes" in err


def test_unreachable_cluster(kube_cluster: KubeCluster, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = yaml.safe_load(kube_cluster.kubeconfig.read_text())
    config["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{port}"
    dead = tmp_path / "dead-kubeconfig"
    dead.write_text(yaml.safe_dump(config))
    code = main(["submit", str(EXAMPLE), "--target", "argo", "--kubeconfig", str(dead)])
    err = capsys.readouterr().err
    assert code == 2 and f"cannot reach the API server at https://127.0.0.1:{port} (context 'admin'): " \
                         "Connection refused" in err


def test_untrusted_server_certificate(kube_cluster: KubeCluster, capsys: pytest.CaptureFixture[str],
                                      tmp_path: Path) -> None:
    config = yaml.safe_load(kube_cluster.kubeconfig.read_text())
    del config["clusters"][0]["cluster"]["certificate-authority-data"]
    no_ca = tmp_path / "no-ca-kubeconfig"
    no_ca.write_text(yaml.safe_dump(config))
    code = main(["submit", str(EXAMPLE), "--target", "argo", "--kubeconfig", str(no_ca)])
    err = capsys.readouterr().err
    assert code == 2 and "its TLS certificate is not trusted (give the server's CA certificate" in err


@pytest.mark.parametrize("content, message", [
    (None, "--kubeconfig {path}: no such file"),
    ("clusters: [", "kubeconfig {path}: while parsing"),
    ("{}", "kubeconfig {path}: Invalid kube-config file. Expected key current-context"),
])
def test_bad_kubeconfig(capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str | None, message: str) -> None:
    pytest.importorskip("kubernetes")
    path = tmp_path / "kubeconfig"
    if content is not None:
        path.write_text(content)
    code = main(["submit", str(EXAMPLE), "--target", "argo", "--kubeconfig", str(path)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and message.format(path=path) in err


def test_unknown_context_lists_the_known_ones(kube_cluster: KubeCluster, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = submit(capsys, kube_cluster, str(EXAMPLE), "--target", "argo", context="prod")
    assert code == 2 and "no context 'prod' (contexts: admin, wrong-token, no-rights)" in err


@pytest.fixture(scope="module")
def bare_cluster(kube_cluster: KubeCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeCluster]:
    """A second API server with no CRDs at all (as a cluster where Tekton is not installed)."""
    try:
        cluster = start_cluster(tmp_path_factory.mktemp("bare"))
    except ClusterUnavailable as error:
        pytest.skip(str(error))
    cluster.create_namespace(NAMESPACE)
    yield cluster
    cluster.stop()


@pytest.mark.parametrize("target, resource", [("tekton", "pipelineruns.tekton.dev/v1"),
                                              ("argo", "workflows.argoproj.io/v1alpha1")])
def test_crd_not_installed(bare_cluster: KubeCluster, capsys: pytest.CaptureFixture[str], target: str,
                           resource: str) -> None:
    code, _, err = submit(capsys, bare_cluster, str(EXAMPLE), "--target", target, "--namespace", NAMESPACE)
    engine = "Tekton Pipelines" if target == "tekton" else "Argo Workflows"
    assert code == 2 and err.count("\n") == 1
    assert f"does not serve {resource}: the {engine} CRDs are not installed" in err


def test_usage_errors_need_no_cluster(capsys: pytest.CaptureFixture[str]) -> None:
    cases = [(["--target", "argo", "--watch", "--dry-run"], "--watch cannot follow a dry run"),
             (["--target", "tekton", "--argo-server", "http://x"], "--argo-server submits Argo Workflows"),
             (["--target", "argo", "--argo-server", "http://x", "--watch"], "--watch follows runs through the "
                                                                              "Kubernetes API")]
    for args, message in cases:
        assert main(["submit", str(EXAMPLE), *args]) == 2
        assert message in capsys.readouterr().err


# --- --watch: the test plays the controller --------------------------------------------------------------------

class Watcher:
    """``kfp-driver submit --watch`` in a subprocess; its stderr lines arrive on a queue."""

    def __init__(self, cluster: KubeCluster, *args: str) -> None:
        code = "import sys; from driver.cli import main; sys.exit(main())"
        self.process = subprocess.Popen(
            [sys.executable, "-c", code, "submit", *args, "--namespace", NAMESPACE, "--kubeconfig",
             str(cluster.kubeconfig), "--watch", "--poll-interval", "0.05"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self.process.stdout is not None and self.process.stderr is not None
        self.name = self.process.stdout.readline().strip().split("/")[-1]
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.put(line.rstrip("\n"))

    def expect(self, line: str, timeout: float = 20) -> None:
        """Wait until ``line`` is printed (so the test writes the next state only after this one was seen)."""
        deadline = time.monotonic() + timeout
        while line not in self.seen:
            try:
                self.seen.append(self.lines.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                self.process.kill()
                raise AssertionError(f"never printed {line!r}; printed: {self.seen}") from None

    def finish(self) -> int:
        code = self.process.wait(timeout=30)
        time.sleep(0.1)
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return code


def argo_node(path: str, phase: str, node_type: str = "Pod", display: str = "") -> dict[str, Any]:
    return {"id": f"n-{path}-{display}", "type": node_type, "phase": phase, "displayName": display or path,
            "inputs": {"parameters": [{"name": "kfp-task", "value": path}]}}


def patch_workflow(cluster: KubeCluster, name: str, phase: str, nodes: list[dict[str, Any]],
                   message: str = "") -> None:
    status = {"phase": phase, "message": message, "nodes": {node["id"]: node for node in nodes}}
    custom_api(cluster).patch_namespaced_custom_object("argoproj.io", "v1alpha1", NAMESPACE, "workflows", name,
                                                       {"status": status})


@pytest.mark.parametrize("outcome", ["Succeeded", "Failed"])
def test_watch_argo_prints_ir_task_paths_and_exits_with_the_run(kube_cluster: KubeCluster, outcome: str) -> None:
    source = NESTED
    watcher = Watcher(kube_cluster, str(source), "--target", "argo")
    root = {"id": "root", "type": "DAG", "phase": "Running", "displayName": "pipeline-in-pipeline"}  # no kfp-task
    inner = argo_node("inner-pipeline", "Running", "DAG")
    patch_workflow(kube_cluster, watcher.name, "Running", [root, argo_node("print-op1", "Running"), inner])
    watcher.expect(f"kfp-driver: Workflow {NAMESPACE}/{watcher.name}: Running")
    watcher.expect("kfp-driver: print-op1: Running")
    retry = {**argo_node("inner-pipeline/print-op1", "Running", "Retry"), "children": ["attempt-0"]}
    attempt = {**argo_node("inner-pipeline/print-op1", "Failed", display="print-op1(0)"), "id": "attempt-0"}
    patch_workflow(kube_cluster, watcher.name, "Running", [root, argo_node("print-op1", "Succeeded"), inner,
                                                            retry, attempt])
    watcher.expect("kfp-driver: print-op1: Succeeded")
    watcher.expect("kfp-driver: inner-pipeline/print-op1: Running")
    end = "Error" if outcome == "Failed" else "Succeeded"
    patch_workflow(kube_cluster, watcher.name, outcome, [
        root, argo_node("print-op1", "Succeeded"), {**inner, "phase": outcome},
        {**retry, "phase": end}, attempt, argo_node("inner-pipeline/print-op2", outcome)],
        message="child failed" if outcome == "Failed" else "")
    code = watcher.finish()
    assert f"kfp-driver: inner-pipeline/print-op1: {end}" in watcher.seen
    assert f"kfp-driver: inner-pipeline/print-op2: {outcome}" in watcher.seen
    assert "kfp-driver: inner-pipeline/print-op1: Failed" not in watcher.seen  # a retried attempt is not the task
    assert not any(line.startswith("kfp-driver: root") for line in watcher.seen)
    final = f"kfp-driver: Workflow {NAMESPACE}/{watcher.name} {outcome}"
    if outcome == "Succeeded":
        assert code == 0 and final in watcher.seen
    else:
        assert code == 1 and f"{final}: child failed" in watcher.seen


def test_watch_stops_when_the_run_is_deleted(kube_cluster: KubeCluster) -> None:
    watcher = Watcher(kube_cluster, str(EXAMPLE), "--target", "argo")
    patch_workflow(kube_cluster, watcher.name, "Running", [argo_node("greet", "Running")])
    watcher.expect("kfp-driver: greet: Running")
    custom_api(kube_cluster).delete_namespaced_custom_object("argoproj.io", "v1alpha1", NAMESPACE, "workflows",
                                                             watcher.name)
    assert watcher.finish() == 2
    assert f"kfp-driver: Workflow '{watcher.name}' no longer exists in namespace '{NAMESPACE}' " \
           "(something deleted it; look at the cluster's events)" in watcher.seen


def task_run(cluster: KubeCluster, run: str, task: str) -> str:
    body = {"apiVersion": "tekton.dev/v1", "kind": "TaskRun",
            "metadata": {"name": f"{run}-{task}", "labels": {"tekton.dev/pipelineRun": run,
                                                               "tekton.dev/pipelineTask": task}},
            "spec": {"taskRef": {"name": task}}}
    custom_api(cluster).create_namespaced_custom_object("tekton.dev", "v1", NAMESPACE, "taskruns", body)
    return body["metadata"]["name"]


def set_condition(cluster: KubeCluster, plural: str, name: str, status: str, reason: str,
                  extra: dict[str, Any] | None = None) -> None:
    if plural == "taskruns":
        extra = {"podName": f"{name}-pod", **(extra or {})}  # required by Tekton's TaskRun status schema
    condition = {"type": "Succeeded", "status": status, "reason": reason, "message": f"{reason} here",
                 "lastTransitionTime": "2026-01-01T00:00:00Z"}
    custom_api(cluster).patch_namespaced_custom_object_status(
        "tekton.dev", "v1", NAMESPACE, plural, name, {"status": {"conditions": [condition], **(extra or {})}})


@pytest.mark.parametrize("outcome", ["Succeeded", "Failed"])
def test_watch_tekton_maps_task_runs_to_ir_task_paths(kube_cluster: KubeCluster, outcome: str) -> None:
    source = NESTED
    watcher = Watcher(kube_cluster, str(source), "--target", "tekton")
    sent = get(kube_cluster, "pipelineruns", watcher.name)
    tasks = {path: task for task, path in tekton_task_paths([sent]).items()}
    assert {"print-op1", "inner-pipeline/print-op1", "inner-pipeline/print-op2"} <= set(tasks)
    first, nested = task_run(kube_cluster, watcher.name, tasks["print-op1"]), \
        task_run(kube_cluster, watcher.name, tasks["inner-pipeline/print-op1"])
    children = [{"apiVersion": "tekton.dev/v1", "kind": "TaskRun", "name": first, "pipelineTaskName": tasks["print-op1"]}]
    set_condition(kube_cluster, "taskruns", first, "Unknown", "Running")
    set_condition(kube_cluster, "pipelineruns", watcher.name, "Unknown", "Running", {"childReferences": children})
    watcher.expect(f"kfp-driver: PipelineRun {NAMESPACE}/{watcher.name}: Running")
    watcher.expect("kfp-driver: print-op1: Running")
    children.append({"apiVersion": "tekton.dev/v1", "kind": "TaskRun", "name": nested,
                     "pipelineTaskName": tasks["inner-pipeline/print-op1"]})
    set_condition(kube_cluster, "taskruns", first, "True", "Succeeded")
    set_condition(kube_cluster, "taskruns", nested, "False" if outcome == "Failed" else "True", outcome)
    set_condition(kube_cluster, "pipelineruns", watcher.name, "False" if outcome == "Failed" else "True", outcome,
                  {"childReferences": children,
                   "skippedTasks": [{"name": tasks["inner-pipeline/print-op2"], "reason": "Parent Tasks were skipped"}]})
    code = watcher.finish()
    assert "kfp-driver: print-op1: Succeeded" in watcher.seen
    assert f"kfp-driver: inner-pipeline/print-op1: {outcome}" in watcher.seen
    assert "kfp-driver: inner-pipeline/print-op2: Skipped" in watcher.seen
    final = f"kfp-driver: PipelineRun {NAMESPACE}/{watcher.name} {outcome}"
    assert (code, final + (": Failed here" if outcome == "Failed" else "") in watcher.seen) == \
        (0 if outcome == "Succeeded" else 1, True)


# --- reading progress (no cluster) ----------------------------------------------------------------------------

def test_argo_loop_iterations_get_an_index() -> None:
    nodes = [argo_node("for-loop-1", "Running", "DAG"),
             argo_node("for-loop-1/print", "Succeeded", display="for-loop-1(0:a)"),
             argo_node("for-loop-1/print", "Running", display="for-loop-1(1:b)"),
             {"id": "plumbing", "type": "Skipped", "phase": "Skipped", "displayName": "x"}]
    state = argo_state({"status": {"phase": "Running", "nodes": {n["id"]: n for n in nodes}}})
    assert state.tasks == {"for-loop-1": "Running", "for-loop-1/print[0]": "Succeeded",
                           "for-loop-1/print[1]": "Running"}
    assert not state.done


def test_tekton_task_paths_come_from_the_golden_manifest() -> None:
    manifest = yaml.safe_load((GOLDEN / "tekton" / "nested-pipeline.yaml").read_text())
    paths = tekton_task_paths([manifest])
    assert paths["inner-pipeline-print-op1"] == "inner-pipeline/print-op1"
    run = {"status": {"conditions": [{"type": "Succeeded", "status": "Unknown", "reason": "Running"}],
                      "childReferences": [{"name": "tr-a", "pipelineTaskName": "inner-pipeline-print-op1"},
                                          {"name": "tr-b", "pipelineTaskName": "inner-pipeline-print-op1"}]}}
    state = tekton_state(run, [{"metadata": {"name": "tr-a"}, "status": {"conditions": [
        {"type": "Succeeded", "status": "True"}]}}], paths)
    assert state.tasks == {"inner-pipeline/print-op1[0]": "Succeeded", "inner-pipeline/print-op1[1]": "Pending"}
    assert state.phase == "Running" and not state.done


# --- --argo-server through hera --------------------------------------------------------------------------------

class ArgoServerStub(BaseHTTPRequestHandler):
    """Answers POST /api/v1/workflows/NS like Argo Server; records what it received."""

    received: list[dict[str, Any]] = []
    status = 200

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        ArgoServerStub.received.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
        if self.status != 200:
            reply: dict[str, Any] = {"code": 16, "message": "token not valid"}
        else:
            workflow = body["workflow"]
            reply = {**workflow, "metadata": {**workflow["metadata"], "name": "hello-pipeline-abcde",
                                               "namespace": "team", "uid": "u-1"}}
        data = json.dumps(reply).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def argo_server() -> Iterator[str]:
    pytest.importorskip("hera")
    ArgoServerStub.received, ArgoServerStub.status = [], 200
    server = ThreadingHTTPServer(("127.0.0.1", 0), ArgoServerStub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_argo_server_receives_the_workflow_and_token(argo_server: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["submit", str(EXAMPLE), "--target", "argo", "--argo-server", argo_server, "--argo-token", "s3cret",
                 "--namespace", "team", "--param", "name=Ada", "--dry-run"])
    out = capsys.readouterr().out
    (request,) = ArgoServerStub.received
    expected = compiled(str(EXAMPLE), "--target", "argo", "--param", "name=Ada", capsys=capsys)
    assert code == 0 and out.strip() == "team/hello-pipeline-abcde"
    assert request["path"] == "/api/v1/workflows/team" and request["auth"] == "Bearer s3cret"
    assert request["body"]["serverDryRun"] is True
    assert request["body"]["workflow"]["spec"] == expected["spec"]
    assert request["body"]["workflow"]["metadata"]["namespace"] == "team"


def test_argo_server_rejecting_the_token(argo_server: str, capsys: pytest.CaptureFixture[str]) -> None:
    ArgoServerStub.status = 401
    code = main(["submit", str(EXAMPLE), "--target", "argo", "--argo-server", argo_server, "--argo-token", "bad"])
    err = capsys.readouterr().err
    assert code == 2 and f"the API server at {argo_server} rejected the credentials of the token (401" in err
