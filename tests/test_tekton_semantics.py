"""What the Tekton manifest must guarantee: pods, safety of user values, names, results, loops, finally."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from driver.errors import KfpDriverError
from driver.plan import load_plan
from tests import irbuild as ir
from tests.conftest import CORPUS
from translators.options import CompileOptions
from translators.tekton import compile_pipeline_run

HOSTILE = "it's \"q\" {{workflow.name}} $(rm -rf /) $(params.x) $(KFP_POD_NAME) $$ `id` }} \n line2 ünï 🙂"
TEKTON_VARIABLE = re.compile(r"\$\([\w.-]+[)\[]")


def compile_spec(spec: dict[str, Any], tmp_path: Path, **options: Any) -> dict[str, Any]:
    return compile_pipeline_run(load_plan(ir.write(spec, tmp_path / "p.yaml")), CompileOptions(**options))


def compile_corpus(name: str) -> dict[str, Any]:
    return compile_pipeline_run(load_plan(CORPUS / name), CompileOptions())


def tasks(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    spec = manifest["spec"]["pipelineSpec"]
    return {task["name"]: task for task in spec["tasks"] + spec.get("finally", [])}


def step(task: dict[str, Any], name: str = "main") -> dict[str, Any]:
    return next(s for s in task["taskSpec"]["steps"] if s["name"] == name)


def launcher_values(task: dict[str, Any], flag: str) -> list[str]:
    """Values of ``--flag=value`` argv entries."""
    return [arg.split("=", 1)[1] for arg in step(task)["args"] if arg.startswith(f"{flag}=")]


def param_value(task: dict[str, Any], name: str) -> Any:
    return next(p["value"] for p in task["params"] if p["name"] == name)


def kubelet(text: str, env: list[dict[str, Any]]) -> str:
    """What the kubelet makes of ``$(VAR)`` and ``$$`` in a container's args (variables with a value only)."""
    values = {e["name"]: e["value"] for e in env if "value" in e}
    return re.sub(r"\$\$|\$\(([^)]*)\)", lambda m: "$" if m.group(0) == "$$" else values.get(m.group(1), m.group(0)),
                  text)


def echo_pipeline(condition: str | None = None, value: Any = "x") -> dict[str, Any]:
    components = {
        "produce": ir.container_component("produce", ["sh", "-c", "echo hi"], outputs={"Output": "STRING"}),
        "consume": ir.container_component("consume", ["echo"], ["{{$.inputs.parameters['text']}}"],
                                          inputs={"text": "STRING"}),
    }
    tasks_ = {
        "produce": ir.task("produce"),
        "consume": ir.task("consume", params={"text": ir.constant(value),
                                              "pipelinechannel--produce-Output": ir.output_of("produce")},
                           after=["produce"], condition=condition),
    }
    spec = ir.pipeline("echo", components, tasks_)
    spec["components"]["comp-consume"]["inputDefinitions"]["parameters"]["pipelinechannel--produce-Output"] = \
        {"parameterType": "STRING", "isOptional": True}
    return spec


def number_pipeline(condition: str, root_inputs: dict[str, dict] | None = None) -> dict[str, Any]:
    components = {
        "count": ir.container_component("count", ["sh", "-c", "echo 3"], outputs={"Output": "NUMBER_INTEGER"}),
        "report": ir.container_component("report", ["echo"], inputs={"n": "NUMBER_INTEGER"}),
    }
    params = {"n": ir.output_of("count")} if "['n']" in condition else {"n": ir.parent("limit")}
    tasks_ = {"count": ir.task("count"), "report": ir.task("report", params=params, after=["count"],
                                                            condition=condition)}
    return ir.pipeline("numbers", components, tasks_, inputs=root_inputs)


# -- pods -------------------------------------------------------------------------------------


def test_one_pod_per_container_task_running_the_launcher(tmp_path: Path) -> None:
    manifest = compile_spec(echo_pipeline(), tmp_path)
    assert sorted(tasks(manifest)) == ["consume", "produce"]
    for task in tasks(manifest).values():
        assert step(task)["command"] == ["/kfp/bin/kfp-launcher"]
        install = step(task, "kfp-launcher-install")
        assert install["command"] == ["cp", "/usr/local/bin/kfp-launcher", "/kfp/bin/kfp-launcher"]
        assert "sh" not in step(task)["command"]


