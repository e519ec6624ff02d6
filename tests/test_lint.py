"""``kfp-driver lint``: each IR rule fires on an IR built to trigger it and stays quiet on a fixed one; the
corpus lints in one process; manifests are checked against the schemas and the engine validator."""

from __future__ import annotations

import json
import shutil
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from driver.cli import main
from driver.lint.model import Finding, LintOptions, Severity
from driver.lint.run import lint_paths
from driver.lint.registry import ir_rules
from driver.lint.rules.images import floating_tag
from driver.lint.rules.secrets import secret_like
from driver.plan import load_plan
from tests import irbuild as ir
from tests.conftest import CORPUS, INVALID, ROOT, corpus_files
from translators import compiler_for
from translators.options import CompileOptions

TESTED_RULES = {"image-not-pinned", "missing-resource-limits", "literal-secret", "truncated-name",
                "cache-external-uri", "loop-fanout", "unused-output", "unreachable-task", "unsupported-on-target"}


def lint_spec(tmp_path: Path, spec: dict[str, Any], rule: str, **options: Any) -> list[Finding]:
    path = ir.write(spec, tmp_path / "pipeline.yaml")
    report = lint_paths([str(path)], LintOptions(**options))
    assert report.input_errors == []
    return [f for f in report.findings if f.rule == rule]


def echo(name: str = "echo", *, image: str = "alpine:3.20", outputs: dict[str, str] | None = None,
         inputs: dict[str, str] | None = None) -> tuple[dict, dict]:
    return ir.container_component(name, ["echo"], ["hi"], image=image, outputs=outputs, inputs=inputs)


def one_task(component: tuple[dict, dict], name: str = "echo", **task: Any) -> dict[str, Any]:
    return ir.pipeline("p", {"echo": component}, {name: ir.task("echo", name=name, **task)})


def test_every_registered_rule_has_tests_here() -> None:
    assert {rule.id for rule in ir_rules()} == TESTED_RULES


# -- images -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("image", "kind"), [
    ("alpine", "untagged"), ("alpine:latest", "latest"), ("localhost:5000/team/img", "untagged"),
    ("alpine:3.20", ""), ("ghcr.io/a/b@sha256:" + "0" * 64, ""), ("localhost:5000/img:1.0", ""),
])
def test_floating_tag(image: str, kind: str) -> None:
    assert floating_tag(image) == kind


def test_image_not_pinned(tmp_path: Path) -> None:
    found = lint_spec(tmp_path, one_task(echo(image="python:latest")), "image-not-pinned")
    assert len(found) == 1 and found[0].severity is Severity.WARNING
    assert found[0].task == "echo" and found[0].line and "python:<version>" in found[0].fix
    assert lint_spec(tmp_path, one_task(echo(image="python:3.12")), "image-not-pinned") == []


# -- resources --------------------------------------------------------------------------------


def limited_pair(limit_both: bool) -> dict[str, Any]:
    spec = ir.pipeline("p", {"a": echo("a"), "b": echo("b")}, {"a": ir.task("a"), "b": ir.task("b")})
    executors = spec["deploymentSpec"]["executors"]
    executors["exec-a"]["container"]["resources"] = {"resourceCpuLimit": "2"}
    if limit_both:
        executors["exec-b"]["container"]["resources"] = {"resourceCpuLimit": "1"}
    return spec


def test_missing_resource_limits(tmp_path: Path) -> None:
    found = lint_spec(tmp_path, limited_pair(False), "missing-resource-limits")
    assert [(f.task, "CPU" in f.message) for f in found] == [("b", True)]
    assert lint_spec(tmp_path, limited_pair(True), "missing-resource-limits") == []
    assert lint_spec(tmp_path, one_task(echo()), "missing-resource-limits") == []  # nothing limited anywhere


# -- secrets ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "secret"), [
    ("db_password", True), ("hfToken", True), ("aws_secret_access_key", True), ("api_key", True),
    ("pipelinechannel--client_secret", True), ("secret_name", False), ("token_path", False),
    ("max_tokens", False), ("key", False), ("sort_key", False), ("tokenizer", False),
])
def test_secret_like(name: str, secret: bool) -> None:
    assert secret_like(name) is secret


