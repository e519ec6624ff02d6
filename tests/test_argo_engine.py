"""``--engine argo``: real pipelines on Argo's own workflow controller (hack/argo-harness) give the local
runner's results.

Every comparison runs the CLI twice, ``--engine local`` and ``--engine argo``, and asserts the same exit
code and the same ``--json`` summary (states and outputs of every task path; artifact URIs and run ids
differ by design and are left out). Several of these found translator bugs (docs/engines.md), since
fixed; a new one is marked ``xfail(strict=True)`` with the bug until its fix. Needs Go (the harness is
built from Argo's source on first use, then cached); skipped without it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests import irbuild as ir

ROOT = Path(__file__).resolve().parents[1]
E2E = ROOT / "tests" / "e2e" / "ir"
CLI = "import sys; from driver.cli import main; sys.exit(main())"
HOSTILE = "it's \"q\" {{workflow.name}} {{=1+1}} $(echo pwned) `id` }}\nline2 ünï 🙂"

pytestmark = pytest.mark.skipif(shutil.which("go") is None,
                                reason="Go is not installed: the Argo harness is built from Argo's source")


def run(ir_file: Path, engine: str, workdir: Path, *params: str,
        env: dict[str, str] | None = None) -> tuple[int, dict[str, Any], str]:
    argv = [sys.executable, "-c", CLI, "run", str(ir_file), "--engine", engine, "--json", "--workdir", str(workdir)]
    for param in params:
        argv += ["--param", param]
    done = subprocess.run(argv, capture_output=True, text=True, encoding="utf-8", cwd=ROOT, timeout=900, env=env)
    return done.returncode, json.loads(done.stdout) if done.stdout.strip() else {}, done.stderr


def comparable(value: Any, ignore: tuple[str, ...] = ()) -> Any:
    if isinstance(value, dict):
        return {k: comparable(v, ignore) for k, v in value.items() if k not in ("uri", "run_id", *ignore)}
    if isinstance(value, list):
        return [comparable(v, ignore) for v in value]
    return value


def same_as_local(ir_file: Path, tmp_path: Path, *params: str, ignore: tuple[str, ...] = ()) -> dict[str, Any]:
    """Run on both engines (``{engine}`` in a parameter becomes the engine's name); the Argo summary
    without artifact URIs, run ids and the ``ignore``d keys."""
    results = {}
    for engine in ("local", "argo"):
        filled = [p.replace("{engine}", engine) for p in params]
        code, summary, stderr = run(ir_file, engine, tmp_path / engine, *filled)
        assert summary, f"{engine}: exit {code}, no summary\n{stderr[-3000:]}"
        results[engine] = (code, comparable(summary, ignore))
    assert results["argo"] == results["local"], json.dumps(results, indent=1, ensure_ascii=False)[:6000]
    return results["argo"][1]


# -- the e2e pipelines, on both engines -------------------------------------------------------------


def test_container_components(tmp_path: Path) -> None:
    summary = same_as_local(E2E / "container_components.yaml", tmp_path, "name=Ada")
    assert summary["tasks"]["cat"]["outputs"]["copy"] == "Hello, Ada! --suffix Esq. mode=with"


def test_hello_example(tmp_path: Path) -> None:
    summary = same_as_local(ROOT / "examples" / "hello-pipeline.yaml", tmp_path, "name=Ada")
    assert summary["outputs"] == {"length": 11}


@pytest.mark.parametrize("n, loud, ran", [
    (12, "true", ["condition-3/condition-2/say-2", "condition-3/say"]),
    (7, "true", ["condition-4/say-3"]),
    (3, "false", ["condition-5/say-4"]),
])
def test_if_elif_else(tmp_path: Path, n: int, loud: str, ran: list[str]) -> None:
    summary = same_as_local(E2E / "conditions.yaml", tmp_path, f"n={n}", f"loud={loud}")
    branches = sorted(path.removeprefix("condition-branches-1/") for path, task in summary["tasks"].items()
                      if path.startswith("condition-branches-1/") and task["state"] == "SUCCEEDED")
    assert branches == ran, summary


def test_oneof_parameters(tmp_path: Path) -> None:
    same_as_local(E2E / "oneof_parameters.yaml", tmp_path, "mode=b")


def test_loop_over_a_parameter_with_collected_fan_in(tmp_path: Path) -> None:
    people = [{"who": "ada", "times": 2}, {"who": "bob", "times": 1}, {"who": HOSTILE, "times": 1}]
    summary = same_as_local(E2E / "loop_pipeline_param.yaml", tmp_path, f"people={json.dumps(people)}")
    assert summary["tasks"]["for-loop-1[2]/greet"]["outputs"]["Output"] == f"hi {HOSTILE}"


def test_loops_over_static_dicts_and_artifact_lists(tmp_path: Path) -> None:
    same_as_local(E2E / "loop_dict_items.yaml", tmp_path)
    same_as_local(E2E / "loop_artifacts.yaml", tmp_path / "artifacts")


def test_retried_task(tmp_path: Path) -> None:
    for engine in ("local", "argo"):
        (tmp_path / f"state-{engine}").mkdir()
    summary = same_as_local(E2E / "retry.yaml", tmp_path, f"state_dir={tmp_path}/state-{{engine}}")
    assert summary["outputs"] == {"Output": "succeeded after 2 attempts"}
    assert (tmp_path / "state-argo" / "attempts").read_text() == "2"
    records = sorted(p.name.split("-")[1] for p in tmp_path.rglob(".records/flaky/attempt-*.json"))
    assert records == ["1", "2"]  # each attempt recorded under its own number (--attempt from {{retries}})


def test_nested_pipeline_outputs(tmp_path: Path) -> None:
    summary = same_as_local(E2E / "nested_pipeline.yaml", tmp_path, "start=5")
    assert summary["state"] == "SUCCEEDED" and summary["outputs"]


def test_typed_values_and_artifact_metadata(tmp_path: Path) -> None:
    same_as_local(E2E / "types_arithmetic.yaml", tmp_path)
    same_as_local(E2E / "artifacts_types.yaml", tmp_path / "artifacts")


def test_hostile_strings_arrive_byte_for_byte(tmp_path: Path) -> None:
    summary = same_as_local(E2E / "hostile_strings.yaml", tmp_path, f"value={HOSTILE}")
    assert summary["tasks"]["echo-sh"]["outputs"]["out"] == HOSTILE


# -- what the harness found in the translator's manifests (docs/engines.md) -----------------------


def test_exit_handler_sees_the_failure(tmp_path: Path) -> None:
    summary = same_as_local(E2E / "exit_handler.yaml", tmp_path, "message=boom on purpose",
                            ignore=("job", "error_message"))  # the run's name; the engine's own wording
    assert summary["state"] == "FAILED"
    status = summary["tasks"]["cleanup"]["outputs"]["Output"]  # the PipelineTaskFinalStatus the exit task got
    assert status == {"state": "FAILED", "task": "exit-handler-1", "error_code": 2}


def test_importer(tmp_path: Path) -> None:
    summary = same_as_local(E2E / "importer.yaml", tmp_path, "uri=/etc/hostname", "label=x")
    assert summary["tasks"]["importer"]["outputs"]["artifact"]["metadata"] == {"source": "e2e", "label": "x"}


def test_ignore_upstream_failure(tmp_path: Path) -> None:
    """Argo 3.7.18 checks every ``tasks.X`` member path of a ``{{=...}}`` argument, also in an untaken
    branch: an unguarded read of the failed task's output requeued the consumer forever."""
    summary = same_as_local(E2E / "ignore_upstream_failure.yaml", tmp_path)
    assert summary["tasks"]["report"]["outputs"] == {"Output": "report: upstream produced nothing"}


@pytest.mark.parametrize("length", [4, 0])
def test_loop_over_a_task_output_with_collected_integers(tmp_path: Path, length: int) -> None:
    summary = same_as_local(E2E / "loop_task_output.yaml", tmp_path, f"length={length}")
    assert summary["outputs"] == {"Output": json.dumps([2 * i for i in range(1, length + 1)])}


def test_loop_parallelism_is_argos(tmp_path: Path) -> None:
    summary = same_as_local(E2E / "loop_static_list.yaml", tmp_path, ignore=("start", "end"))
    spans = [(task["outputs"]["Output"]["start"], task["outputs"]["Output"]["end"])
             for path, task in run(E2E / "loop_static_list.yaml", "argo", tmp_path / "again")[1]["tasks"].items()
             if path.startswith("for-loop-4[")]
    assert len(spans) == 5 and summary["outputs"] == {"Output": 30}
    most = max(sum(1 for start, end in spans if start <= t < end) for t, _ in spans)
    assert most <= 2, spans  # ParallelFor(parallelism=2): Argo's wrapper DAG holds the third back


def test_cache_is_shared_by_runs_in_one_workdir(tmp_path: Path) -> None:
    first = run(E2E / "cache.yaml", "argo", tmp_path)[1]["tasks"]
    second = run(E2E / "cache.yaml", "argo", tmp_path)[1]["tasks"]
    assert second["stamp"] == first["stamp"] and second["suffix"] == first["suffix"]
    assert second["stamp-2"] != first["stamp-2"]  # caching disabled for this task


def _echo_pipeline(tmp_path: Path) -> Path:
    echo = ir.container_component(
        "echo", ["sh", "-c", 'printf %s "$0" > "$1"', "{{$.inputs.parameters['text']}}",
                 "{{$.outputs.parameters['out'].output_file}}"], inputs={"text": "STRING"}, outputs={"out": "STRING"})
    spec = ir.pipeline("echo", {"echo": echo}, {"echo": ir.task("echo", params={"text": ir.parent("text")})},
                       inputs={"text": {"parameterType": "STRING"}})
    return ir.write(spec, tmp_path / "echo.yaml")


def test_kubernetes_expansion_of_dollar_references(tmp_path: Path) -> None:
    """Container args go through Kubernetes' $(VAR) and $$ expansion (the harness applies it)."""
    value = "a$$b $(ARGO_CONTAINER_NAME) $(x) $HOME"
    summary = same_as_local(_echo_pipeline(tmp_path), tmp_path, f"text={value}")
    assert summary["tasks"]["echo"]["outputs"]["out"] == value


# -- failures the harness must show ------------------------------------------------------------


def test_a_broken_wiring_fails_the_run(tmp_path: Path) -> None:
    """A manifest whose consumer reads a wrong output name: Argo itself refuses to run it."""
    from driver.engines import argo
    from driver.local.model import RunOptions
    from driver.plan import load_plan

    plan = load_plan(str(ROOT / "examples" / "hello-pipeline.yaml"))
    options = RunOptions(workdir=tmp_path, stream_logs=False)
    workflow = argo.workflow_for(plan, {"name": "Ada"}, options, str(tmp_path / "artifacts"))
    text = json.dumps(workflow).replace("outputs.parameters.greeting}}", "outputs.parameters.greetin}}")
    assert text != json.dumps(workflow)
    manifest = tmp_path / "broken.json"
    manifest.write_text(text)
    document = argo.run_harness(manifest, tmp_path, options)
    result = argo.Nodes(plan, json.loads(text), document).result("broken", tmp_path)
    assert result.state.value == "FAILED" and not result.outputs
    assert "failed to resolve {{tasks.greet.outputs.parameters.greetin}}" in result.error  # Argo's validation


def test_missing_go_is_one_clear_line(tmp_path: Path) -> None:
    python_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": os.pathsep.join([python_dir, "/usr/bin", "/bin"])}
    if shutil.which("go", path=env["PATH"]):
        pytest.skip("go is in /usr/bin or /bin; cannot hide it")
    code, summary, stderr = run(ROOT / "examples" / "hello-pipeline.yaml", "argo", tmp_path, env=env)
    lines = stderr.strip().splitlines()
    assert code == 2 and not summary and len(lines) == 1, stderr
    assert "needs Go" in lines[0] and "--engine local" in lines[0]
    done = subprocess.run([sys.executable, str(ROOT / "hack" / "run-argo"), str(tmp_path)], env=env,
                          capture_output=True, text=True)
    assert done.returncode == 2  # not a file
    manifest = tmp_path / "wf.json"
    manifest.write_text("{}")
    done = subprocess.run([sys.executable, str(ROOT / "hack" / "run-argo"), str(manifest)], env=env,
                          capture_output=True, text=True)
    assert done.returncode == 3 and "Go is not installed" in done.stderr


def test_run_argo_prints_the_nodes(tmp_path: Path) -> None:
    from driver.engines import argo
    from driver.local.model import RunOptions
    from driver.plan import load_plan

    plan = load_plan(str(ROOT / "examples" / "hello-pipeline.yaml"))
    workflow = argo.workflow_for(plan, {"name": "Ada"}, RunOptions(workdir=tmp_path), str(tmp_path / "artifacts"))
    manifest = tmp_path / "wf.json"
    manifest.write_text(json.dumps(workflow))
    done = subprocess.run([sys.executable, str(ROOT / "hack" / "run-argo"), str(manifest), "--workdir",
                           str(tmp_path / "w"), "--parallelism", "1"], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["phase"] == "Succeeded"
    pods = {node["displayName"]: node for node in document["nodes"] if node["type"] == "Pod"}
    assert set(pods) == {"greet", "count"}
    greet = pods["greet"]
    assert {p["name"]: p["value"] for p in greet["inputs"]["parameters"]} == {"kfp-task": "greet", "name": "Ada"}
    assert {p["name"]: p["value"] for p in greet["outputs"]["parameters"]} == {"greeting": "Hello, Ada!"}
    assert greet["templateName"] and greet["startedAt"] and greet["finishedAt"] and greet["exitCode"] == "0"
    assert (tmp_path / "w" / "pods" / greet["podName"] / "main.log").exists()


SEEDED = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: seeded-}
spec:
  entrypoint: main
  templates:
  - name: main
    outputs:
      parameters:
      - {name: seen, valueFrom: {path: /out/seen}}
    volumes:
    - {name: creds, secret: {secretName: store}}
    - {name: out, emptyDir: {}}
    container:
      image: alpine
      command: [sh, -c]
      args: ['printf "%s|%s|%s|$(MODE)" "$TOKEN" "$(cat "$1")" "$MODE" > "$2/seen"', sh, /creds/key, /out]
      env:
      - {name: TOKEN, valueFrom: {secretKeyRef: {name: store, key: token}}}
      - {name: MODE, valueFrom: {configMapKeyRef: {name: settings, key: mode}}}
      volumeMounts:
      - {name: creds, mountPath: /creds}
      - {name: out, mountPath: /out}
"""


def test_run_argo_resolves_seeded_secrets_config_maps_and_volumes(tmp_path: Path) -> None:
    manifest, seed = tmp_path / "wf.yaml", tmp_path / "seed.yaml"
    manifest.write_text(SEEDED)
    seed.write_text("apiVersion: v1\nkind: Secret\nmetadata: {name: store}\nstringData: {token: t0k, key: k3y}\n---\n"
                    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {mode: fast}\n")
    done = subprocess.run([sys.executable, str(ROOT / "hack" / "run-argo"), str(manifest), "--workdir",
                           str(tmp_path / "w"), "--seed", str(seed)], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr + done.stdout
    (node,) = [n for n in json.loads(done.stdout)["nodes"] if n["type"] == "Pod"]
    # the secret reaches env and a mounted file; $(MODE) in args is Kubernetes' expansion
    assert node["outputs"]["parameters"] == [{"name": "seen", "value": "t0k|k3y|fast|fast"}]
    done = subprocess.run([sys.executable, str(ROOT / "hack" / "run-argo"), str(manifest), "--workdir",
                           str(tmp_path / "w2")], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 1  # without the seed the pod cannot start: the workflow fails
    (node,) = [n for n in json.loads(done.stdout)["nodes"] if n["type"] == "Pod"]
    assert "secret store" in node["message"] and "--seed" in node["message"]


STUCK = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: stuck}
spec:
  entrypoint: main
  templates:
  - name: say
    inputs: {parameters: [{name: text}]}
    container: {image: alpine, command: [echo, "{{inputs.parameters.text}}"]}
  - name: main
    dag:
      tasks:
      - {name: a, template: say, arguments: {parameters: [{name: text, value: hi}]}}
      - name: b
        template: say
        depends: a
        arguments: {parameters: [{name: text, value: '{{=tasks["a"].outputs.parameters["nope"]}}'}]}
"""


def test_a_workflow_that_stops_progressing_is_reported_stalled(tmp_path: Path) -> None:
    """Argo 3.7 requeues a task whose expression reads a missing output, forever: the harness stops."""
    manifest = tmp_path / "wf.yaml"
    manifest.write_text(STUCK)
    done = subprocess.run([sys.executable, str(ROOT / "hack" / "run-argo"), str(manifest), "--workdir",
                           str(tmp_path / "w"), "--stall", "2"], capture_output=True, text=True, cwd=ROOT)
    document = json.loads(done.stdout)
    assert done.returncode == 1 and document["stalled"] and document["phase"] == "Running", done.stderr
    assert [n["displayName"] for n in document["nodes"] if n["type"] == "Pod"] == ["a"]