def test_launcher_argv_mirrors_the_argo_target_with_tekton_variables(tmp_path: Path) -> None:
    produce = tasks(compile_spec(echo_pipeline(), tmp_path))["produce"]
    args = step(produce)["args"]
    assert [arg.split("=", 1)[0] for arg in args] == [
        "--spec", "--run-id", "--job-name", "--task-path", "--pipeline-root", "--output-root", "--outputs-dir",
        "--records", "--escape-tags", "--no-cache"]
    assert launcher_values(produce, "--run-id") == ["$(context.pipelineRun.uid)"]
    assert launcher_values(produce, "--job-name") == ["$(context.pipelineRun.name)"]
    assert launcher_values(produce, "--output-root") == \
        ["$(params.kfp-pipeline-root)/$(context.pipelineRun.uid)/produce/$(context.taskRun.name)"]
    spec_text = launcher_values(produce, "--spec")[0]
    assert "$" not in spec_text and json.loads(spec_text)["command"] == ["sh", "-c", "echo hi"]


def importer_pipeline() -> dict[str, Any]:
    """name -> importer (URI and metadata from name's output, one metadata key too) -> use(data)."""
    dataset = {"artifactType": {"schemaTitle": "system.Dataset", "schemaVersion": "0.0.1"}}
    components = {
        "name": ir.container_component("name", ["sh", "-c", "echo n"], outputs={"Output": "STRING"}),
        "use": ir.container_component("use", ["cat"], ["{{$.inputs.artifacts['data'].path}}"]),
    }
    spec = ir.pipeline("imp", components, {"name": ir.task("name")})
    spec["components"]["comp-use"]["inputDefinitions"] = {"artifacts": {"data": dataset}}
    spec["components"]["comp-importer"] = {
        "executorLabel": "exec-importer",
        "inputDefinitions": {"parameters": {"uri": {"parameterType": "STRING"}, "m": {"parameterType": "STRING"}}},
        "outputDefinitions": {"artifacts": {"artifact": dataset}}}
    spec["deploymentSpec"]["executors"]["exec-importer"] = {"importer": {
        "artifactUri": {"runtimeParameter": "uri"}, "typeSchema": {"schemaTitle": "system.Dataset"},
        "metadata": {"name": "n-{{$.inputs.parameters['m']}}", "{{$.inputs.parameters['m']}}": 1}}}
    spec["root"]["dag"]["tasks"]["importer"] = {
        "taskInfo": {"name": "importer"}, "componentRef": {"name": "comp-importer"}, "dependentTasks": ["name"],
        "inputs": {"parameters": {"uri": ir.output_of("name"), "m": ir.output_of("name")}}}
    spec["root"]["dag"]["tasks"]["use"] = ir.task("use", after=["importer"], inputs={"artifacts": {"data": {
        "taskOutputArtifact": {"producerTask": "importer", "outputArtifactKey": "artifact"}}}})
    return spec


def test_importer_with_run_time_parts_is_filled_in_by_the_consumer(tmp_path: Path) -> None:
    """No JSON is built from run-time text: each run-time string is its own launcher argument."""
    manifest = compile_spec(importer_pipeline(), tmp_path)
    assert sorted(tasks(manifest)) == ["name", "use"]  # still no importer pod
    use = tasks(manifest)["use"]
    base = json.loads(launcher_values(use, "--artifact")[0].split("=", 1)[1])
    assert base["uri"] == "" and base["metadata"] == {"name": "", "kfp-runtime-key-1": 1}
    assert launcher_values(use, "--artifact-set") == \
        ['data=["uri"]=$(params.data)', 'data=["metadata","name"]=n-$(params.data)']
    assert launcher_values(use, "--artifact-key") == ['data=["metadata","kfp-runtime-key-1"]=$(params.data)']
    assert param_value(use, "data") == "$(tasks.name.results.Output)"


def test_importer_needs_no_pod() -> None:
    manifest = compile_corpus("pipeline_with_importer.yaml")
    assert not any("importer" in name for name in tasks(manifest))
    train = tasks(manifest)["train"]
    reference = json.loads(launcher_values(train, "--artifact")[0].split("=", 1)[1])
    assert reference["uri"] == "gs://ml-pipeline-playground/shakespeare1.txt"