def test_literal_secret(tmp_path: Path) -> None:
    component = echo(inputs={"api_token": "STRING"})
    found = lint_spec(tmp_path, one_task(component, params={"api_token": ir.constant("hf_abc123")}), "literal-secret")
    assert len(found) == 1 and found[0].severity is Severity.ERROR and found[0].task == "echo"
    assert "Secret" in found[0].fix and found[0].line
    spec = one_task(component, params={"api_token": ir.parent("api_token")})
    spec["root"]["inputDefinitions"] = {"parameters": {"api_token": {"parameterType": "STRING"}}}
    assert lint_spec(tmp_path, spec, "literal-secret") == []
    spec["root"]["inputDefinitions"]["parameters"]["api_token"]["defaultValue"] = "hf_abc123"
    assert [f.ir_path for f in lint_spec(tmp_path, spec, "literal-secret")] == [
        "root.inputDefinitions.parameters['api_token'].defaultValue"]


def test_secret_names_with_literal_values_are_fine(tmp_path: Path) -> None:
    component = echo(inputs={"secret_name": "STRING", "max_tokens": "STRING"})
    spec = one_task(component, params={"secret_name": ir.constant("my-secret"), "max_tokens": ir.constant("512")})
    assert lint_spec(tmp_path, spec, "literal-secret") == []


# -- names ------------------------------------------------------------------------------------


def test_truncated_task_and_pipeline_names(tmp_path: Path) -> None:
    long_task = "t" * 70
    spec = one_task(echo(), name=long_task)
    spec["pipelineInfo"]["name"] = "p" * 60
    found = lint_spec(tmp_path, spec, "truncated-name")
    assert {f.task for f in found} == {"", long_task}
    assert all(f.severity is Severity.WARNING for f in found)
    assert lint_spec(tmp_path, one_task(echo(), name="t" * 63), "truncated-name") == []


def test_truncated_component_name_only_matters_on_argo(tmp_path: Path) -> None:
    long = "c" * 70
    spec = ir.pipeline("p", {long: echo(long)}, {"t": ir.task(long, name="t")})
    assert len(lint_spec(tmp_path, spec, "truncated-name", target="argo")) == 1
    assert lint_spec(tmp_path, spec, "truncated-name", target="tekton") == []


# -- caching ----------------------------------------------------------------------------------


def test_cache_external_uri(tmp_path: Path) -> None:
    component = echo(inputs={"source": "STRING"})
    cached = one_task(component, params={"source": ir.constant("gs://bucket/data.csv")}, cache=True)
    found = lint_spec(tmp_path, cached, "cache-external-uri")
    assert len(found) == 1 and "gs://bucket/data.csv" in found[0].message and found[0].task == "echo"
    uncached = one_task(component, params={"source": ir.constant("gs://bucket/data.csv")})
    assert lint_spec(tmp_path, uncached, "cache-external-uri") == []
    not_a_uri = one_task(component, params={"source": ir.constant("data.csv")}, cache=True)
    assert lint_spec(tmp_path, not_a_uri, "cache-external-uri") == []


def test_cache_external_uri_follows_pipeline_defaults(tmp_path: Path) -> None:
    component = echo(inputs={"source": "STRING"})
    spec = one_task(component, params={"source": ir.parent("source")}, cache=True)
    spec["root"]["inputDefinitions"] = {"parameters": {"source": {"parameterType": "STRING",
                                                                  "defaultValue": "https://example.com/x.csv"}}}
    assert len(lint_spec(tmp_path, spec, "cache-external-uri")) == 1


# -- loops ------------------------------------------------------------------------------------


