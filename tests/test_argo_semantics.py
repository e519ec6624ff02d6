"""What the Argo manifest must guarantee: pods, safety of user values, names, run-scoped URIs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from driver.plan import load_plan
from launcher import wire
from tests import irbuild as ir
from tests.conftest import CORPUS
from translators.argo import compile_workflow
from translators.options import CompileOptions

HOSTILE = "it's \"q\" {{workflow.name}} $(rm -rf /) `id` }} \n line2 ünï 🙂"


def compile_spec(spec: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    return compile_workflow(load_plan(ir.write(spec, tmp_path / "p.yaml")), CompileOptions())


def templates(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in manifest["spec"]["templates"]}


def dag_tasks(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {task["name"]: task for t in manifest["spec"]["templates"] if "dag" in t for task in t["dag"]["tasks"]}


def echo_pipeline(condition: str | None = None, value: Any = "x") -> dict[str, Any]:
    components = {
        "produce": ir.container_component("produce", ["sh", "-c", "echo hi"], outputs={"Output": "STRING"}),
        "consume": ir.container_component("consume", ["echo"], ["{{$.inputs.parameters['text']}}"],
                                          inputs={"text": "STRING"}),
    }
    tasks = {
        "produce": ir.task("produce"),
        "consume": ir.task("consume", params={"text": ir.constant(value),
                                              "pipelinechannel--produce-Output": ir.output_of("produce")},
                           after=["produce"], condition=condition),
    }
    spec = ir.pipeline("echo", components, tasks)
    spec["components"]["comp-consume"]["inputDefinitions"]["parameters"]["pipelinechannel--produce-Output"] = \
        {"parameterType": "STRING", "isOptional": True}
    return spec


def expression_literals(expression: str) -> list[str]:
    """The string literals of an Argo expression tag, decoded (our escapes are JSON-compatible)."""
    return [json.loads(match) for match in re.findall(r'"(?:[^"\\]|\\.)*"', expression)]


def test_one_pod_per_container_task_and_no_driver(tmp_path: Path) -> None:
    manifest = compile_spec(echo_pipeline(), tmp_path)
    pods = [t for t in manifest["spec"]["templates"] if "container" in t]
    assert len(pods) == 2
    assert all(t["container"]["command"] == ["/kfp/kfp-launcher"] for t in pods)
    assert not any("driver" in t["name"] for t in manifest["spec"]["templates"])


def test_condition_is_an_expression_over_variables(tmp_path: Path) -> None:
    spec = echo_pipeline(condition=f"inputs.parameter_values['pipelinechannel--produce-Output'] == {json.dumps(HOSTILE)}")
    when = dag_tasks(compile_spec(spec, tmp_path))["consume"]["when"]
    assert when.startswith("{{=") and when.endswith("}}")
    body = when[3:-2]
    assert "{{" not in body and "}}" not in body and "\n" not in body
    assert 'tasks["produce"].outputs.parameters["Output"]' in body
    assert expression_literals(body)[-1] == HOSTILE


def test_hostile_constant_travels_tag_escaped(tmp_path: Path) -> None:
    """Argo re-substitutes tags found inside values, so a constant holding ``{{`` is escaped (launcher/wire.py)
    and every launcher is told to decode its inputs and escape its outputs."""
    manifest = compile_spec(echo_pipeline(value=HOSTILE), tmp_path)
    argument = next(a for a in dag_tasks(manifest)["consume"]["arguments"]["parameters"] if a["name"] == "text")
    assert argument["value"].startswith(wire.PREFIX) and "{{" not in argument["value"]
    assert wire.unescape_text(argument["value"]) == HOSTILE
    assert all("--escape-tags" in t["container"]["args"] for t in manifest["spec"]["templates"] if "container" in t)


def test_condition_decodes_escaped_values_only_where_it_matters(tmp_path: Path) -> None:
    ref = "inputs.parameter_values['pipelinechannel--produce-Output']"
    decoded = compile_spec(echo_pipeline(condition=f"{ref} == '{{{{x}}}}'"), tmp_path)
    body = dag_tasks(decoded)["consume"]["when"][3:-2]
    assert f'hasPrefix(tasks["produce"].outputs.parameters["Output"], "{wire.PREFIX}")' in body
    assert "sprig.b64dec(trimPrefix(" in body
    plain = compile_spec(echo_pipeline(condition=f"{ref} == 'x'"), tmp_path)
    assert dag_tasks(plain)["consume"]["when"] == '{{=(tasks["produce"].outputs.parameters["Output"] == "x")}}'


def test_plain_constant_stays_readable(tmp_path: Path) -> None:
    argument = next(a for a in dag_tasks(compile_spec(echo_pipeline(value="it's $HOME `here` }}"), tmp_path))
                    ["consume"]["arguments"]["parameters"] if a["name"] == "text")
    assert argument["value"] == "it's $HOME `here` }}"


def test_values_reach_the_launcher_as_separate_argv_entries(tmp_path: Path) -> None:
    consume = templates(compile_spec(echo_pipeline(), tmp_path))["consume"]
    args = consume["container"]["args"]
    assert "--param=text={{inputs.parameters.text}}" in args
    assert "sh" not in consume["container"]["command"]
    spec = json.loads(next(arg for arg in args if arg.startswith("--spec="))[len("--spec="):])
    assert spec["args"] == [{"concat": [{"ph": "inputValue", "name": "text"}]}]


def test_run_scoped_output_uris(tmp_path: Path) -> None:
    args = templates(compile_spec(echo_pipeline(), tmp_path))["produce"]["container"]["args"]
    root = next(arg for arg in args if arg.startswith("--output-root="))
    assert "{{workflow.uid}}" in root and "{{pod.name}}" in root and "{{inputs.parameters.kfp-task}}" in root


def test_task_path_annotation(tmp_path: Path) -> None:
    manifest = compile_spec(echo_pipeline(), tmp_path)
    produce = templates(manifest)["produce"]
    assert produce["metadata"]["annotations"]["kfp-driver.io/task-path"] == "{{inputs.parameters.kfp-task}}"
    task_arg = dag_tasks(manifest)["produce"]["arguments"]["parameters"][0]
    assert task_arg == {"name": "kfp-task", "value": "produce"}


def test_long_and_clashing_names_are_valid_and_unique(tmp_path: Path) -> None:
    long_name = "a-very-long-component-name-" * 4
    components = {long_name + "x": ir.container_component(long_name + "x", ["true"]),
                  long_name + "y": ir.container_component(long_name + "y", ["false"])}
    tasks = {long_name + "x": ir.task(long_name + "x"), long_name + "y": ir.task(long_name + "y")}
    manifest = compile_spec(ir.pipeline("names", components, tasks), tmp_path)
    names = [t["name"] for t in manifest["spec"]["templates"]]
    assert len(set(names)) == len(names)
    assert all(len(n) <= 63 and re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", n) for n in names)


def test_static_loop_with_parallelism_is_wrapped(tmp_path: Path) -> None:
    manifest = compile_workflow(load_plan(CORPUS / "pipeline_with_parallelfor_parallelism.yaml"), CompileOptions())
    limited = [t for t in manifest["spec"]["templates"] if "parallelism" in t]
    assert limited and all(len(t["dag"]["tasks"]) == 1 for t in limited)
    loop_task = limited[0]["dag"]["tasks"][0]
    assert "withItems" in loop_task or "withParam" in loop_task


def test_exit_handler_runs_after_any_outcome(tmp_path: Path) -> None:
    manifest = compile_workflow(load_plan(CORPUS / "pipeline_with_task_final_status.yaml"), CompileOptions())
    exit_task = dag_tasks(manifest)["exit-op"]
    assert "exit-handler-1.Failed" in exit_task["depends"] and "exit-handler-1.Succeeded" in exit_task["depends"]
    status = next(a for a in exit_task["arguments"]["parameters"] if a["name"] == "status")["value"]
    assert status.startswith("{{=toJson(") and 'tasks["exit-handler-1"].status' in status
    assert '"pipelineTaskName": "exit-handler-1"' in status and '"COMPLETE"' in status


def test_importer_needs_no_pod() -> None:
    manifest = compile_workflow(load_plan(CORPUS / "pipeline_with_importer.yaml"), CompileOptions())
    assert not any("importer" in t["name"] and ("container" in t or "resource" in t)
                   for t in manifest["spec"]["templates"])


def test_pod_spec_patches_hold_no_quotes_or_escapes() -> None:
    """Argo evaluates ``{{=...}}`` in podSpecPatch without unescaping the template's JSON: a double quote or a
    backslash there breaks the expression (found by the controller harness), so patches use single quotes."""
    for name in ("critical__missing_kubernetes_optional_inputs.yaml", "pipeline_with_string_machine_fields_task_output.yaml"):
        manifest = compile_workflow(load_plan(CORPUS / name), CompileOptions())
        patches = [t["podSpecPatch"] for t in manifest["spec"]["templates"] if "podSpecPatch" in t]
        assert patches and all("{{=" in p for p in patches)
        for patch in patches:
            code = "".join(part.split("}}", 1)[0] for part in patch.split("{{=")[1:])
            assert '"' not in code and "\\" not in code, patch