# -- user values stay data --------------------------------------------------------------------


def test_hostile_constant_reaches_the_launcher_byte_exact(tmp_path: Path) -> None:
    consume = tasks(compile_spec(echo_pipeline(value=HOSTILE), tmp_path))["consume"]
    argument = next(v for v in launcher_values(consume, "--param") if v.startswith("text="))
    variables = set(TEKTON_VARIABLE.findall(argument))
    assert variables == {"$(KFP_DOLLAR)"}, "Tekton would substitute something else"
    env = step(consume)["env"]
    assert env[0] == {"name": "KFP_DOLLAR", "value": "$"}
    assert kubelet(argument, env) == f"text={HOSTILE}"
    assert not any(p["name"] == "text" for p in consume["params"]), "constants are not task parameters"


def test_plain_constant_stays_readable(tmp_path: Path) -> None:
    consume = tasks(compile_spec(echo_pipeline(value="it's $fine `here`"), tmp_path))["consume"]
    assert "text=it's $fine `here`" in launcher_values(consume, "--param")
    assert all(e["name"] != "KFP_DOLLAR" for e in step(consume)["env"])


def test_condition_compares_a_result_with_a_hostile_literal_as_data(tmp_path: Path) -> None:
    literal = HOSTILE.replace("$(params.x) ", "").replace("$(KFP_POD_NAME) ", "")
    condition = f"inputs.parameter_values['pipelinechannel--produce-Output'] == {json.dumps(literal)}"
    when = tasks(compile_spec(echo_pipeline(condition=condition), tmp_path))["consume"]["when"]
    assert when == [{"input": "$(tasks.produce.results.Output)", "operator": "in", "values": [literal]}]


def test_condition_literal_that_tekton_would_substitute_is_refused(tmp_path: Path) -> None:
    condition = "inputs.parameter_values['pipelinechannel--produce-Output'] == '$(params.x)'"
    with pytest.raises(KfpDriverError, match=r"task 'consume' .*looks like a Tekton variable"):
        compile_spec(echo_pipeline(condition=condition), tmp_path)


def test_negation_and_alternatives_stay_membership_tests(tmp_path: Path) -> None:
    ref = "inputs.parameter_values['pipelinechannel--produce-Output']"
    condition = f"!({ref} == 'a') && !({ref} == 'b') && ({ref} == 'c' || {ref} == 'd' || {ref} == 'a')"
    when = tasks(compile_spec(echo_pipeline(condition=condition), tmp_path))["consume"]["when"]
    variable = "$(tasks.produce.results.Output)"
    assert when == [{"input": variable, "operator": "notin", "values": ["a", "b"]},
                    {"input": variable, "operator": "in", "values": ["c", "d", "a"]}]


def test_numeric_comparison_of_a_task_output_uses_cel(tmp_path: Path) -> None:
    manifest = compile_spec(number_pipeline("int(inputs.parameter_values['n']) > 5"), tmp_path)
    when = tasks(manifest)["report"]["when"]
    number = "'$(tasks.count.results.Output)'.matches('^-?[0-9]+([.][0-9]+)?([eE][-+]?[0-9]+)?$')"
    # guarded: Tekton evaluates CEL before it substitutes results too, and an error would fail the run
    assert when == [{"cel": f"({number} && (double(int(double('$(tasks.count.results.Output)'))) > 5.0))"}]
    assert manifest["metadata"]["annotations"]["kfp-driver.io/tekton-feature-flags"] == \
        "enable-cel-in-whenexpression=true"


def limit_pipeline(default: int | None) -> dict[str, Any]:
    limit: dict[str, Any] = {"parameterType": "NUMBER_INTEGER"}
    if default is not None:
        limit["defaultValue"] = default
    spec = number_pipeline("int(inputs.parameter_values['limit']) > 5",
                           root_inputs={"limit": limit, "label": {"parameterType": "STRING", "defaultValue": "x"}})
    spec["root"]["dag"]["tasks"]["report"]["inputs"]["parameters"]["limit"] = ir.parent("limit")
    spec["components"]["comp-report"]["inputDefinitions"]["parameters"]["limit"] = {"parameterType": "NUMBER_INTEGER"}
    return spec