def loop_pipeline(outer: int, inner: int | None = None) -> dict[str, Any]:
    """A ParallelFor over ``outer`` static items, optionally around another over ``inner`` items."""
    body_task = ir.task("echo", params={"msg": ir.parent("pipelinechannel--loop-item-param-2")})
    body: dict[str, Any] = {"dag": {"tasks": {"echo": body_task}}, "inputDefinitions": {"parameters": {
        "pipelinechannel--loop-item-param-2": {"parameterType": "NUMBER_INTEGER"}}}}
    components = {"comp-for-loop-2": body}
    first = "for-loop-2"
    if inner is not None:
        item = {"pipelinechannel--loop-item-param-1": {"parameterType": "NUMBER_INTEGER"}}
        components["comp-for-loop-1"] = {"dag": {"tasks": {"for-loop-2": loop_task("for-loop-2", inner)}},
                                         "inputDefinitions": {"parameters": item}}
        first = "for-loop-1"
    return ir.pipeline("p", {"echo": echo(inputs={"msg": "NUMBER_INTEGER"})}, {first: loop_task(first, outer)},
                       extra_components=components)


def loop_task(name: str, items: int) -> dict[str, Any]:
    number = name.rsplit("-", 1)[1]
    return {"componentRef": {"name": f"comp-{name}"}, "taskInfo": {"name": name},
            "parameterIterator": {"itemInput": f"pipelinechannel--loop-item-param-{number}",
                                  "items": {"raw": json.dumps(list(range(items)))}}}


def test_loop_fanout(tmp_path: Path) -> None:
    found = lint_spec(tmp_path, loop_pipeline(300), "loop-fanout")
    assert [(f.task, f.severity) for f in found] == [("for-loop-2", Severity.WARNING)]
    assert "300 iterations" in found[0].message and "Tekton rejects" in found[0].message
    assert lint_spec(tmp_path, loop_pipeline(10), "loop-fanout") == []
    assert len(lint_spec(tmp_path, loop_pipeline(10), "loop-fanout", max_fanout=5)) == 1


def test_nested_loops_multiply(tmp_path: Path) -> None:
    found = lint_spec(tmp_path, loop_pipeline(20, 20), "loop-fanout")
    assert [f.task for f in found] == ["for-loop-1/for-loop-2"]
    assert "400 iterations (20 outer × 20)" in found[0].message
    assert lint_spec(tmp_path, loop_pipeline(10, 10), "loop-fanout") == []


# -- dataflow ---------------------------------------------------------------------------------


def producer_consumer(read: list[str]) -> dict[str, Any]:
    producer = echo("producer", outputs={"a": "STRING", "b": "STRING"})
    consumer = echo("consumer", inputs={k: "STRING" for k in read})
    params = {key: ir.output_of("producer", key) for key in read}
    return ir.pipeline("p", {"producer": producer, "consumer": consumer},
                       {"producer": ir.task("producer"), "consumer": ir.task("consumer", params=params)})


def test_unused_output(tmp_path: Path) -> None:
    found = lint_spec(tmp_path, producer_consumer(["a"]), "unused-output")
    assert [(f.task, "'b'" in f.message) for f in found] == [("producer", True)]
    assert lint_spec(tmp_path, producer_consumer(["a", "b"]), "unused-output") == []
    # a task nobody reads from is a sink: its outputs are the pipeline's results
    assert lint_spec(tmp_path, producer_consumer([]), "unused-output") == []


def conditional(flip: Any) -> dict[str, Any]:
    component = echo(inputs={"pipelinechannel--flip": "STRING"})
    condition = "inputs.parameter_values['pipelinechannel--flip'] == 'heads'"
    params = {"pipelinechannel--flip": flip}
    components = {"echo": component, "after": echo("after"), "flip": echo("flip", outputs={"Output": "STRING"})}
    return ir.pipeline("p", components, {
        "flip": ir.task("flip"),
        "echo": ir.task("echo", params=params, condition=condition),
        "after": ir.task("after", after=["echo"]),
    })


def test_unreachable_task(tmp_path: Path) -> None:
    found = lint_spec(tmp_path, conditional(ir.constant("tails")), "unreachable-task")
    assert sorted(f.task for f in found) == ["after", "echo"]
    assert lint_spec(tmp_path, conditional(ir.constant("heads")), "unreachable-task") == []
    assert lint_spec(tmp_path, conditional(ir.output_of("flip")), "unreachable-task") == []


