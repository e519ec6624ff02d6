"""The plan: every corpus file models cleanly; conditions and placeholders parse into the right trees."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from driver.plan import load_plan
from driver.plan.conditions import BinOp, Call, ConditionError, Lit, Not, Ref, evaluate, parse_condition
from driver.plan.model import ContainerExecutor, ImporterExecutor, LoopKind, PvcExecutor, Trigger
from driver.plan.placeholders import PlaceholderError, parse_arg, pip_installs
from driver.plan.values import TypeMismatch, decode_value, encode_value
from driver.plan.model import ParamType
from tests.conftest import CORPUS, corpus_files


def test_every_corpus_file_builds_a_plan() -> None:
    features: Counter[str] = Counter()
    for path in corpus_files():
        plan = load_plan(path)
        for node in plan.walk():
            task, component = node.task, node.component
            features["task"] += 1
            features["condition"] += task.condition is not None
            if task.loop is not None:
                features[f"loop-{task.loop.kind.value}"] += 1
            features["parallelism"] += bool(task.loop and task.loop.parallelism)
            features["all-completed"] += task.trigger == Trigger.ALL_COMPLETED
            features["retry"] += task.retry is not None
            features["importer"] += isinstance(component.executor, ImporterExecutor)
            features["pvc"] += isinstance(component.executor, PvcExecutor)
            features["container"] += isinstance(component.executor, ContainerExecutor)
            features["sub-dag"] += component.dag is not None
    for feature in ("condition", "loop-raw", "loop-parameter", "loop-artifact", "parallelism", "all-completed",
                    "retry", "importer", "pvc", "sub-dag"):
        assert features[feature] > 0, feature


def test_task_paths_join_names_from_the_root() -> None:
    plan = load_plan(CORPUS / "pipeline_with_nested_loops.yaml")
    paths = [node.path for node in plan.walk()]
    assert any(path.count("/") >= 2 for path in paths)
    assert all(not path.startswith("/") for path in paths)


@pytest.mark.parametrize("text, values, expected", [
    ("inputs.parameter_values['c'] == 'heads'", {"c": "heads"}, True),
    ("inputs.parameter_values['c'] == 'heads'", {"c": "it's 'heads'"}, False),
    ("int(inputs.parameter_values['n']) < 5", {"n": "3"}, True),
    ("int(inputs.parameter_values['n']) < 5", {"n": 7.0}, False),
    ("!(int(inputs.parameter_values['n']) < 5) && inputs.parameter_values['c'] != 'x'", {"n": 9, "c": "y"}, True),
    ("inputs.parameter_values['n'] == 3", {"n": 3.0}, True),
    ("inputs.parameter_values['b'] == true", {"b": True}, True),
    ("inputs.parameter_values['n'] >= int(inputs.parameter_values['t'])", {"n": 5, "t": "5"}, True),
])
def test_condition_evaluation(text: str, values: dict, expected: bool) -> None:
    assert evaluate(parse_condition(text), values.__getitem__) is expected


def test_condition_tree_shape() -> None:
    expr = parse_condition("!(int(inputs.parameter_values['x']) < 5)")
    assert expr == Not(BinOp("<", Call("int", Ref("x")), Lit(5)))


@pytest.mark.parametrize("text", ["inputs.parameter_values[x]", "foo('a')", "bar == 1", "inputs.parameter_values['a'] =="])
def test_unsupported_or_invalid_conditions_are_reported(text: str) -> None:
    with pytest.raises(ConditionError):
        parse_condition(text)


@pytest.mark.parametrize("arg, expected", [
    ("plain", "plain"),
    ("{{$}}", {"concat": [{"ph": "executorInput"}]}),
    ("--x={{$.inputs.parameters['a b']}}", {"concat": ["--x=", {"ph": "inputValue", "name": "a b"}]}),
    ("{{$.inputs.artifacts['d'].path}}", {"concat": [{"ph": "inputPath", "name": "d"}]}),
    ("{{$.inputs.artifacts['d'].uri}}", {"concat": [{"ph": "inputUri", "name": "d"}]}),
    ("{{$.inputs.artifacts['d'].metadata}}", {"concat": [{"ph": "inputMetadata", "name": "d"}]}),
    ("{{$.outputs.parameters['o'].output_file}}", {"concat": [{"ph": "outputParameterFile", "name": "o"}]}),
    ("{{$.outputs.artifacts['m'].path}}", {"concat": [{"ph": "outputPath", "name": "m"}]}),
    ("{{$.outputs.artifacts['m'].uri}}", {"concat": [{"ph": "outputUri", "name": "m"}]}),
    ("{{$.outputs.artifacts['m'].metadata}}", {"concat": [{"ph": "outputMetadata", "name": "m"}]}),
    ("{{$.pipeline_job_name}}", {"concat": [{"ph": "jobName"}]}),
    ("{{workflow.name}} stays literal", "{{workflow.name}} stays literal"),
    ('{"Concat": ["a-", "{{$.inputs.parameters[\'x\']}}"]}',
     {"concat": ["a-", {"concat": [{"ph": "inputValue", "name": "x"}]}]}),
    ('{"IfPresent": {"InputName": "x", "Then": ["--x", "{{$.inputs.parameters[\'x\']}}"]}}',
     {"ifPresent": "x", "then": ["--x", {"concat": [{"ph": "inputValue", "name": "x"}]}], "else": []}),
])
def test_placeholders_parse_into_tokens(arg: str, expected: object) -> None:
    assert parse_arg(arg) == expected


def test_unknown_placeholder_is_an_error() -> None:
    with pytest.raises(PlaceholderError, match="unknown placeholder"):
        parse_arg("{{$.inputs.nonsense}}")


def test_pip_installs_keep_each_invocation() -> None:
    command = ["sh", "-c", "python3 -m pip install --quiet 'kfp==2.14.3' '--no-deps' && "
               "python3 -m pip install --quiet 'pandas' && \"$0\" \"$@\"\n"]
    assert pip_installs(command) == (("kfp==2.14.3", "--no-deps"), ("pandas",))


@pytest.mark.parametrize("value, kind, text", [
    ("it's", ParamType.STRING, "it's"), (3, ParamType.NUMBER_INTEGER, "3"), (3.0, ParamType.NUMBER_INTEGER, "3"),
    (1.5, ParamType.NUMBER_DOUBLE, "1.5"), (True, ParamType.BOOLEAN, "true"), ([1, "a"], ParamType.LIST, '[1,"a"]'),
    ({"k": "ü"}, ParamType.STRUCT, '{"k":"ü"}'),
])
def test_values_round_trip(value: object, kind: ParamType, text: str) -> None:
    assert encode_value(value, kind) == text
    assert decode_value(text, kind) == value


def test_values_keep_integers_integers_and_reject_wrong_types() -> None:
    assert decode_value("3.0", ParamType.NUMBER_INTEGER) == 3
    assert isinstance(decode_value("3.0", ParamType.NUMBER_INTEGER), int)
    with pytest.raises(TypeMismatch):
        decode_value("3.5", ParamType.NUMBER_INTEGER)
    with pytest.raises(TypeMismatch):
        decode_value("yes", ParamType.BOOLEAN)


def test_loop_kinds_are_modelled(tmp_path: Path) -> None:
    kinds = {node.task.loop.kind for path in corpus_files() for node in load_plan(path).walk() if node.task.loop}
    assert kinds == {LoopKind.RAW, LoopKind.PARAMETER, LoopKind.ARTIFACT}