def test_numeric_comparison_of_a_pipeline_parameter_fixes_it_into_the_run(tmp_path: Path) -> None:
    """CEL would paste the parameter's text into code, so its value becomes a constant of this run."""
    manifest = compile_spec(limit_pipeline(7), tmp_path)
    assert manifest["metadata"]["annotations"]["kfp-driver.io/fixed-parameters"] == "limit"
    names = [p["name"] for p in manifest["spec"]["pipelineSpec"]["params"]]
    assert "limit" not in names and "label" in names  # only what must be fixed is fixed
    report = tasks(manifest)["report"]
    assert "limit=7" in launcher_values(report, "--param")
    assert "$(params.limit)" not in json.dumps(report)


def test_numeric_comparison_of_a_pipeline_parameter_is_refused_where_it_must_stay_a_parameter(tmp_path: Path) -> None:
    with pytest.raises(KfpDriverError, match=r"task 'report' .*'limit' is a pipeline parameter"):
        compile_spec(limit_pipeline(None), tmp_path)  # no value to fix
    with pytest.raises(KfpDriverError, match=r"task 'report' .*'limit' is a pipeline parameter"):
        compile_spec(limit_pipeline(7), tmp_path, separate_pipeline=True)  # a reusable Pipeline


def test_equality_with_a_number_accepts_both_spellings(tmp_path: Path) -> None:
    manifest = compile_spec(number_pipeline("int(inputs.parameter_values['n']) == 3"), tmp_path)
    assert tasks(manifest)["report"]["when"] == \
        [{"input": "$(tasks.count.results.Output)", "operator": "in", "values": ["3", "3.0"]}]


# -- names and results ------------------------------------------------------------------------


