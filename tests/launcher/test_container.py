"""Container components end to end through ``python -m launcher`` with the local file store."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.launcher.conftest import REPO, container_spec, launch, launcher_argv, ph

HOSTILE = "it's \"quoted\" {{$}} {{$.inputs.parameters['x']}} $(rm -rf /) `id` $HOME \\ \n2nd line\ttab ü 漢字 🚀"
ECHO_SPEC = container_spec(
    ["sh", "-c", 'printf "%s" "$0" > "$1"; printf "%s" "$2" > "$3"'],
    [ph("inputValue", "text"), ph("outputParameterFile", "same"),
     {"concat": ["<", {"ph": "inputValue", "name": "text"}, ">"]}, ph("outputParameterFile", "wrapped")],
    inputs={"parameters": {"text": {"type": "STRING"}}},
    outputs={"parameters": {"same": {"type": "STRING"}, "wrapped": {"type": "STRING"}}})


def test_hostile_strings_arrive_byte_for_byte(tmp_path):
    result = launch(ECHO_SPEC, tmp_path, extra=["--param", f"text={HOSTILE}"])
    assert result.code == 0, result.stderr
    assert result.param("same") == HOSTILE
    assert result.param("wrapped") == f"<{HOSTILE}>"


def test_large_values_through_param_file(tmp_path):
    big = HOSTILE * 800  # ~100 KB: under the kernel's 128 KiB limit for one argument
    (tmp_path / "value").write_text(big, encoding="utf-8")
    result = launch(ECHO_SPEC, tmp_path, extra=["--param-file", f"text={tmp_path / 'value'}"])
    assert result.code == 0, result.stderr
    assert result.param("same") == big


TYPED_SPEC = container_spec(
    ["sh", "-c", 'echo 7 > "$0"; echo 2.5 > "$1"; echo true > "$2"; echo \'[1, {"a": 2}]\' > "$3"; echo "$4" > "$5"'],
    [ph("outputParameterFile", "count"), ph("outputParameterFile", "ratio"), ph("outputParameterFile", "flag"),
     ph("outputParameterFile", "items"), ph("inputValue", "n"), ph("outputParameterFile", "n_again")],
    inputs={"parameters": {"n": {"type": "NUMBER_INTEGER"}}},
    outputs={"parameters": {"count": {"type": "NUMBER_INTEGER"}, "ratio": {"type": "NUMBER_DOUBLE"},
                            "flag": {"type": "BOOLEAN"}, "items": {"type": "LIST"},
                            "n_again": {"type": "NUMBER_INTEGER"}}})


def test_outputs_are_typed_and_integers_stay_integers(tmp_path):
    result = launch(TYPED_SPEC, tmp_path, extra=["--param", "n=12.0"])
    assert result.code == 0, result.stderr
    assert [result.param(n) for n in ("count", "ratio", "flag", "items", "n_again")] == \
        ["7", "2.5", "true", '[1,{"a":2}]', "12"]


ARTIFACT_SPEC = container_spec(
    ["sh", "-c", 'cat "$0" "$1/part" > "$2"; mkdir -p "$3"; echo x > "$3/inner"; exit "$4"'],
    [ph("inputPath", "data"), ph("inputPath", "folder"), ph("outputPath", "joined"), ph("outputPath", "tree"),
     ph("inputValue", "code")],
    inputs={"parameters": {"code": {"type": "NUMBER_INTEGER", "optional": True, "default": 0}},
            "artifacts": {"data": {"schemaTitle": "system.Dataset"}, "folder": {"schemaTitle": "system.Artifact"}}},
    outputs={"artifacts": {"joined": {"schemaTitle": "system.Dataset", "schemaVersion": "0.0.1"},
                           "tree": {"schemaTitle": "system.Artifact", "schemaVersion": "0.0.1"}}})


def _artifact_inputs(tmp_path: Path) -> list[str]:
    (tmp_path / "in" / "folder").mkdir(parents=True)
    (tmp_path / "in" / "data.txt").write_text("head\n")
    (tmp_path / "in" / "folder" / "part").write_text("tail\n")
    return ["--artifact", f"data=file://{tmp_path}/in/data.txt",
            "--artifact", json.dumps({"uri": str(tmp_path / "in" / "folder"), "metadata": {"k": 1}}).join(["folder=", ""])]


def test_artifacts_read_in_place_and_published_by_rename(tmp_path):
    result = launch(ARTIFACT_SPEC, tmp_path, extra=_artifact_inputs(tmp_path))
    assert result.code == 0, result.stderr
    joined, tree = result.artifact("joined"), result.artifact("tree")
    assert Path(joined["uri"]).read_text() == "head\ntail\n"
    assert joined["uri"] == f"{tmp_path}/root/run-1/task/joined" and joined["size"] == 10
    assert joined["digest"].startswith("sha256:") and joined["type"]["schemaTitle"] == "system.Dataset"
    assert (Path(tree["uri"]) / "inner").read_text() == "x\n"
    assert not [p for p in (tmp_path / "root").rglob(".kfp-*")]  # no staging left behind


def test_failure_returns_the_exit_code_and_publishes_nothing(tmp_path):
    result = launch(ARTIFACT_SPEC, tmp_path, extra=[*_artifact_inputs(tmp_path), "--param", "code=3",
                                                    "--records", f"sqlite:///{tmp_path}/records.db"])
    assert result.code == 3
    assert result.published() == []
    task_dir = tmp_path / "root" / "run-1" / "task"
    assert not task_dir.exists() or not any(task_dir.iterdir())  # staged outputs removed, nothing renamed in
    assert "exited with code 3" in result.stderr and "no outputs published" in result.stderr
    row = sqlite3.connect(tmp_path / "records.db").execute("SELECT state, exit_code, error FROM executions").fetchone()
    assert row == ("FAILED", 3, "the command exited with code 3")


def test_missing_output_parameter_fails_the_task(tmp_path):
    spec = container_spec(["true"], outputs={"parameters": {"p": {"type": "STRING"}}})
    result = launch(spec, tmp_path)
    assert result.code == 1 and result.published() == []
    assert "output parameter 'p' was not written" in result.stderr


def test_command_not_found_or_not_startable(tmp_path):
    result = launch(container_spec(["/nonexistent/tool"]), tmp_path)
    assert result.code == 127 and "command not found" in result.stderr
    (tmp_path / "long").write_text("x" * 200_000)
    spec = container_spec(["true", ph("inputValue", "v")], inputs={"parameters": {"v": {"type": "STRING"}}})
    result = launch(spec, tmp_path, extra=["--param-file", f"v={tmp_path / 'long'}"])
    assert result.code == 126 and "Argument list too long" in result.stderr


def test_log_lines_carry_run_id_and_task_path_and_user_output_is_untouched(tmp_path):
    spec = container_spec(["sh", "-c", "echo out-line; echo err-line >&2"])
    result = launch(spec, tmp_path, run_id="r-42", task_path="loop[3]/step")
    assert result.code == 0
    assert result.stdout == "out-line\n"
    launcher_lines = [line for line in result.stderr.splitlines() if line != "err-line"]
    assert "err-line" in result.stderr.splitlines()
    assert launcher_lines and all(line.startswith("[kfp-launcher r-42 loop[3]/step] ") for line in launcher_lines)


def test_sigterm_is_forwarded_and_nothing_is_published(tmp_path):
    marker = tmp_path / "marker"
    spec = container_spec(
        ["sh", "-c", 'trap \'echo got-term > "$0"; exit 7\' TERM; echo started > "$0"; while :; do sleep 0.05; done',
         str(marker)], outputs={"parameters": {"p": {"type": "STRING"}}})
    argv = launcher_argv(spec, tmp_path)
    process = subprocess.Popen(argv, env={**os.environ, "PYTHONPATH": str(REPO)}, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not (marker.exists() and marker.read_text() == "started\n"):
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.02)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)
    assert marker.read_text() == "got-term\n"
    assert process.returncode == 7  # the user's exit code
    assert "SIGTERM forwarded" in stderr
    assert not (tmp_path / "outputs").exists()


def test_cache_hit_skips_the_command_and_a_missing_output_invalidates_it(tmp_path):
    counter = tmp_path / "ran"
    spec = container_spec(["sh", "-c", 'echo run >> "$0"; echo "$1" > "$2"; echo data > "$3"', str(counter)],
                          [ph("inputValue", "x"), ph("outputParameterFile", "y"), ph("outputPath", "a")],
                          inputs={"parameters": {"x": {"type": "NUMBER_INTEGER"}}},
                          outputs={"parameters": {"y": {"type": "NUMBER_INTEGER"}},
                                   "artifacts": {"a": {"schemaTitle": "system.Artifact"}}})
    cache = ["--cache", "--records", f"sqlite:///{tmp_path}/records.db"]
    first = launch(spec, tmp_path, run_id="r1", extra=["--param", "x=5", *cache])
    second = launch(spec, tmp_path, run_id="r2", extra=["--param", "x=5", *cache])
    assert first.code == second.code == 0, second.stderr
    assert counter.read_text() == "run\n"
    assert "cache hit" in second.stderr and "cache hit" not in first.stderr
    assert second.param("y") == "5" and second.artifact("a") == first.artifact("a")
    other = launch(spec, tmp_path, run_id="r3", extra=["--param", "x=6", *cache])
    assert other.code == 0 and counter.read_text() == "run\n" * 2
    os.remove(first.artifact("a")["uri"])
    again = launch(spec, tmp_path, run_id="r4", extra=["--param", "x=5", *cache])
    assert again.code == 0 and "is gone" in again.stderr and counter.read_text() == "run\n" * 3
    rows = sqlite3.connect(tmp_path / "records.db").execute(
        "SELECT run_id, cache_hit FROM executions ORDER BY id").fetchall()
    assert rows == [("r1", 0), ("r2", 1), ("r3", 0), ("r4", 0)]


def test_record_contents_and_metrics_file(tmp_path):
    records = tmp_path / "records-store"
    result = launch(ARTIFACT_SPEC, tmp_path, extra=[*_artifact_inputs(tmp_path), "--records", str(records),
                                                    "--attempt", "2", "--metrics-file", str(tmp_path / "m.prom")])
    assert result.code == 0, result.stderr
    [document] = list(records.glob("task/attempt-2-*.json"))
    record = json.loads(document.read_text())
    assert record["state"] == "SUCCEEDED" and record["attempt"] == 2 and record["exit_code"] == 0
    assert record["component_digest"].startswith("sha256:")
    assert set(record["timings"]) == {"resolve", "download", "run", "collect", "upload"}
    assert record["inputs"]["parameters"] == {"code": 0}
    assert record["inputs"]["artifacts"]["data"][0]["uri"] == f"file://{tmp_path}/in/data.txt"
    assert record["outputs"]["artifacts"]["joined"][0]["size"] == 10
    assert record["metrics"]["artifact_bytes_out"] == 12 and record["metrics"]["upload_success"] is True
    metrics = (tmp_path / "m.prom").read_text()
    assert 'kfp_task_artifact_bytes{run_id="run-1",task_path="task",direction="out"} 12' in metrics
    assert 'kfp_task_exit_code{run_id="run-1",task_path="task"} 0' in metrics


def test_a_record_that_cannot_be_written_fails_the_task(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = launch(TYPED_SPEC, tmp_path, extra=["--param", "n=1", "--records", f"sqlite:///{blocker}/x.db"])
    assert result.code == 1 and result.published() == []
    assert f"execution record: cannot write to sqlite:///{blocker}/x.db" in result.stderr


def test_bad_spec_and_usage(tmp_path):
    result = launch({"v": 9}, tmp_path)
    assert result.code == 1 and "version 9 is not supported" in result.stderr
    usage = subprocess.run([sys.executable, "-m", "launcher", "--run-id", "x"], capture_output=True, text=True,
                           env={**os.environ, "PYTHONPATH": str(REPO)})
    assert usage.returncode == 2 and "required" in usage.stderr


TAG = "{{workflow.name}} {{=sprig.upper('x')}}"
PASS_SPEC = container_spec(
    ["sh", "-c", 'printf "%s" "$0" > "$1"; printf "%s" "$2" > "$3"'],
    [ph("inputValue", "text"), ph("outputParameterFile", "text_out"),
     ph("inputValue", "items"), ph("outputParameterFile", "items_out")],
    inputs={"parameters": {"text": {"type": "STRING"}, "items": {"type": "LIST"}}},
    outputs={"parameters": {"text_out": {"type": "STRING"}, "items_out": {"type": "LIST"}}})


def test_escape_tags_decodes_inputs_and_escapes_outputs(tmp_path):
    """Argo's channel (launcher/wire.py): the command sees the original text; Argo sees no ``{{``."""
    from launcher import wire

    items = [TAG, {"k": TAG}, 3]
    result = launch(PASS_SPEC, tmp_path, extra=[
        "--escape-tags", "--param", f"text={wire.escape_text(TAG)}",
        "--param", f"items={json.dumps(wire.escape_tree(items))}"])
    assert result.code == 0, result.stderr
    text_out, items_out = result.param("text_out"), result.param("items_out")
    assert "{{" not in text_out and "{{" not in items_out
    assert wire.unescape_text(text_out) == TAG
    assert wire.unescape_tree(json.loads(items_out)) == items
    plain = launch(PASS_SPEC, tmp_path / "plain", extra=["--param", f"text={TAG}", "--param", "items=[]"])
    assert plain.param("text_out") == TAG  # without the flag nothing is escaped


