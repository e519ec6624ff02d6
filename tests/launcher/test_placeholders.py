"""Each placeholder kind, substituted once from a resolved context (no re-scanning of values)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from launcher.context import Context
from launcher.errors import SpecError
from launcher.invocation import TaskValues, command_line, executor_input
from launcher.log import Log
from launcher.options import parse_options
from launcher.phases import resolve
from launcher.retry import RetryCounter
from launcher.spec import parse_spec
from launcher.stores import Stores
from launcher.stores.base import Transfers
from tests.launcher.conftest import container_spec, launcher_argv, ph

SPEC = container_spec(["run"], inputs={
    "parameters": {"s": {"type": "STRING"}, "n": {"type": "NUMBER_INTEGER"},
                   "f": {"type": "NUMBER_DOUBLE", "optional": True, "default": 1.0},
                   "b": {"type": "BOOLEAN"}, "l": {"type": "LIST"}, "st": {"type": "STRUCT"},
                   "opt": {"type": "STRING", "optional": True}, "status": {"type": "TASK_FINAL_STATUS"}},
    "artifacts": {"data": {"schemaTitle": "system.Dataset", "schemaVersion": "0.0.1"},
                  "many": {"schemaTitle": "system.Artifact", "schemaVersion": "0.0.1", "list": True},
                  "remote": {"schemaTitle": "system.Model", "schemaVersion": "0.0.2", "optional": True}}},
    outputs={"parameters": {"out": {"type": "NUMBER_INTEGER"}},
             "artifacts": {"model": {"schemaTitle": "system.Model", "schemaVersion": "0.0.1"}}})


def make_ctx(tmp_path: Path, spec=SPEC, extra=(), env=None) -> Context:
    tmp_path.mkdir(parents=True, exist_ok=True)
    data = tmp_path / "data.csv"
    data.write_text("a,b\n")
    argv = launcher_argv(spec, tmp_path, task_path="loop-1[2]/train", extra=[
        "--param", "s=it's \"{{$.inputs.parameters['n']}}\" $(x) `y`\nü", "--param", "n=3.0", "--param", "b=True",
        "--param", "l=[1,2]", "--param", 'st={"k":"v"}', "--param", 'status={"state": "FAILED", "pipelineTaskName": "t"}',

        "--artifact", f'data={{"uri": "{data}", "name": "d", "metadata": {{"rows": 1}}}}',
        "--artifact", f'many=["{data}", {{"uri": "file://{data}"}}]', "--job-name", "job-7", *extra])[3:]
    options = parse_options(argv, env or {})
    log = Log(options.run_id, options.task_path)
    transfers = Transfers(options.retry, RetryCounter(), log)
    ctx = Context(options, parse_spec(options.spec), log, Stores(options.store, transfers), transfers, tmp_path / "scratch")
    resolve(ctx)
    return ctx


@pytest.fixture
def values_(tmp_path: Path) -> TaskValues:
    return TaskValues(make_ctx(tmp_path))


@pytest.mark.parametrize("name, expected", [
    ("s", "it's \"{{$.inputs.parameters['n']}}\" $(x) `y`\nü"), ("n", "3"), ("f", "1.0"), ("b", "true"),
    ("l", "[1,2]"), ("st", '{"k":"v"}'),
])
def test_input_value(values_, name, expected):
    assert values_.value({"ph": "inputValue", "name": name}) == expected


def test_absent_optional_input_is_not_present_and_has_no_value(values_):
    assert not values_.present("opt") and values_.present("s") and values_.present("data")
    with pytest.raises(SpecError, match="'opt' has no value"):
        values_.value({"ph": "inputValue", "name": "opt"})


def test_input_artifact_placeholders(values_, tmp_path):
    data = tmp_path / "data.csv"
    assert values_.value({"ph": "inputPath", "name": "data"}) == str(data)
    assert values_.value({"ph": "inputUri", "name": "data"}) == str(data)
    assert json.loads(values_.value({"ph": "inputMetadata", "name": "data"})) == {"rows": 1}
    runtime = json.loads(values_.value({"ph": "inputArtifact", "name": "data"}))
    assert runtime == {"name": "d", "type": {"schemaTitle": "system.Dataset", "schemaVersion": "0.0.1"},
                       "uri": str(data), "metadata": {"rows": 1}}
    with pytest.raises(SpecError, match="is a list"):
        values_.value({"ph": "inputPath", "name": "many"})


def test_output_placeholders(values_, tmp_path):
    path = values_.value({"ph": "outputPath", "name": "model"})
    assert Path(path).name == "model" and ".kfp-staging-" in path  # written aside, renamed into place
    assert values_.value({"ph": "outputUri", "name": "model"}) == f"{tmp_path}/root/run-1/loop-1[2]/train/model"
    assert values_.value({"ph": "outputMetadata", "name": "model"}) == "{}"
    assert values_.value({"ph": "outputParameterFile", "name": "out"}).endswith("/outputs/parameters/out")
    assert values_.value({"ph": "outputMetadataFile"}).endswith("/outputs/executor_output.json")


def test_run_values(values_, tmp_path):
    assert values_.value({"ph": "jobName"}) == "job-7"
    assert values_.value({"ph": "jobResourceName"}) == "job-7"
    assert values_.value({"ph": "jobUuid"}) == "run-1"
    assert values_.value({"ph": "taskName"}) == "train"
    assert len(values_.value({"ph": "taskUuid"})) == 36
    assert values_.value({"ph": "pipelineRoot"}) == f"{tmp_path}/root"
    assert values_.value({"ph": "workspacePath"}) == "/kfp-workspace"
    assert values_.value({"ph": "gcpProjectId"}) == ""
    assert values_.value({"ph": "jobCreateTime"}).endswith("Z")


def test_run_values_from_environment(tmp_path):
    ctx = make_ctx(tmp_path, env={"KFP_GCP_PROJECT_ID": "proj", "KFP_GCP_LOCATION": "eu", "KFP_PERSISTENT_RESOURCE_ID": "pr"})
    task_values = TaskValues(ctx)
    assert [task_values.value({"ph": k}) for k in ("gcpProjectId", "gcpLocation", "persistentResourceId")] == ["proj", "eu", "pr"]


def test_final_status_is_a_struct(values_):
    assert json.loads(values_.value({"ph": "inputValue", "name": "status"})) == {"state": "FAILED", "pipelineTaskName": "t"}


def test_lists_item_by_item_and_nested_references(tmp_path):
    """``--list=NAME=TYPE=COUNT ITEM...`` (Tekton arrays); nested reference lists are flattened."""
    data = tmp_path / "data.csv"
    items = ["--list=l=NUMBER_INTEGER=3", "1", "2.0", "-3", "--list", "many=ARTIFACT=2", str(data),
             json.dumps({"uri": f"file://{data}", "metadata": {"i": 1}})]
    ctx = make_ctx(tmp_path, extra=items)
    assert ctx.params["l"] == [1, 2, -3]
    assert [a.metadata for a in ctx.inputs["many"]] == [{}, {"i": 1}]
    strings = make_ctx(tmp_path / "s", extra=["--list=l=STRING=2", "--x", "{{$}} 'q'"])
    assert strings.params["l"] == ["--x", "{{$}} 'q'"]
    empty = make_ctx(tmp_path / "e", extra=["--list=l=STRING=0"])
    assert empty.params["l"] == []
    nested = json.dumps([[str(data)], [json.dumps({"uri": str(data)}), [str(data)]]])
    assert len(make_ctx(tmp_path / "n", extra=["--artifact", f"many={nested}"]).inputs["many"]) == 3


def test_concat_if_present_and_nesting(tmp_path):
    spec = dict(SPEC, command=[
        "echo",
        {"concat": ["--n=", {"ph": "inputValue", "name": "n"}, {"concat": ["/", {"ph": "taskName"}]},
                    {"ifPresent": "opt", "then": ["never"], "else": ["-none"]}]},
        {"ifPresent": "s", "then": ["--s", ph("inputValue", "s")]},
        {"ifPresent": "opt", "then": ["--opt", ph("inputValue", "opt")], "else": ["--no-opt"]},
        {"ifPresent": "remote", "then": [ph("inputPath", "remote")]},
        "{{$.inputs.parameters['n']}}",
    ])
    argv = command_line(make_ctx(tmp_path, spec))
    assert argv == ["echo", "--n=3/train-none", "--s", "it's \"{{$.inputs.parameters['n']}}\" $(x) `y`\nü",
                    "--no-opt", "{{$.inputs.parameters['n']}}"]


def test_executor_input_shape(tmp_path):
    ctx = make_ctx(tmp_path)
    data = executor_input(ctx)
    assert data["inputs"]["parameterValues"]["n"] == 3 and isinstance(data["inputs"]["parameterValues"]["n"], int)
    assert data["inputs"]["parameterValues"]["f"] == 1.0 and "opt" not in data["inputs"]["parameterValues"]
    many = data["inputs"]["artifacts"]["many"]["artifacts"]
    assert [a["uri"] for a in many] == [str(tmp_path / "data.csv")] * 2  # file:// becomes a plain path
    assert data["inputs"]["artifacts"]["data"]["artifacts"][0]["type"] == \
        {"schemaTitle": "system.Dataset", "schemaVersion": "0.0.1"}
    assert data["outputs"]["parameters"]["out"]["outputFile"] == str(ctx.output_files["out"])
    model = data["outputs"]["artifacts"]["model"]["artifacts"][0]
    assert model["name"] == "model" and model["uri"] == str(ctx.outputs["model"].local)
    assert data["outputs"]["outputFile"] == str(ctx.executor_output)
    assert json.loads(TaskValues(ctx).value({"ph": "executorInput"})) == data


def test_remote_artifacts_use_sdk_mounts_or_local_paths(tmp_path):
    ref = '{"uri": "s3://bucket/a/b", "type": {"schemaTitle": "system.Model", "schemaVersion": "0.0.2"}}'
    fallback = make_ctx(tmp_path / "x", extra=["--artifact", f"remote={ref}", "--mount-root", str(tmp_path / "mnt")])
    artifact = fallback.inputs["remote"][0]
    assert artifact.local == tmp_path / "mnt" / "s3" / "bucket" / "a" / "b"
    assert artifact.runtime()["uri"] == str(artifact.local)  # the SDK derives .path from the uri
    assert TaskValues(fallback).value({"ph": "inputUri", "name": "remote"}) == "s3://bucket/a/b"
    sdk = make_ctx(tmp_path / "y", extra=["--artifact", f"remote={ref}", "--mount-root", "/"])
    artifact = sdk.inputs["remote"][0]
    assert artifact.local == Path("/s3/bucket/a/b") and artifact.runtime()["uri"] == "s3://bucket/a/b"
    gcs = make_ctx(tmp_path / "z", extra=["--artifact", "remote=gs://b/k", "--mount-root", "/"])
    assert gcs.inputs["remote"][0].local == Path("/gcs/b/k")


@pytest.mark.parametrize("extra, message", [
    (["--param", "n=3.5"], "input parameter 'n': '3.5' is not a valid integer"),
    (["--param", "zz=1"], "--param zz: not an input"),
    (["--artifact", "many=[]", "--artifact", "data=[]"], "expected one artifact reference, got 0"),
    (["--param", "status=Failed"], "input parameter 'status': 'Failed' is not a valid task final status"),
    (["--list=l=NUMBER_INTEGER=2", "1"], "--list l: 2 items announced, 1 given"),
    (["--list=l=WHAT=1", "1"], "expected --list=NAME=TYPE=COUNT"),
])
def test_bad_inputs_are_named(tmp_path, extra, message):
    with pytest.raises(SpecError, match=message.replace("[", r"\[").replace("(", r"\(")):
        make_ctx(tmp_path, extra=extra)