def test_long_and_clashing_names_are_valid_and_unique(tmp_path: Path) -> None:
    long_name = "a-very-long-component-name-" * 4
    components = {long_name + "x": ir.container_component(long_name + "x", ["true"]),
                  long_name + "y": ir.container_component(long_name + "y", ["false"])}
    tasks_ = {long_name + "x": ir.task(long_name + "x"), long_name + "y": ir.task(long_name + "y")}
    names = list(tasks(compile_spec(ir.pipeline("names", components, tasks_), tmp_path)))
    assert len(set(names)) == len(names) == 2
    assert all(len(n) <= 63 and re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", n) for n in names)


def test_every_corpus_task_name_is_a_dns_label() -> None:
    for name in ("pipeline_with_parallelfor_list_artifacts_GH-12033.yaml", "critical__collected_parameters.yaml",
                 "if_elif_else_with_oneof_parameters.yaml", "parallel_and_nested__pipeline_in_pipeline_complex.yaml"):
        names = list(tasks(compile_corpus(name)))
        assert len(set(names)) == len(names)
        assert all(len(n) <= 63 and re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", n) for n in names)


def test_results_wire_producer_to_consumer(tmp_path: Path) -> None:
    manifest = compile_spec(echo_pipeline(condition="inputs.parameter_values['pipelinechannel--produce-Output'] "
                                                    "== 'x'"), tmp_path)
    produce = tasks(manifest)["produce"]
    assert produce["taskSpec"]["results"] == [{"name": "Output"}]
    copy = step(produce, "kfp-results")
    assert copy["command"][:2] == ["sh", "-c"]
    assert copy["command"][4:] == ["/kfp/outputs/parameters/Output", "$(results.Output.path)"]
    consume = tasks(manifest)["consume"]
    assert param_value(consume, "pipelinechannel--produce-Output") == "$(tasks.produce.results.Output)"
    assert "runAfter" not in consume, "a result reference already orders the tasks"


def test_only_read_outputs_become_results(tmp_path: Path) -> None:
    spec = echo_pipeline()
    del spec["root"]["dag"]["tasks"]["consume"]["inputs"]["parameters"]["pipelinechannel--produce-Output"]
    produce = tasks(compile_spec(spec, tmp_path))["produce"]
    assert "results" not in produce["taskSpec"]
    assert all(s["name"] != "kfp-results" for s in produce["taskSpec"]["steps"])


# -- control flow -----------------------------------------------------------------------------


def test_exit_handler_runs_in_finally_with_the_pipeline_status() -> None:
    manifest = compile_corpus("pipeline_with_task_final_status.yaml")
    spec = manifest["spec"]["pipelineSpec"]
    assert [task["name"] for task in spec["finally"]] == ["exit-op-complete", "exit-op-failed"]
    complete, failed = spec["finally"]
    assert "runAfter" not in complete and "runAfter" not in failed
    assert complete["when"] == [{"input": "$(tasks.status)", "operator": "in", "values": ["Succeeded", "Completed"]}]
    assert failed["when"] == [{"input": "$(tasks.status)", "operator": "notin", "values": ["Succeeded", "Completed"]}]
    assert json.loads(param_value(complete, "status").replace("$(context.pipelineRun.name)", "run")) == {
        "state": "COMPLETE", "pipelineTaskName": "exit-handler-1", "pipelineJobResourceName": "run",
        "error": {"code": 0, "message": ""}}
    assert param_value(failed, "status") == (
        '{"state":"FAILED","pipelineTaskName":"exit-handler-1","pipelineJobResourceName":'
        '"$(context.pipelineRun.name)","error":{"code":2,"message":"task exit-handler-1 ended $(tasks.status)"}}')
    assert "status=$(params.status)" in launcher_values(failed, "--param")


def test_ignore_upstream_failure_task_runs_in_finally() -> None:
    spec = compile_corpus("pipeline_with_task_using_ignore_upstream_failure.yaml")["spec"]["pipelineSpec"]
    assert [task["name"] for task in spec["finally"]] == ["print-op"]
    assert param_value(spec["finally"][0], "message") == "$(tasks.fail-op.results.Output)"


def test_nested_pipeline_is_flattened_with_its_conditions() -> None:
    manifest = compile_corpus("critical__flip_coin.yaml")
    print_msg = tasks(manifest)["print-msg"]
    assert print_msg["when"][0] == {"input": "$(tasks.flip-coin.results.Output)", "operator": "in",
                                    "values": ["heads"]}
    assert print_msg["taskSpec"]["metadata"]["annotations"]["kfp-driver.io/task-path"] == \
        "condition-1/condition-2/print-msg"


def test_static_loop_with_parallelism_is_unrolled_in_a_window() -> None:
    manifest = compile_corpus("parallel_and_nested__parallel_for_secret.yaml")
    loop = {name: task for name, task in tasks(manifest).items() if name.startswith("example-component-")}
    assert sorted(loop) == ["example-component-0", "example-component-1", "example-component-2"]
    assert "runAfter" not in loop["example-component-0"]
    assert loop["example-component-1"]["runAfter"] == ["example-component-0"]
    assert loop["example-component-2"]["runAfter"] == ["example-component-1"]


def test_static_loop_fans_out_with_explicit_combinations() -> None:
    manifest = compile_corpus("pipeline_with_parallelfor_list_artifacts_GH-12033.yaml")
    printer = tasks(manifest)["print-artifact-name"]
    include = printer["matrix"]["include"]
    assert [combination["params"][0]["value"] for combination in include] == \
        [f"for-loop-1[{i}]/print-artifact-name" for i in range(4)]
    assert launcher_values(printer, "--task-path") == ["$(params.kfp-task)"]


def test_nested_static_loops_are_a_cartesian_matrix() -> None:
    printer = tasks(compile_corpus("cross_loop_after_topology.yaml"))["print-op-4"]
    paths = [combination["params"][0]["value"] for combination in printer["matrix"]["include"]]
    assert paths == [f"for-loop-6[{i}]/for-loop-8[{j}]/print-op-4" for i in range(2) for j in range(2)]


def test_loop_over_a_task_output_is_a_matrix_over_an_array_result() -> None:
    manifest = compile_corpus("parallel_and_nested__loop_consume_upstream.yaml")
    split = tasks(manifest)["split-input"]
    assert {"name": "Output-items", "type": "array"} in split["taskSpec"]["results"]
    create = tasks(manifest)["create-file"]
    assert create["matrix"] == {"params": [{"name": "content",
                                            "value": "$(tasks.split-input.results.Output-items[*])"}]}
    read = tasks(manifest)["read-file"]
    assert read["matrix"] == {"params": [{"name": "file", "value": "$(tasks.create-file.results.file[*])"}]}


def test_collected_outputs_of_a_run_time_loop_reach_the_launcher_item_by_item() -> None:
    consume = tasks(compile_corpus("critical__collected_parameters.yaml"))["consume-ids"]
    args = step(consume)["args"]
    start = args.index("--list=ids=STRING=$(params.ids-count)")
    assert args[start + 1] == "$(params.ids[*])"
    assert param_value(consume, "ids") == "$(tasks.prepend-id.results.Output[*])"
    assert param_value(consume, "ids-count") == "$(tasks.prepend-id.matrix.Output.length)"


def test_oneof_consumer_is_copied_per_branch() -> None:
    manifest = compile_corpus("if_elif_else_with_oneof_parameters.yaml")
    copies = {name: task for name, task in tasks(manifest).items() if name.startswith("print-and-return-alt")}
    assert sorted(param_value(task, "text") for task in copies.values()) == [
        "$(tasks.print-and-return-2.results.Output)", "$(tasks.print-and-return.results.Output)",
        "$(tasks.special-print-and-return.results.output_key)"]
    results = manifest["spec"]["pipelineSpec"]["results"]
    assert [r["name"] for r in results] == ["Output-1", "Output-2", "Output-3"]


def test_parallelism_over_a_run_time_list_is_refused_by_name() -> None:
    with pytest.raises(KfpDriverError, match=r"task 'for-loop-1' .*parallelism limit 1"):
        compile_corpus("pipeline_with_parallelfor_pipeline_param.yaml")


def test_retries_and_no_default_timeout() -> None:
    manifest = compile_corpus("critical__pipeline_with_retry.yaml")
    assert tasks(manifest)["add"]["retries"] == 3
    assert manifest["spec"]["timeouts"] == {"pipeline": "0s"}


# -- platform ---------------------------------------------------------------------------------


def test_created_pvc_is_a_workspace_of_the_run() -> None:
    manifest = compile_corpus("pipeline_with_volume.yaml")
    bindings = manifest["spec"]["workspaces"]
    assert [b["name"] for b in bindings] == ["createpvc"]
    assert bindings[0]["volumeClaimTemplate"]["spec"]["resources"]["requests"]["storage"] == "5Mi"
    producer = tasks(manifest)["producer"]
    assert producer["workspaces"][0]["workspace"] == "createpvc"
    assert producer["taskSpec"]["workspaces"][0]["mountPath"] == "/data"
    assert not any("pvc" in name for name in tasks(manifest)), "CreatePVC and DeletePVC need no pod"


def test_secret_name_from_a_task_output_is_a_task_parameter() -> None:
    comp = tasks(compile_corpus("critical__pipeline_with_secret_as_env.yaml"))["comp"]
    refs = [e["valueFrom"]["secretKeyRef"]["name"] for e in step(comp)["env"] if "secretKeyRef" in e.get("valueFrom", {})]
    assert "test-secret-2" in refs
    bound = {p["value"] for p in comp["params"]}
    assert "$(tasks.generate-secret-name.results.some_output)" in bound


def test_missing_optional_platform_inputs_drop_their_options() -> None:
    task = tasks(compile_corpus("critical__missing_kubernetes_optional_inputs.yaml"))["log-message"]
    assert [e["name"] for e in step(task)["env"]] == ["KFP_POD_NAME"]
    assert [v["name"] for v in task["taskSpec"]["volumes"]] == ["kfp-launcher", "kfp-outputs"]


def test_no_task_takes_the_name_of_a_matrix_taskrun() -> None:
    """Tekton names a matrix task's TaskRuns <run>-<task>-<index>; a task called <task>-2 would be taken for
    the third of them and never run (found by the Tekton harness on the corpus)."""
    spec = compile_corpus("critical__parallel_for_after_dependency.yaml")["spec"]["pipelineSpec"]
    names = [task["name"] for task in spec["tasks"]]
    assert "print-op" in names and "print-op-2" not in names  # print-op's TaskRuns: print-op-0, -1, -2
    assert "print-op-2-task" in names and "print-op-3" in names  # index 3 is free: only 3 items