REF_SPEC = container_spec(
    ["sh", "-c", 'printf "%s" "$0" > "$1"'], [ph("executorInput"), ph("outputParameterFile", "seen")],
    inputs={"artifacts": {"data": {"schemaTitle": "system.Dataset"}}},
    outputs={"parameters": {"seen": {"type": "STRING"}}})


def test_artifact_set_and_key_fill_a_reference_with_run_time_strings(tmp_path):
    """Tekton's importer with run-time parts: every string arrives as its own argv entry, never as JSON."""
    (tmp_path / "data.txt").write_text("x")
    base = json.dumps({"uri": "", "metadata": {"name": ["", "alias"], "kfp-runtime-key-1": "v"}})
    hostile = 'a", "uri": "s3://evil" }{{$}} $(x)'
    result = launch(REF_SPEC, tmp_path, extra=[
        "--artifact", f"data={base}",
        "--artifact-set", f'data=["uri"]={tmp_path / "data.txt"}',
        "--artifact-set", f'data=["metadata","name",0]={hostile}',
        "--artifact-key", f'data=["metadata","kfp-runtime-key-1"]=key={hostile}'])
    assert result.code == 0, result.stderr
    artifact = json.loads(result.param("seen"))["inputs"]["artifacts"]["data"]["artifacts"][0]
    assert artifact["uri"].endswith("data.txt")
    assert artifact["metadata"] == {"name": [hostile, "alias"], f"key={hostile}": "v"}
    bad = launch(REF_SPEC, tmp_path / "bad", extra=["--artifact", f"data={base}",
                                                    "--artifact-set", 'data=["nope",1]=x'])
    assert bad.code != 0 and "is not in the reference" in bad.stderr


