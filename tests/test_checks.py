"""driver.checks: semantic checks find each problem in crafted IR, and none in the corpus."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from driver.checks import check_ir
from driver.errors import IRError, KfpDriverError, ProblemList
from driver.ir import load_ir
from tests.irbuild import constant, container_component, output_of, parent, pipeline, task

CORPUS = sorted((Path(__file__).parents[1] / ".." / "shared" / "conformance" / "kfp-ir").iterdir())


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_corpus_has_no_problems(path: Path) -> None:
    check_ir(load_ir(path))


def test_corpus_with_all_required_params_supplied() -> None:
    for path in CORPUS:
        doc = load_ir(path)
        names = set((doc.spec["root"].get("inputDefinitions") or {}).get("parameters") or {})
        check_ir(doc, supplied_params=names)


# -- crafted pipelines -----------------------------------------------------------------------------


def base() -> dict[str, Any]:
    """produce (STRING output) -> consume (STRING input 'text'), plus a pipeline parameter."""
    return pipeline(
        "p",
        {"produce": container_component("produce", ["echo"], outputs={"Output": "STRING", "n": "NUMBER_INTEGER"}),
         "consume": container_component("consume", ["echo"], inputs={"text": "STRING"})},
        {"produce": task("produce"),
         "consume": task("consume", params={"text": output_of("produce")})},
        inputs={"greeting": {"parameterType": "STRING"}, "optional": {"parameterType": "STRING", "isOptional": True}},
    )


def problems(spec: dict[str, Any], platform: dict[str, Any] | None = None, **kwargs: Any) -> list[str]:
    text = yaml.safe_dump(spec, sort_keys=False)
    if platform is not None:
        text += "---\n" + yaml.safe_dump(platform, sort_keys=False)
    doc = load_ir("p.yaml", text=text)
    try:
        check_ir(doc, **kwargs)
    except ProblemList as error:
        return [str(p) for p in error.problems]
    except IRError as error:
        return [str(error)]
    return []


def add_artifacts(spec: dict[str, Any], component: str, kind: str, **artifacts: tuple[str, bool]) -> None:
    """Declare artifacts (name=(schemaTitle, isArtifactList)) as inputs or outputs of a component."""
    definitions = spec["components"][f"comp-{component}"].setdefault(f"{kind}Definitions", {})
    for name, (title, is_list) in artifacts.items():
        body: dict[str, Any] = {"artifactType": {"schemaTitle": title, "schemaVersion": "0.0.1"}}
        if is_list:
            body["isArtifactList"] = True
        definitions.setdefault("artifacts", {})[name] = body


def artifact_of(task_name: str, key: str) -> dict[str, Any]:
    return {"taskOutputArtifact": {"producerTask": task_name, "outputArtifactKey": key}}


def test_base_pipeline_is_clean() -> None:
    assert problems(base()) == []


def test_unknown_component() -> None:
    spec = base()
    spec["root"]["dag"]["tasks"]["consume"]["componentRef"]["name"] = "comp-consum"
    assert problems(spec) == ["p.yaml:45: root.dag.tasks['consume'].componentRef.name: names unknown component "
                              "'comp-consum' (did you mean 'comp-consume'?)"]


def test_unknown_executor() -> None:
    spec = base()
    spec["components"]["comp-consume"]["executorLabel"] = "exec-nothing"
    assert problems(spec) == ["p.yaml:15: components['comp-consume'].executorLabel: names unknown executor "
                              "'exec-nothing' (add it under deploymentSpec.executors)"]


def test_unknown_dependent_task() -> None:
    spec = base()
    spec["root"]["dag"]["tasks"]["consume"]["dependentTasks"] = ["produce", "prodce"]
    assert problems(spec) == ["p.yaml:57: root.dag.tasks['consume'].dependentTasks[1]: depends on task 'prodce', "
                              "which is not in this DAG (did you mean 'produce'?)"]


def test_cycle_through_dependent_tasks_and_data() -> None:
    spec = base()
    spec["root"]["dag"]["tasks"]["produce"]["dependentTasks"] = ["consume"]
    assert problems(spec) == ["p.yaml:45: root.dag.tasks['consume']: tasks depend on each other in a cycle: "
                              "consume -> produce -> consume (remove one of these dependencies or data edges)"]


def test_self_dependency_is_a_cycle() -> None:
    spec = base()
    spec["root"]["dag"]["tasks"]["produce"]["dependentTasks"] = ["produce"]
    assert problems(spec)[0].endswith("cycle: produce -> produce (remove one of these dependencies or data edges)")


def test_input_from_unknown_task_and_unknown_output() -> None:
    spec = base()
    tasks = spec["root"]["dag"]["tasks"]
    tasks["consume"]["inputs"]["parameters"]["text"] = output_of("produc")
    tasks["other"] = task("consume", name="other", params={"text": output_of("produce", "Outpt")})
    assert problems(spec) == [
        "p.yaml:53: root.dag.tasks['consume'].inputs.parameters['text'].taskOutputParameter.producerTask: "
        "names task 'produc', which is not in this DAG (did you mean 'produce'?)",
        "p.yaml:66: root.dag.tasks['other'].inputs.parameters['text'].taskOutputParameter.outputParameterKey: "
        "task 'produce' has no output parameter 'Outpt' (did you mean 'Output'?)",
    ]


def test_missing_parent_input() -> None:
    spec = base()
    spec["root"]["dag"]["tasks"]["consume"]["inputs"]["parameters"]["text"] = parent("greting")
    assert problems(spec) == ["p.yaml:52: root.dag.tasks['consume'].inputs.parameters['text']"
                              ".componentInputParameter: the enclosing DAG has no input parameter 'greting' "
                              "(did you mean 'greeting'?)"]


def test_undeclared_and_unbound_inputs() -> None:
    spec = base()
    spec["root"]["dag"]["tasks"]["consume"]["inputs"]["parameters"] = {"txt": parent("greeting")}
    assert problems(spec) == [
        "p.yaml:51: root.dag.tasks['consume'].inputs.parameters['txt']: component 'comp-consume' declares no "
        "input parameter 'txt' (did you mean 'text'?)",
        "p.yaml:43: root.dag.tasks['consume']: required input parameter 'text' of component 'comp-consume' has no "
        "value (bind it under inputs.parameters)",
    ]


def test_optional_and_defaulted_inputs_need_no_binding() -> None:
    spec = base()
    definitions = spec["components"]["comp-consume"]["inputDefinitions"]["parameters"]
    definitions["maybe"] = {"parameterType": "STRING", "isOptional": True}
    definitions["fallback"] = {"parameterType": "NUMBER_INTEGER", "defaultValue": 3}
    assert problems(spec) == []


def test_channel_inputs_the_sdk_adds_need_no_declaration() -> None:
    """Conditions, f-strings and resource fields make the SDK bind inputs the component does not declare."""
    spec = base()
    spec["root"]["dag"]["tasks"]["consume"]["inputs"]["parameters"].update({
        "pipelinechannel--greeting": parent("greeting"),
        "cpu_limit": constant("{{$.inputs.parameters['pipelinechannel--greeting']}}"),
    })
    assert problems(spec) == []
    spec["root"]["dag"]["tasks"]["consume"]["inputs"]["parameters"]["cpu_limit"] = constant("4")
    assert len(problems(spec)) == 1


@pytest.mark.parametrize("output, expected", [
    ("n", "type mismatch: the value is NUMBER_INTEGER, input 'text' expects STRING"),
    ("Output", None),
])
def test_parameter_type_mismatch(output: str, expected: str | None) -> None:
    spec = base()
    spec["root"]["dag"]["tasks"]["consume"]["inputs"]["parameters"]["text"] = output_of("produce", output)
    found = problems(spec)
    assert found == ([f"p.yaml:51: root.dag.tasks['consume'].inputs.parameters['text']: {expected}"] if expected
                     else [])


def test_parent_input_type_mismatch_and_expression_selector() -> None:
    spec = base()
    spec["root"]["inputDefinitions"]["parameters"]["config"] = {"parameterType": "STRUCT"}
    binding = spec["root"]["dag"]["tasks"]["consume"]["inputs"]["parameters"]["text"] = parent("config")
    assert problems(spec)[0].endswith("type mismatch: the value is STRUCT, input 'text' expects STRING")
    binding["parameterExpressionSelector"] = "parseJson(string_value)[\"name\"]"
    assert problems(spec) == []


@pytest.mark.parametrize("produced, wanted, expected", [
    (("system.Model", False), ("system.Dataset", False),
     "type mismatch: the artifact is system.Model, input 'data' expects system.Dataset"),
    (("system.Model", False), ("system.Artifact", False), None),
    (("system.Artifact", False), ("system.Dataset", False), None),
    (("system.Dataset", True), ("system.Dataset", False),
     "type mismatch: the value is a list of artifacts, input 'data' expects one artifact"),
    (("system.Dataset", False), ("system.Artifact", True),
     "type mismatch: the value is one artifact, input 'data' expects a list of artifacts"),
])
def test_artifact_type_compatibility(produced: tuple, wanted: tuple, expected: str | None) -> None:
    spec = base()
    add_artifacts(spec, "produce", "output", model=produced)
    add_artifacts(spec, "consume", "input", data=wanted)
    spec["root"]["dag"]["tasks"]["consume"]["inputs"]["artifacts"] = {"data": artifact_of("produce", "model")}
    found = problems(spec)
    assert found == ([f"p.yaml:{found[0].split(':')[1]}: root.dag.tasks['consume'].inputs.artifacts['data']: "
                      f"{expected}"] if expected else [])


def test_artifact_wiring_to_missing_output_and_undeclared_input() -> None:
    spec = base()
    add_artifacts(spec, "produce", "output", model=("system.Model", False))
    spec["root"]["dag"]["tasks"]["consume"]["inputs"]["artifacts"] = {"dat": artifact_of("produce", "mdl")}
    found = problems(spec)
    assert [f.split(": ", 2)[1:] for f in found] == [
        ["root.dag.tasks['consume'].inputs.artifacts['dat']",
         "component 'comp-consume' declares no input artifact 'dat'"],
        ["root.dag.tasks['consume'].inputs.artifacts['dat'].taskOutputArtifact.outputArtifactKey",
         "task 'produce' has no output artifact 'mdl' (did you mean 'model'?)"],
    ]


def loop_pipeline() -> dict[str, Any]:
    """A ParallelFor over the pipeline parameter 'items', running 'consume' once per item."""
    spec = base()
    spec["root"]["inputDefinitions"]["parameters"]["items"] = {"parameterType": "LIST"}
    spec["components"]["comp-for-loop-1"] = {
        "dag": {"tasks": {"consume": task("consume", params={"text": parent("pipelinechannel--items-loop-item")})}},
        "inputDefinitions": {"parameters": {"pipelinechannel--items": {"parameterType": "LIST"},
                                            "pipelinechannel--items-loop-item": {"parameterType": "STRING"}}},
    }
    spec["root"]["dag"]["tasks"]["for-loop-1"] = {
        "componentRef": {"name": "comp-for-loop-1"}, "taskInfo": {"name": "for-loop-1"},
        "inputs": {"parameters": {"pipelinechannel--items": parent("items")}},
        "parameterIterator": {"itemInput": "pipelinechannel--items-loop-item",
                              "items": {"inputParameter": "pipelinechannel--items"}},
    }
    return spec


def test_parameter_iterator() -> None:
    spec = loop_pipeline()
    assert problems(spec) == []
    iterator = spec["root"]["dag"]["tasks"]["for-loop-1"]["parameterIterator"]
    iterator["items"]["inputParameter"] = "pipelinechannel--itms"
    iterator["itemInput"] = "pipelinechannel--items-loop-itm"
    found = [f.split(": ", 1)[1] for f in problems(spec)]
    assert found == [
        "root.dag.tasks['for-loop-1'].parameterIterator.items.inputParameter: iterates over task input "
        "'pipelinechannel--itms', which the task does not bind (did you mean 'pipelinechannel--items'?)",
        "root.dag.tasks['for-loop-1'].parameterIterator.itemInput: loop item 'pipelinechannel--items-loop-itm' is "
        "not an input of component 'comp-for-loop-1' (did you mean 'pipelinechannel--items-loop-item'?)",
        "root.dag.tasks['for-loop-1']: required input parameter 'pipelinechannel--items-loop-item' of component "
        "'comp-for-loop-1' has no value (bind it under inputs.parameters)",
    ]


def test_artifact_iterator() -> None:
    spec = base()
    add_artifacts(spec, "produce", "output", models=("system.Model", True))
    spec["components"]["comp-for-loop-1"] = {"dag": {"tasks": {}}}
    add_artifacts(spec, "for-loop-1", "input", **{"pipelinechannel--models": ("system.Model", True),
                                                  "pipelinechannel--models-loop-item": ("system.Model", False)})
    loop = spec["root"]["dag"]["tasks"]["for-loop-1"] = {
        "componentRef": {"name": "comp-for-loop-1"}, "taskInfo": {"name": "for-loop-1"},
        "inputs": {"artifacts": {"pipelinechannel--models": artifact_of("produce", "models")}},
        "artifactIterator": {"itemInput": "pipelinechannel--models-loop-item",
                             "items": {"inputArtifact": "pipelinechannel--models"}},
    }
    assert problems(spec) == []
    loop["artifactIterator"]["items"]["inputArtifact"] = "pipelinechannel--model"
    assert [f.split(": ", 1)[1] for f in problems(spec)] == [
        "root.dag.tasks['for-loop-1'].artifactIterator.items.inputArtifact: iterates over task input "
        "'pipelinechannel--model', which the task does not bind (did you mean 'pipelinechannel--models'?)"]


def test_dag_output_selectors() -> None:
    spec = loop_pipeline()
    body = spec["components"]["comp-for-loop-1"]
    body["outputDefinitions"] = {"parameters": {"out": {"parameterType": "LIST"}}}
    body["dag"]["outputs"] = {
        "parameters": {"out": {"valueFromParameter": {"producerSubtask": "consum", "outputParameterKey": "x"}},
                       "one": {"valueFromOneof": {"parameterSelectors": [
                           {"producerSubtask": "consume", "outputParameterKey": "nothing"}]}}},
        "artifacts": {"art": {"artifactSelectors": [{"producerSubtask": "consume", "outputArtifactKey": "a"}]}},
    }
    assert [f.split(": ", 1)[1] for f in problems(spec)] == [
        "components['comp-for-loop-1'].dag.outputs.parameters['out'].valueFromParameter.producerSubtask: names task "
        "'consum', which is not in this DAG (did you mean 'consume'?)",
        "components['comp-for-loop-1'].dag.outputs.parameters['one'].valueFromOneof.parameterSelectors[0]"
        ".outputParameterKey: task "
        "'consume' has no output parameter 'nothing' (its outputs: none)",
        "components['comp-for-loop-1'].dag.outputs.artifacts['art'].artifactSelectors[0].outputArtifactKey: task "
        "'consume' has no output artifact 'a' (its outputs: none)",
    ]


def test_supplied_params() -> None:
    assert problems(base(), supplied_params={"greeting"}) == []
    assert problems(base(), supplied_params=set()) == [
        "p.yaml:57: root.inputDefinitions.parameters['greeting']: pipeline parameter 'greeting' is required and has "
        "no value (pass --param greeting=VALUE)"]


def test_final_status_from_unknown_task() -> None:
    spec = base()
    spec["components"]["comp-consume"]["inputDefinitions"]["parameters"]["status"] = {
        "parameterType": "TASK_FINAL_STATUS", "isOptional": True}
    spec["root"]["dag"]["tasks"]["consume"]["inputs"]["parameters"]["status"] = {
        "taskFinalStatus": {"producerTask": "produc"}}
    assert [f.split(": ", 1)[1] for f in problems(spec)] == [
        "root.dag.tasks['consume'].inputs.parameters['status'].taskFinalStatus.producerTask: names task 'produc', "
        "which is not in this DAG (did you mean 'produce'?)"]


def platform_of(options: dict[str, Any], label: str = "exec-consume") -> dict[str, Any]:
    return {"platforms": {"kubernetes": {"deploymentSpec": {"executors": {label: options}}}}}


def test_platform_references() -> None:
    secret = {"secretNameParameter": parent("greeting"), "keyToEnv": [{"secretKey": "k", "envVar": "K"}]}
    assert problems(base(), platform_of({"secretAsEnv": [secret]})) == []
    assert problems(base(), platform_of({"podMetadata": {}}, "exec-consum")) == [
        "p.yaml:67: platforms.kubernetes.deploymentSpec.executors['exec-consum']: platform options for unknown "
        "executor 'exec-consum' (did you mean 'exec-consume'?)"]
    wrong = copy.deepcopy(secret)
    wrong["secretNameParameter"] = parent("greetin")
    pvc = {"pvcNameParameter": output_of("produce", "nme"), "mountPath": "/d"}
    found = problems(base(), platform_of({"secretAsEnv": [wrong], "pvcMount": [pvc]}))
    assert [f.split(": ", 1)[1] for f in found] == [
        "platforms.kubernetes.deploymentSpec.executors['exec-consume'].secretAsEnv[0].secretNameParameter: names "
        "input 'greetin', which the DAG of the task does not have (for task 'consume' in root.dag) "
        "(did you mean 'greeting'?)",
        "platforms.kubernetes.deploymentSpec.executors['exec-consume'].pvcMount[0].pvcNameParameter: task 'produce' "
        "has no output parameter 'nme' (its outputs: Output, n)",
    ]


def test_all_problems_are_collected() -> None:
    spec = base()
    tasks = spec["root"]["dag"]["tasks"]
    tasks["consume"]["componentRef"]["name"] = "comp-x"
    tasks["produce"]["dependentTasks"] = ["nobody"]
    with pytest.raises(ProblemList) as caught:
        check_ir(load_ir("p.yaml", text=yaml.safe_dump(spec)))
    assert len(caught.value.problems) == 2 and caught.value.exit_code == 2
    assert all(isinstance(p, KfpDriverError) for p in caught.value.problems)