# -- target -----------------------------------------------------------------------------------


def test_unsupported_on_target() -> None:
    path = str(CORPUS / "pipeline_as_exit_task.yaml")
    found = [f for f in lint_paths([path], LintOptions(target="tekton")).findings if f.rule == "unsupported-on-target"]
    assert found and all(f.severity is Severity.ERROR and f.line for f in found)
    assert not [f for f in lint_paths([path], LintOptions(target="argo")).findings if f.rule == "unsupported-on-target"]


# -- the corpus -------------------------------------------------------------------------------


def test_corpus_lints_in_one_process() -> None:
    files = [str(p) for p in corpus_files()]
    report = lint_paths(files, LintOptions())
    assert report.input_errors == []
    firing: dict[str, set[str]] = defaultdict(set)
    for finding in report.findings:
        firing[finding.rule].add(finding.file)
    counts = {rule: f"{len(found)} files, {report.by_rule()[rule]} findings" for rule, found in sorted(firing.items())}
    print("\nlint over the corpus:", counts)
    assert all(len(found) <= 0.8 * len(files) for found in firing.values()), firing.keys()
    assert report.exit_code(strict=False) == 0  # the corpus is valid for Argo: warnings only


# -- manifests --------------------------------------------------------------------------------


def compiled(tmp_path: Path, target: str, name: str = "manifest.yaml", edit: Any = None) -> Path:
    """The example pipeline compiled for ``target`` into a YAML file, after ``edit(manifest)`` if given."""
    import yaml

    manifest = compiler_for(target)(load_plan(ROOT / "examples" / "hello-pipeline.yaml"), CompileOptions())
    if edit is not None:
        edit(manifest)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    return path


def _unknown_template(manifest: dict[str, Any]) -> None:
    dag = next(t for t in manifest["spec"]["templates"] if "dag" in t)
    dag["dag"]["tasks"][0]["template"] = "no-such-template"


def _unknown_run_after(manifest: dict[str, Any]) -> None:
    manifest["spec"]["pipelineSpec"]["tasks"][0]["runAfter"] = ["no-such-task"]


def fake_validator(tmp_path: Path, body: str) -> list[str]:
    script = tmp_path / "validator.py"
    script.write_text("import json, sys\n" + body)
    return [sys.executable, str(script)]


@pytest.mark.parametrize("target", ["argo", "tekton"])
def test_compiled_manifest_passes_the_schema(tmp_path: Path, target: str) -> None:
    path = compiled(tmp_path, target)
    ok = fake_validator(tmp_path, "print(json.dumps({'file': sys.argv[1], 'index': 0, 'ok': True, 'errors': []}))")
    report = lint_paths([str(path)], LintOptions(validators={target: ok}))
    assert report.findings == [] and report.exit_code(strict=True) == 0


def test_broken_manifest_fails_the_schema(tmp_path: Path) -> None:
    path = compiled(tmp_path, "argo")
    path.write_text(path.read_text().replace("entrypoint:", "entrypont:", 1))
    ok = fake_validator(tmp_path, "print(json.dumps({'file': sys.argv[1], 'index': 0, 'ok': True, 'errors': []}))")
    report = lint_paths([str(path)], LintOptions(validators={"argo": ok}))
    assert [(f.rule, f.ir_path) for f in report.findings] == [("schema", "spec.entrypont")]
    assert report.findings[0].line == next(i for i, line in enumerate(path.read_text().splitlines(), 1)
                                           if "entrypont" in line)
    assert report.exit_code(strict=False) == 1