FAKES = REPO / "tests" / "fakes"


def test_container_runtime_runs_the_command_in_its_image_with_only_its_paths_mounted(tmp_path):
    """`--container-runtime docker` (the local runner's --runner docker), against tests/fakes/docker, which
    fails any absolute path that would be missing in the container and passes only --env variables."""
    log = tmp_path / "docker.log"
    env = {"PATH": f"{FAKES}{os.pathsep}{os.environ['PATH']}", "FAKE_DOCKER_LOG": str(log), "SECRET_ON_HOST": "s3cr3t"}
    spec = dict(ARTIFACT_SPEC, env={"GREETING": "hi"})
    result = launch(spec, tmp_path, env=env, extra=[*_artifact_inputs(tmp_path), "--container-runtime", "docker"])
    assert result.code == 0, result.stderr
    assert Path(result.artifact("joined")["uri"]).read_text() == "head\ntail\n"
    call = json.loads(log.read_text().splitlines()[-1])
    assert call[:2] == ["run", "--rm"] and "debian:stable-slim" in call
    assert call[call.index("--env") + 1] == "GREETING" and "SECRET_ON_HOST" not in json.dumps(call)
    assert "hi" not in call  # values travel in the environment, not in argv
    failed = launch(ARTIFACT_SPEC, tmp_path / "f", env=env,
                    extra=[*_artifact_inputs(tmp_path / "f"), "--param", "code=3", "--container-runtime", "docker"])
    assert failed.code == 3 and "exited with code 3" in failed.stderr


