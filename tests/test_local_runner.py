"""The local runner on small container pipelines (sh commands; no SDK needed): semantics and CLI contract."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests import irbuild as ir
from tests.conftest import ROOT

HOSTILE = "it's \"q\" {{workflow.name}} $(echo pwned) `id` }}\nline2 ünï 🙂"
WRITE = 'mkdir -p "$(dirname "$1")" && printf "%s" "$0" > "$1"'


def run(spec: dict[str, Any], tmp_path: Path, *args: str, workdir: Path | None = None) -> tuple[int, dict, str]:
    path = ir.write(spec, tmp_path / "pipeline.yaml")
    code = "import sys; from driver.cli import main; sys.exit(main())"
    result = subprocess.run([sys.executable, "-c", code, "run", str(path), "--json",
                             "--workdir", str(workdir or tmp_path / "work"), *args],
                            capture_output=True, text=True, cwd=ROOT, timeout=120)
    summary = json.loads(result.stdout) if result.stdout.strip() else {}
    return result.returncode, summary, result.stderr


def echo_component(name: str, inputs: dict[str, str] | None = None, output: str = "STRING",
                   script: str = WRITE, arg: str = "text"):
    """A container component writing ``$0`` (its input ``arg``) to its ``Output`` parameter."""
    args = [f"{{{{$.inputs.parameters['{arg}']}}}}", "{{$.outputs.parameters['Output'].output_file}}"]
    return ir.container_component(name, ["sh", "-c", script] + args, inputs=inputs or {arg: "STRING"},
                                  outputs={"Output": output})


def test_hostile_strings_arrive_byte_for_byte(tmp_path: Path) -> None:
    spec = ir.pipeline("hostile", {"echo": echo_component("echo")},
                       {"from-param": ir.task("echo", name="from-param", params={"text": ir.parent("value")}),
                        "from-constant": ir.task("echo", name="from-constant", params={"text": ir.constant(HOSTILE)})},
                       inputs={"value": {"parameterType": "STRING"}})
    code, summary, stderr = run(spec, tmp_path, "--param", f"value={HOSTILE}")
    assert code == 0, stderr
    assert summary["tasks"]["from-param"]["outputs"]["Output"] == HOSTILE
    assert summary["tasks"]["from-constant"]["outputs"]["Output"] == HOSTILE


def test_integers_stay_integers_and_conditions_branch(tmp_path: Path) -> None:
    components = {"number": echo_component("number", {"n": "NUMBER_INTEGER"}, "NUMBER_INTEGER", arg="n"),
                  "say": echo_component("say")}
    condition = "int(inputs.parameter_values['pipelinechannel--number-Output']) > 5"
    dag_component = {"dag": {"tasks": {"say": ir.task("say", params={"text": ir.constant("big")})}},
                     "inputDefinitions": {"parameters": {"pipelinechannel--number-Output": {"parameterType": "NUMBER_INTEGER"}}}}
    tasks = {"number": ir.task("number", params={"n": ir.parent("n")}),
             "condition-1": {**ir.task("condition-1", params={
                 "pipelinechannel--number-Output": ir.output_of("number")}, condition=condition, after=["number"]),
                             "componentRef": {"name": "comp-condition-1"}}}
    spec = ir.pipeline("branch", components, tasks, inputs={"n": {"parameterType": "NUMBER_INTEGER"}},
                       extra_components={"comp-condition-1": dag_component})
    code, summary, stderr = run(spec, tmp_path, "--param", "n=7")
    assert code == 0, stderr
    assert summary["tasks"]["number"]["outputs"]["Output"] == 7
    assert isinstance(summary["tasks"]["number"]["outputs"]["Output"], int)
    assert summary["tasks"]["condition-1/say"]["state"] == "SUCCEEDED"
    code, summary, _ = run(spec, tmp_path, "--param", "n=3")
    assert summary["tasks"]["condition-1"]["state"] == "SKIPPED"


def test_loop_over_a_parameter_collects_outputs(tmp_path: Path) -> None:
    body = {"dag": {"tasks": {"echo": ir.task("echo", params={"text": ir.parent("item")})},
                    "outputs": {"parameters": {"pipelinechannel--echo-Output": {"valueFromParameter": {
                        "producerSubtask": "echo", "outputParameterKey": "Output"}}}}},
            "inputDefinitions": {"parameters": {"item": {"parameterType": "STRING"},
                                                "pipelinechannel--items": {"parameterType": "LIST"}}},
            "outputDefinitions": {"parameters": {"pipelinechannel--echo-Output": {"parameterType": "LIST"}}}}
    tasks = {
        "for-loop-1": {**ir.task("for-loop-1", params={"pipelinechannel--items": ir.parent("items")}),
                       "parameterIterator": {"itemInput": "item", "items": {"inputParameter": "pipelinechannel--items"}},
                       "iteratorPolicy": {"parallelismLimit": 2}},
        "join": ir.task("join", params={"text": {"taskOutputParameter": {
            "producerTask": "for-loop-1", "outputParameterKey": "pipelinechannel--echo-Output"}}}, after=["for-loop-1"]),
    }
    components = {"echo": echo_component("echo"), "join": echo_component("join", {"text": "LIST"}, arg="text")}
    spec = ir.pipeline("loop", components, tasks, inputs={"items": {"parameterType": "LIST"}},
                       extra_components={"comp-for-loop-1": body})
    code, summary, stderr = run(spec, tmp_path, "--param", 'items=["a", "b", "c"]')
    assert code == 0, stderr
    assert [summary["tasks"][f"for-loop-1[{i}]/echo"]["outputs"]["Output"] for i in range(3)] == ["a", "b", "c"]
    assert json.loads(summary["tasks"]["join"]["outputs"]["Output"]) == ["a", "b", "c"]


def test_failure_fails_the_run_and_exit_handler_sees_it(tmp_path: Path) -> None:
    components = {"fail": ir.container_component("fail", ["sh", "-c", "echo boom >&2; exit 3"]),
                  "cleanup": echo_component("cleanup", {"status": "TASK_FINAL_STATUS"}, arg="status"),
                  "after-fail": echo_component("after-fail")}
    handler = {"dag": {"tasks": {"fail": ir.task("fail")}}}
    tasks = {
        "exit-handler-1": {**ir.task("exit-handler-1"), "componentRef": {"name": "comp-exit-handler-1"}},
        "cleanup": {**ir.task("cleanup", params={"status": {"taskFinalStatus": {"producerTask": "exit-handler-1"}}},
                              after=["exit-handler-1"]), "triggerPolicy": {"strategy": "ALL_UPSTREAM_TASKS_COMPLETED"}},
        "after-fail": ir.task("after-fail", params={"text": ir.constant("x")}, after=["exit-handler-1"]),
    }
    spec = ir.pipeline("exit", components, tasks, extra_components={"comp-exit-handler-1": handler})
    code, summary, stderr = run(spec, tmp_path)
    assert code == 1, stderr
    assert summary["state"] == "FAILED"
    assert summary["tasks"]["exit-handler-1/fail"]["state"] == "FAILED"
    assert summary["tasks"]["after-fail"]["state"] == "NOT_RUN"
    status = json.loads(summary["tasks"]["cleanup"]["outputs"]["Output"])
    assert status["state"] == "FAILED" and status["pipelineTaskName"] == "exit-handler-1"


def test_retry_succeeds_on_the_second_attempt(tmp_path: Path) -> None:
    marker = tmp_path / "attempted"
    script = f'if [ -e "{marker}" ]; then {WRITE}; else touch "{marker}"; exit 1; fi'
    task = ir.task("flaky", params={"text": ir.constant("ok")})
    task["retryPolicy"] = {"maxRetryCount": 2, "backoffDuration": "0s", "backoffFactor": 2}
    spec = ir.pipeline("retry", {"flaky": echo_component("flaky", script=script)}, {"flaky": task})
    code, summary, stderr = run(spec, tmp_path)
    assert code == 0, stderr
    assert summary["tasks"]["flaky"]["outputs"]["Output"] == "ok"


def test_cache_hit_on_the_second_run(tmp_path: Path) -> None:
    script = 'mkdir -p "$(dirname "$1")" && date +%s%N > "$1"'
    spec = ir.pipeline("cached", {"stamp": echo_component("stamp", script=script)},
                       {"stamp": ir.task("stamp", params={"text": ir.constant("x")}, cache=True)})
    workdir = tmp_path / "shared"
    _, first, _ = run(spec, tmp_path, workdir=workdir)
    _, second, _ = run(spec, tmp_path, workdir=workdir)
    assert first["tasks"]["stamp"]["outputs"] == second["tasks"]["stamp"]["outputs"]
    _, third, _ = run(spec, tmp_path, "--no-cache", workdir=workdir)
    assert third["tasks"]["stamp"]["outputs"] != first["tasks"]["stamp"]["outputs"]


@pytest.mark.parametrize("args, message", [
    ([], "missing required pipeline parameter 'n'"),
    (["--param", "n=seven"], "parameter 'n'"),
    (["--param", "m=1"], "unknown pipeline parameter 'm'"),
    (["--param", "n"], "expected NAME=VALUE"),
])
def test_bad_parameters_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    spec = ir.pipeline("params", {"number": echo_component("number", {"n": "NUMBER_INTEGER"}, arg="n")},
                       {"number": ir.task("number", params={"n": ir.parent("n")})},
                       inputs={"n": {"parameterType": "NUMBER_INTEGER"}})
    code, summary, stderr = run(spec, tmp_path, *args)
    assert code == 2 and summary == {}
    assert message in stderr and "Traceback" not in stderr