def test_engine_verdicts_become_findings(tmp_path: Path) -> None:
    path = compiled(tmp_path, "tekton")
    rejecting = fake_validator(tmp_path, "print(json.dumps({'file': sys.argv[1], 'index': 0, 'kind': 'PipelineRun', "
                                         "'name': 'x', 'ok': False, 'errors': ['invalid runAfter']})); sys.exit(1)")
    report = lint_paths([str(path)], LintOptions(validators={"tekton": rejecting}))
    assert [(f.rule, f.severity, f.line) for f in report.findings] == [("engine", Severity.ERROR, 1)]
    assert "invalid runAfter" in report.findings[0].message


def test_engine_check_skipped_without_go_is_a_warning(tmp_path: Path) -> None:
    path = compiled(tmp_path, "argo")
    no_go = fake_validator(tmp_path, "print('go: not found; install Go', file=sys.stderr); sys.exit(3)")
    report = lint_paths([str(path)], LintOptions(validators={"argo": no_go}))
    assert [(f.rule, f.severity) for f in report.findings] == [("engine-skipped", Severity.WARNING)]
    assert "install Go" in report.findings[0].message
    assert report.exit_code(strict=False) == 0 and report.exit_code(strict=True) == 1


@pytest.mark.parametrize("target", ["argo", "tekton"])
def test_real_engine_validator(tmp_path: Path, target: str) -> None:
    script = ROOT / "hack" / f"validate-{target}"
    if not script.exists():
        pytest.skip(f"hack/validate-{target} is not in this checkout")
    if shutil.which("go") is None:
        pytest.skip("go is not installed: the engine validators cannot be built")
    good = compiled(tmp_path, target, "good.yaml")
    assert lint_paths([str(good)], LintOptions()).findings == []
    broken = compiled(tmp_path, target, "broken.yaml", _unknown_template if target == "argo" else _unknown_run_after)
    found = lint_paths([str(broken)], LintOptions()).findings
    assert found and {f.rule for f in found} == {"engine"}, found  # Tekton may report one cause twice


# -- the command ------------------------------------------------------------------------------


def test_cli_exit_codes_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clean = ir.write(one_task(echo()), tmp_path / "clean.yaml")
    floating = ir.write(one_task(echo(image="alpine")), tmp_path / "floating.yaml")
    secret = ir.write(one_task(echo(inputs={"password": "STRING"}), params={"password": ir.constant("hunter2")}),
                      tmp_path / "secret.yaml")
    assert main(["lint", str(clean)]) == 0
    assert capsys.readouterr().out == "lint: 1 file: 0 errors, 0 warnings\n"
    assert main(["lint", str(floating)]) == 0
    assert main(["lint", "--strict", str(floating)]) == 1
    human = capsys.readouterr().out.splitlines()
    assert human[0].startswith(f"{floating}:") and "warning [image-not-pinned]" in human[0] and "(fix: " in human[0]
    assert main(["lint", "--format", "json", str(secret), str(floating)]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["summary"] == {"errors": 1, "warnings": 1, "by_rule": {"image-not-pinned": 1, "literal-secret": 1}}
    assert {f["rule"]: f["task"] for f in document["findings"]} == {"literal-secret": "echo",
                                                                     "image-not-pinned": "echo"}


def test_cli_invalid_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("pipelineInfo: {name: p}\nroot: {dag: {tasks: {a: {componentRef: {name: comp-nope}}}}}\n")
    clean = ir.write(one_task(echo()), tmp_path / "clean.yaml")
    assert main(["lint", str(broken), str(clean), str(tmp_path / "missing.yaml")]) == 2
    captured = capsys.readouterr()
    assert "comp-nope" in captured.err and "missing.yaml: no such file" in captured.err
    assert "2 files not loaded" in captured.out
    assert main(["lint", "--format", "json", str(broken)]) == 2
    assert json.loads(capsys.readouterr().out)["input_errors"][0]["file"] == str(broken)
    assert main(["lint", "--max-fanout", "0", str(clean)]) == 2


def test_invalid_corpus_files_are_input_errors() -> None:
    files = sorted(str(p) for p in INVALID.iterdir())
    report = lint_paths(files, LintOptions())
    assert len(report.input_errors) == len(files) and report.findings == []
    assert report.exit_code(strict=False) == 2