def test_absent_marker_means_not_passed_on_argo(tmp_path):
    """An ignore_upstream_failure task reading a failed producer's output gets the ABSENT marker on Argo."""
    from launcher import wire

    spec = container_spec(["sh", "-c", 'printf "%s" "$0" > "$1"'], [ph("inputValue", "text"), ph("outputParameterFile", "out")],
                          inputs={"parameters": {"text": {"type": "STRING", "optional": True, "default": "dflt"}}},
                          outputs={"parameters": {"out": {"type": "STRING"}}})
    result = launch(spec, tmp_path, extra=["--escape-tags", "--param", f"text={wire.ABSENT}"])
    assert result.code == 0, result.stderr
    assert result.param("out") == "dflt"


def test_list_outputs_also_come_as_arrays_of_strings(tmp_path):
    """Tekton array results hold strings only: ``<name>.items`` carries a LIST output that way."""
    result = launch(TYPED_SPEC, tmp_path, extra=["--param", "n=1"])
    assert result.code == 0, result.stderr
    assert json.loads((result.outputs_dir / "parameters" / "items.items").read_text()) == ["1", '{"a":2}']


def test_workspace_placeholder_in_a_parameter_value_is_the_workspace_path(tmp_path):
    """The KFP SDK passes ``dsl.WORKSPACE_PATH_PLACEHOLDER`` as a constant input value."""
    spec = container_spec(["sh", "-c", 'printf "%s" "$0" > "$1"'], [ph("inputValue", "path"), ph("outputParameterFile", "out")],
                          inputs={"parameters": {"path": {"type": "STRING"}}},
                          outputs={"parameters": {"out": {"type": "STRING"}}})
    result = launch(spec, tmp_path, extra=["--param", "path={{$.workspace_path}}/data", "--workspace-path", "/ws"])
    assert result.code == 0, result.stderr
    assert result.param("out") == "/ws/data"
