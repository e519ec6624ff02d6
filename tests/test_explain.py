"""``kfp-driver explain``: IR task -> manifest mapping, one task in full, manifest size."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from driver.cli import main
from driver.debug.explain import explain
from driver.debug.size import measure, size_report
from driver.errors import KfpDriverError
from driver.output import K8S_OBJECT_LIMIT, check_size, render
from driver.plan import load_plan
from tests import irbuild as ir
from tests.conftest import CORPUS, corpus_files
from tests.golden.cases import GOLDEN_CASES

HOSTILE = "it's \"q\" <b>#1</b> [x] {y} |z| `id` $(x) {{workflow.name}} ünï 🙂"


def golden(case: str) -> Path:
    return CORPUS / GOLDEN_CASES[case]


def test_every_corpus_file_explains_for_both_targets() -> None:
    refused = {"argo": 0, "tekton": 0}
    for path in corpus_files():
        plan = load_plan(path)
        for target in refused:
            explanation = explain(plan, target)
            assert [t.path for t in explanation.tasks] == [n.path for n in plan.walk()], path.name
            if explanation.manifest is None:
                refused[target] += 1
                assert explanation.refusal and all(t.engine_note.startswith("not compiled") for t in explanation.tasks)
                continue
            for task in explanation.tasks:
                if task.kind == "container":
                    assert task.pods and task.engine[0].command, f"{path.name} {target} {task.path}"
                    assert any("--task-path=" in arg for arg in task.engine[-1].command)
                if task.kind == "importer":
                    assert not task.pods
    assert refused["argo"] == 0
    assert refused["tekton"] < 10  # the README's six Tekton refusals, give or take new corpus files


def test_exit_handler_on_both_targets() -> None:
    plan = load_plan(golden("exit-handler"))
    argo = explain(plan, "argo")
    exit_op = argo.task("exit-op")
    assert exit_op.trigger == "all_completed" and exit_op.upstream == ["exit-handler-1"]
    assert [(i.name, i.source, i.detail) for i in exit_op.inputs] == [
        ("status", "final status", "exit-handler-1"), ("user_input", "pipeline input", "message")]
    # a parent input is followed up to the pipeline input it comes from
    print_op = argo.task("exit-handler-1/print-op")
    assert [(i.source, i.detail) for i in print_op.inputs] == [("pipeline input", "message")]
    assert argo.task("exit-handler-1").engine[0].template == "exit-handler-1"
    assert not argo.task("exit-handler-1").pods
    tekton = explain(plan, "tekton")
    assert [e.name for e in tekton.task("exit-op").engine] == ["exit-op-complete", "exit-op-failed"]
    assert all(e.location.startswith("spec.pipelineSpec.finally[") for e in tekton.task("exit-op").engine)
    assert tekton.task("exit-handler-1").engine_note.startswith("flattened")


def test_conditions_as_written_and_as_rendered() -> None:
    plan = load_plan(golden("conditions"))
    task = explain(plan, "argo").task("for-loop-1/condition-2")
    assert "pipelinechannel--add_drumroll" in task.condition
    (when,) = task.engine[0].when
    assert when.startswith("{{=") and 'inputs.parameters["pipelinechannel--add_drumroll"]' in when
    tekton = explain(plan, "tekton").task("for-loop-1/condition-2/condition-3/print-and-return")
    assert len(tekton.engine) == 3  # unrolled per item of `trials` (fixed into the run: [1, 2, 3])
    assert all(any("add_drumroll" in w for w in e.when) for e in tekton.engine)
    assert {e.instance for e in tekton.engine} >= {"for-loop-1[0]/condition-2/condition-3/print-and-return"}


def test_loops_with_parallelism() -> None:
    explanation = explain(load_plan(golden("loop-parallelism")), "argo")
    loop = explanation.task("for-loop-1")
    assert loop.loop == {"kind": "parameter", "item_input": "pipelinechannel--loop_parameter-loop-item",
                         "parallelism": 2, "items_from": "pipeline input loop_parameter"}
    wrapper, inner = loop.engine
    assert (wrapper.template, wrapper.loop) == ("for-loop-1-par2", "parallelism: 2")
    assert inner.loop.startswith("withParam: ")
    static = explanation.task("for-loop-4")
    assert static.loop["items"] == [{"A_a": "1", "B_b": "2"}, {"A_a": "10", "B_b": "20"}]
    assert static.engine[0].loop == "withItems: 2 items"
    item = explanation.task("for-loop-4/print-text-3").inputs[0]
    assert (item.source, item.detail) == ("loop item", 'for-loop-4["A_a"]')


def test_nested_pipeline_and_artifact_uris() -> None:
    plan = load_plan(golden("nested-pipeline"))
    task = explain(plan, "argo").task("inner-pipeline/print-op2")
    assert [(i.source, i.detail) for i in task.inputs] == [("task output", "inner-pipeline/print-op1.Output")]
    uris = explain(load_plan(golden("loop-artifacts")), "argo").tasks
    with_artifacts = [t for t in uris if t.artifact_uris]
    assert with_artifacts
    for task in with_artifacts:
        for name, uri in task.artifact_uris.items():
            assert uri.endswith(f"/{task.path}/{{{{pod.name}}}}/{name}")
            assert "{{workflow.uid}}" in uri


def test_cli_table_task_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(golden("exit-handler"))
    assert main(["explain", path]) == 0
    table = capsys.readouterr().out
    assert "exit-handler-1/print-op" in table and "DAG TASK -> TEMPLATE" in table
    assert main(["explain", path, "--target", "tekton", "--task", "exit-op"]) == 0
    detail = capsys.readouterr().out
    assert "exit-op-complete" in detail and "exit-op-failed" in detail
    assert "launcher    /kfp/bin/kfp-launcher \\" in detail and "--task-path=exit-op" in detail
    assert main(["explain", path, "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["target"] == "argo" and len(document["tasks"]) == 4
    assert main(["explain", path, "--task", "exit-op", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["engine"][0]["command"][0] == "/kfp/kfp-launcher"


@pytest.mark.parametrize("wrong, suggestion", [("exit-handler-1/print", "exit-handler-1/print-op"),
                                                ("print-op", "exit-handler-1/print-op")])
def test_unknown_task_is_one_line_with_a_suggestion(wrong: str, suggestion: str,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", str(golden("exit-handler")), "--task", wrong]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert f"no task with path '{wrong}'" in captured.err and f"did you mean '{suggestion}'?" in captured.err


def test_refused_pipeline_is_explained_not_raised(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", str(golden("loop-parallelism")), "--target", "tekton"]) == 0
    out = capsys.readouterr().out
    assert "not compilable for tekton" in out and "not compiled" in out
    assert main(["explain", str(golden("loop-parallelism")), "--target", "tekton", "--size"]) == 2
    assert "nothing to measure" in capsys.readouterr().err


def test_hostile_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    comp = ir.container_component("echo", ["sh", "-c", "echo"], inputs={f"{HOSTILE}-in": "STRING"},
                                  outputs={"Output": "STRING"})
    tasks = {HOSTILE: ir.task("echo", name=HOSTILE, params={f"{HOSTILE}-in": ir.constant(HOSTILE)}),
             "b": ir.task("echo", name="b\nline2", params={f"{HOSTILE}-in": ir.output_of(HOSTILE)}, after=[HOSTILE])}
    path = ir.write(ir.pipeline("hostile", {"echo": comp}, tasks), tmp_path / "hostile.yaml")
    for target in ("argo", "tekton"):
        explanation = explain(load_plan(path), target)
        first, second = explanation.task(HOSTILE), explanation.task("b")
        assert first.pods and second.pods
        assert (first.inputs[0].source, json.loads(first.inputs[0].detail)) == ("constant", HOSTILE)
        assert second.inputs[0].detail == f"{HOSTILE}.Output"
    assert main(["explain", str(path), "--task", HOSTILE]) == 0
    assert HOSTILE in capsys.readouterr().out


def test_size_breakdown_adds_up(capsys: pytest.CaptureFixture[str]) -> None:
    plan = load_plan(golden("conditions"))
    for target in ("argo", "tekton"):
        manifest = explain(plan, target).manifest
        report = size_report(manifest)
        assert report.total == measure(manifest) and report.headroom == K8S_OBJECT_LIMIT - report.total
        assert sum(p.bytes for p in report.sections) < report.total < sum(p.bytes for p in report.sections) + 200
        assert sum(b for _, b, _ in report.components()) == sum(p.bytes for p in report.parts)
        assert report.parts == sorted(report.parts, key=lambda p: -p.bytes)
    assert main(["explain", str(golden("conditions")), "--size"]) == 0
    out = capsys.readouterr().out
    assert "bytes to spare" in out and "top contributors:" in out and "comp-print-and-return" in out
    assert main(["explain", str(golden("conditions")), "--size", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["limit_bytes"] == K8S_OBJECT_LIMIT


def test_compile_refuses_an_oversized_manifest_with_its_largest_parts() -> None:
    manifest = {"kind": "Workflow", "metadata": {"name": "big"}, "spec": {"templates": [
        {"name": "huge", "metadata": {"annotations": {"kfp-driver.io/component": "comp-huge"}},
         "container": {"args": ["x" * (K8S_OBJECT_LIMIT + 10)]}},
        {"name": "small", "container": {"args": ["y"]}}]}}
    for fmt in ("yaml", "json"):
        with pytest.raises(KfpDriverError) as error:
            check_size(render(manifest, fmt), "big.yaml")
        message = str(error.value)
        assert "over the ~1.5 MiB Kubernetes object limit" in message and "template 'huge'" in message
        assert "largest: spec.templates 1,573," in message and "2 parts" in message
        assert "`kfp-driver explain big.yaml --size`" in message and "\n" not in message
    run = {"kind": "PipelineRun", "spec": {"pipelineSpec": {"tasks": [
        {"name": "huge", "taskSpec": {"steps": [{"args": ["x" * (K8S_OBJECT_LIMIT + 10)]}]}}]}}}
    with pytest.raises(KfpDriverError) as error:
        check_size(render(run, "yaml"), "big.yaml")
    assert "pipeline task 'huge'" in str(error.value) and "explain big.yaml --target tekton --size" in str(error.value)


def test_500_task_pipeline_size_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks.synthetic import dump_ir, synthetic_ir

    path = tmp_path / "synthetic.yaml"
    path.write_text(dump_ir(synthetic_ir(500)))
    assert main(["explain", str(path), "--size", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    # shared templates: 500 tasks over 20 components stay at a fifth of the limit
    assert report["total_bytes"] < K8S_OBJECT_LIMIT / 4
    assert len(report["top"]) == 10 and report["top"][0]["bytes"] >= report["top"][-1]["bytes"]
    assert main(["explain", str(path)]) == 0
    assert capsys.readouterr().out.count("\n") == 500 + 3
