"""SLIs: Argo's own Prometheus metrics in compiled manifests, the local runner's --metrics-file, and the launcher's
per-attempt metrics in the execution records."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from driver.local.metrics import run_metrics, task_label
from driver.local.model import RunResult, State, TaskRecord
from driver.plan import load_plan
from tests import irbuild as ir
from tests.conftest import ROOT, corpus_files
from tests.test_argo_conformance import schema_errors
from translators.argo import compile_workflow
from translators.options import CompileOptions

CLI = "import sys; from driver.cli import main; sys.exit(main())"
LOOP_FILE = next(p for p in corpus_files() if "loop" in p.name or "parallel" in p.name)


def compiled(path: Path, **options) -> dict:
    return compile_workflow(load_plan(path), CompileOptions(**options))


def all_metrics(manifest: dict) -> list[dict]:
    spec = manifest["spec"]
    return [*spec.get("metrics", {}).get("prometheus", []),
            *(m for t in spec["templates"] for m in t.get("metrics", {}).get("prometheus", []))]


# ---------------------------------------------------------------------------------------------
# Argo


def test_argo_run_and_task_metrics_with_bounded_labels() -> None:
    manifest = compiled(LOOP_FILE)
    spec = manifest["spec"]
    run = {m["name"]: m for m in spec["metrics"]["prometheus"]}
    assert run["kfp_run_duration_seconds"]["gauge"] == {"value": "{{workflow.duration}}", "realtime": True}
    assert {"key": "status", "value": "{{workflow.status}}"} in run["kfp_run_result_total"]["labels"]
    containers = [t for t in spec["templates"] if "container" in t]
    assert containers and all("metrics" in t for t in containers)
    assert not any("metrics" in t for t in spec["templates"] if "dag" in t)
    allowed = {"{{inputs.parameters.kfp-task}}", "{{status}}", "{{workflow.status}}",
               manifest["metadata"]["labels"]["kfp-driver.io/pipeline"]}
    for metric in all_metrics(manifest):
        assert metric["help"]
        for label in metric["labels"]:
            value = label["value"]
            assert value in allowed or (label["key"] == "component" and "{{" not in value), label
    assert not schema_errors(manifest)


def test_task_metrics_are_the_same_on_every_container_template() -> None:
    """Argo wants one label set per metric name; ``{{retries}}`` would be a metric error on every retried attempt."""
    spec = compiled(LOOP_FILE)["spec"]
    shapes = {(m["name"], tuple(label["key"] for label in m["labels"]))
              for t in spec["templates"] if "container" in t for m in t["metrics"]["prometheus"]}
    assert shapes == {("kfp_task_duration_seconds", ("pipeline", "task", "component", "status")),
                      ("kfp_task_attempts_total", ("pipeline", "task", "component", "status"))}
    assert "{{retries}}" not in json.dumps(spec)


def test_metrics_can_be_turned_off(tmp_path: Path) -> None:
    assert not all_metrics(compiled(LOOP_FILE, metrics=False))
    result = subprocess.run([sys.executable, "-c", CLI, "compile", str(LOOP_FILE), "--no-metrics", "--format", "json"],
                            capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "prometheus" not in result.stdout


def test_every_corpus_manifest_with_metrics_passes_the_strict_schema() -> None:
    """Cheap: the conformance suite compiles with metrics too (the default); this pins the metric parts."""
    errors = {}
    for path in corpus_files()[::10]:
        problems = schema_errors(compiled(path))
        if problems:
            errors[path.name] = problems[:2]
    assert not errors


def test_argo_accepts_the_metrics(tmp_path: Path) -> None:
    """Argo's own validation (``argo lint --offline``) of a manifest with metrics on retried and looped tasks."""
    if shutil.which("go") is None:
        pytest.skip("go is not installed: Argo's own validation cannot be built")
    out = tmp_path / "wf.json"
    out.write_text(json.dumps(compiled(LOOP_FILE)))
    done = subprocess.run([str(ROOT / "hack" / "validate-argo"), str(out)], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr


# ---------------------------------------------------------------------------------------------
# local runner


def test_task_label_drops_loop_indices() -> None:
    assert task_label("for-loop-1[12]/inner[3]/echo") == "for-loop-1/inner/echo"


def test_run_metrics_text_format() -> None:
    tasks = {
        "a": TaskRecord("a", State.SUCCEEDED, {}, duration=1.5, attempts=3, component="comp-a", queued=0.25),
        "loop[0]/b": TaskRecord("loop[0]/b", State.SUCCEEDED, {}, duration=1.0, attempts=1, component="comp-b"),
        "loop[1]/b": TaskRecord("loop[1]/b", State.FAILED, {}, duration=2.0, attempts=1, component="comp-b"),
        "loop": TaskRecord("loop", State.FAILED, {}),
    }
    result = RunResult("r1", State.FAILED, {}, tasks, Path("."), duration=4.0)
    attempts = [{"task_path": "a", "metrics": {"artifact_bytes_in": 5, "artifact_bytes_out": 7, "upload_success": True,
                                                "retries": 2}},
                {"task_path": "loop[1]/b", "metrics": {"artifact_bytes_in": 0, "artifact_bytes_out": 0,
                                                       "upload_success": False, "retries": 0}}]
    text = run_metrics("p", result, attempts)
    assert 'kfp_run_result_total{pipeline="p",status="Failed"} 1' in text
    assert 'kfp_run_duration_seconds{pipeline="p"} 4' in text
    assert 'kfp_task_retries_total{pipeline="p",task="a",component="comp-a"} 2' in text
    assert 'kfp_task_duration_seconds_count{pipeline="p",task="loop/b",component="comp-b",status="Succeeded"} 1' in text
    assert 'kfp_task_attempts_total{pipeline="p",task="a",component="comp-a",status="Failed"} 2' in text
    assert 'kfp_task_attempts_total{pipeline="p",task="loop/b",component="comp-b",status="Failed"} 1' in text
    assert 'kfp_task_queue_seconds_sum{pipeline="p",task="a",component="comp-a"} 0.25' in text
    assert 'kfp_artifact_bytes_total{pipeline="p",task="a",component="comp-a",direction="out"} 7' in text
    assert 'kfp_artifact_uploads_total{pipeline="p",task="loop/b",component="comp-b",result="failure"} 1' in text
    assert 'kfp_store_retries_total{pipeline="p",task="a",component="comp-a"} 2' in text
    assert 'kfp_run_tasks{pipeline="p",state="FAILED"} 2' in text
    assert "[" not in text.replace("[0]", "")  # no loop index anywhere
    families = [line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")]
    assert len(families) == len(set(families))  # each family once, its samples together


def test_metrics_file_of_a_real_run_and_records_carry_the_launcher_metrics(tmp_path: Path) -> None:
    write = 'mkdir -p "$(dirname "$0")" "$(dirname "$1")"; printf 12345 > "$1"; printf ok > "$0"'
    component = ({"executorLabel": "exec-w",
                  "outputDefinitions": {"parameters": {"Output": {"parameterType": "STRING"}},
                                        "artifacts": {"data": {"artifactType": {"schemaTitle": "system.Dataset",
                                                                                "schemaVersion": "0.0.1"}}}}},
                 {"container": {"image": "alpine:3.20", "command": ["sh", "-c", write],
                                "args": ["{{$.outputs.parameters['Output'].output_file}}",
                                         "{{$.outputs.artifacts['data'].path}}"]}})
    flaky = tmp_path / "flaky"
    retry = ir.container_component("r", ["sh", "-c", f'[ -e "{flaky}" ] || {{ touch "{flaky}"; exit 1; }}'])
    retry_task = {**ir.task("r"), "retryPolicy": {"maxRetryCount": 2, "backoffDuration": "0s", "backoffFactor": 1}}
    spec = ir.write(ir.pipeline("slis", {"w": component, "r": retry}, {"w": ir.task("w"), "r": retry_task}),
                    tmp_path / "p.yaml")
    prom, work = tmp_path / "out" / "run.prom", tmp_path / "work"
    done = subprocess.run([sys.executable, "-c", CLI, "run", str(spec), "--workdir", str(work), "--quiet",
                           "--metrics-file", str(prom)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    text = prom.read_text()
    assert 'kfp_run_result_total{pipeline="slis",status="Succeeded"} 1' in text
    assert 'kfp_task_retries_total{pipeline="slis",task="r",component="comp-r"} 1' in text
    assert 'kfp_artifact_bytes_total{pipeline="slis",task="w",component="comp-w",direction="out"} 5' in text
    assert 'kfp_artifact_uploads_total{pipeline="slis",task="w",component="comp-w",result="success"} 1' in text
    records = [json.loads(r) for (r,) in sqlite3.connect(work / "records.db").execute(
        "SELECT record FROM executions ORDER BY id")]
    by_task = {(r["task_path"], r["attempt"]): r for r in records}
    written = by_task[("w", 1)]
    assert set(written["timings"]) >= {"resolve", "download", "run", "collect", "upload"}
    assert written["metrics"]["artifact_bytes_out"] == 5 and written["metrics"]["upload_success"] is True
    assert written["metrics"]["retries"] == 0
    assert by_task[("r", 1)]["state"] == "FAILED" and by_task[("r", 2)]["state"] == "SUCCEEDED"
    assert by_task[("r", 2)]["metrics"]["upload_success"] is None  # no output artifacts: nothing to upload


def test_metrics_file_is_local_only(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", CLI, "run", str(LOOP_FILE), "--engine", "argo", "--metrics-file",
                           str(tmp_path / "m")], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 2 and "--metrics-file is written by the local engine only" in done.stderr


# ---------------------------------------------------------------------------------------------
# scale (the 1,000-task figures: benchmarks/bench_scale.py)


@pytest.mark.slow
def test_100_task_fanout_completes_with_bounded_runner_memory() -> None:
    from benchmarks.bench_scale import run_fanout

    row = run_fanout(100, parallelism=4)
    assert row["state"] == "SUCCEEDED" and row["tasks"] == 100
    assert row["peak_rss_mb"] < 250, row
