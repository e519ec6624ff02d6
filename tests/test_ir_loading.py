"""driver.ir: reading, parsing and structural validation, with one-line errors that name file, line and IR path."""

from __future__ import annotations

import gzip
import io
import json
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from driver import ir
from driver.errors import InputError, IRError, KfpDriverError, ProblemList, join_path
from driver.ir import IRDocument, load_ir, parse_path
from driver.platform import PlatformSpec

CONFORMANCE = Path(__file__).parents[1] / ".." / "shared" / "conformance"
CORPUS = sorted((CONFORMANCE / "kfp-ir").iterdir())
INVALID = CONFORMANCE / "kfp-ir-invalid"
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
SECRETS = CONFORMANCE / "kfp-ir" / "critical__pipeline_with_secret_as_env.yaml"


def error_of(source, **kwargs) -> KfpDriverError:
    with pytest.raises(KfpDriverError) as caught:
        load_ir(source, **kwargs)
    return caught.value


def one_line(error: KfpDriverError) -> str:
    text = str(error)
    assert "\n" not in text and "Traceback" not in text
    return text


# -- the corpus ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_corpus_file_loads(path: Path) -> None:
    doc = load_ir(path)
    assert doc.file == str(path)
    assert doc.spec["pipelineInfo"]["name"]
    assert "root" in doc.spec
    two_documents = path.suffix == ".yaml" and len(list(yaml.load_all(path.read_text(), Loader=LOADER))) == 2
    assert (doc.platform is not None) == two_documents
    if doc.platform is not None:
        assert isinstance(doc.platform, PlatformSpec)


def test_happy_path_never_composes_yaml_nodes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Line numbers are looked up only for errors: loading the corpus must not compose node trees."""
    def fail(text: str) -> list:
        raise AssertionError("composed YAML nodes on the happy path")
    monkeypatch.setattr(ir, "_compose", fail)
    for path in CORPUS:
        load_ir(path)


def test_json_corpus_file_keeps_camel_case_keys() -> None:
    doc = load_ir(CONFORMANCE / "kfp-ir" / "pipeline_with_importer.json")
    assert "deploymentSpec" in doc.spec and doc.platform is None


# -- the invalid corpus and other unreadable inputs -------------------------------------------


@pytest.mark.parametrize("name, expected", [
    ("empty_file.yaml", "empty_file.yaml: no pipeline in this file: it is empty or holds only comments"),
    ("empty_zip.zip", "empty_zip.zip: no pipeline in this file"),
    ("invalid-zip.zip", "invalid-zip.zip: this is a zip archive; pass the pipeline YAML inside it "
                        "(it holds invalid_yaml.yaml)"),
    ("invalid_yaml.yaml", "invalid_yaml.yaml:3: components_1: unknown field (did you mean 'components'?)"),
    ("no_name.yaml", "no_name.yaml:16: pipelineInfo.name: the pipeline has no name"),
    ("wrong_format.png", "wrong_format.png: no pipeline in this file"),
])
def test_invalid_corpus(name: str, expected: str) -> None:
    error = error_of(INVALID / name)
    assert error.exit_code == 2
    assert expected in one_line(error)
    assert str(error).startswith(str(INVALID / name))


def test_missing_file(tmp_path: Path) -> None:
    assert one_line(error_of(tmp_path / "nope.yaml")) == f"{tmp_path / 'nope.yaml'}: no such file"


def test_directory(tmp_path: Path) -> None:
    assert "is a directory" in one_line(error_of(tmp_path))


@pytest.mark.parametrize("content, expected", [
    (b"\x89PNG\r\n\x1a\n....", "this is a PNG image"),
    (gzip.compress(b"a: 1"), "gzip-compressed"),
    (b"name: caf\xe9\n", "not UTF-8 text (byte 0xe9 at offset 9)"),
    (b"a: b\x00c\n", "binary content"),
])
def test_binary_inputs(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "input.yaml"
    path.write_bytes(content)
    assert expected in one_line(error_of(path))


def test_real_zip_archive(tmp_path: Path) -> None:
    path = tmp_path / "p.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("pipeline.yaml", SECRETS.read_text())
    assert one_line(error_of(path)).endswith(
        "this is a zip archive; pass the pipeline YAML inside it (it holds pipeline.yaml)")


@pytest.mark.parametrize("text, expected", [
    ("- a\n- b\n", "x.yaml:1: the top level is a list, not a mapping"),
    ("just text\n", "the top level is a string ('just text'), not a mapping"),
    ("apiVersion: argoproj.io/v1alpha1\nkind: Workflow\n", "not a KFP pipeline: top-level keys are apiVersion, kind"),
    ("pipelineInfo: {name: a}\nroot: {}\n---\n{}\n---\na: 1\n", "x.yaml:6: holds 3 YAML documents"),
    ("pipelineInfo:\n  name: a\n root: [\n", "x.yaml:3:2: invalid YAML: "),
])
def test_unusable_documents(text: str, expected: str) -> None:
    assert expected in one_line(error_of("x.yaml", text=text))


def test_invalid_json_names_line_and_column() -> None:
    error = error_of("p.json", text='{"pipelineInfo": {"name": "a"},\n "root": ]}')
    assert one_line(error) == "p.json:2:10: invalid JSON: Expecting value"


def test_platform_document_must_be_a_mapping() -> None:
    error = error_of("x.yaml", text="pipelineInfo: {name: a}\n---\n- 1\n")
    assert one_line(error) == "x.yaml:3: the platform spec must be a mapping (platforms: {kubernetes: ...}), got a list"


# -- stdin and text ------------------------------------------------------------------------------


@pytest.mark.parametrize("source", [None, "-"])
def test_stdin(monkeypatch: pytest.MonkeyPatch, source: str | None) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(SECRETS.read_bytes())))
    doc = load_ir(source)
    assert doc.file == "<stdin>"
    assert doc.spec["pipelineInfo"]["name"] == "pipeline-secret-env"
    assert doc.platform is not None and "exec-comp" in doc.platform.executors


def test_stdin_errors_name_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"pipelineInfo: {nme: a}\n")))
    assert one_line(error_of("-")).startswith("<stdin>:1: pipelineInfo.nme: unknown field (did you mean 'name'?)")


def test_text_argument_uses_given_name() -> None:
    doc = load_ir("given.yaml", text=SECRETS.read_text())
    assert doc.file == "given.yaml" and doc.platform is not None


# -- structural validation against the protobufs ------------------------------------------------


def variant(tmp_path: Path, old: str, new: str, source: Path = SECRETS) -> Path:
    text = source.read_text()
    assert old in text
    path = tmp_path / source.name
    path.write_text(text.replace(old, new, 1))
    return path


def test_misspelt_task_field(tmp_path: Path) -> None:
    path = variant(tmp_path, "        dependentTasks:", "        dependentTask:")
    assert one_line(error_of(path)) == (f"{path}:87: root.dag.tasks['comp'].dependentTask: unknown field "
                                        "(did you mean 'dependentTasks'?)")


def test_unknown_field_far_from_any_lists_valid_fields(tmp_path: Path) -> None:
    path = variant(tmp_path, "  name: pipeline-secret-env", "  name: pipeline-secret-env\n  zzz: 1")
    message = one_line(error_of(path))
    assert "pipelineInfo.zzz: unknown field (valid fields: name, displayName, description)" in message


@pytest.mark.parametrize("old, new, expected", [
    ("        cachingOptions:\n          enableCache: true\n        componentRef:\n          name: comp-comp",
     "        cachingOptions:\n          enableCache: 'yes'\n        componentRef:\n          name: comp-comp",
     ":84: root.dag.tasks['comp'].cachingOptions.enableCache: expected true or false, got a string ('yes')"),
    ("schemaVersion: 2.1.0", "schemaVersion: 2.1",
     ":104: schemaVersion: expected a string, got a number (2.1) (quote the value)"),
    ("          - generate-secret-name\n", "          generate-secret-name: 1\n",
     ":87: root.dag.tasks['comp'].dependentTasks: expected a list, got a mapping"),
    ("        isOptional: true\n        parameterType: STRING",
     "        isOptional: true\n        parameterType: STRNG",
     ":103: root.inputDefinitions.parameters['secret_parm'].parameterType: 'STRNG' is not a valid "
     "ParameterTypeEnum (did you mean 'STRING'?)"),
    ("defaultValue: test-secret-1", "defaultValue: 2024-01-01",
     ":101: root.inputDefinitions.parameters['secret_parm'].defaultValue: expected a JSON value, got a date"),
    ("          - generate-secret-name\n", "          - null\n",
     ":88: root.dag.tasks['comp'].dependentTasks[0]: null is not allowed here"),
    ("        taskInfo:\n          name: comp\n", "        taskInfo: comp\n",
     ":89: root.dag.tasks['comp'].taskInfo: expected a mapping, got a string ('comp')"),
])
def test_wrong_types(tmp_path: Path, old: str, new: str, expected: str) -> None:
    path = variant(tmp_path, old, new)
    assert expected in one_line(error_of(path))


def test_oneof_conflict(tmp_path: Path) -> None:
    source = CONFORMANCE / "kfp-ir" / "critical__add_numbers.yaml"
    spec = yaml.safe_load(source.read_text())
    task = next(iter(spec["root"]["dag"]["tasks"].values()))
    name, binding = next(iter(task["inputs"]["parameters"].items()))
    binding["runtimeValue"] = {"constant": 1}
    message = one_line(error_of("x.json", text=json.dumps(spec)))
    assert f".inputs.parameters['{name}'].runtimeValue: 'componentInputParameter' and 'runtimeValue' " \
           "cannot both be set" in message


def test_all_structural_problems_are_reported_together(tmp_path: Path) -> None:
    path = variant(tmp_path, "        dependentTasks:", "        dependentTask:")
    path.write_text(path.read_text().replace("schemaVersion: 2.1.0", "schemaVersion: 2.1"))
    error = error_of(path)
    assert isinstance(error, ProblemList)
    assert [p.location.ir_path for p in error.problems] == ["root.dag.tasks['comp'].dependentTask", "schemaVersion"]


def test_spec_and_platform_problems_are_reported_together(tmp_path: Path) -> None:
    path = variant(tmp_path, "        dependentTasks:", "        dependentTask:")
    path.write_text(path.read_text().replace("secretKey: username", "secretKy: username"))
    error = error_of(path)
    assert isinstance(error, ProblemList) and len(error.problems) == 2
    assert str(error.problems[1]) == (
        f"{path}:115: platforms.kubernetes.deploymentSpec.executors['exec-comp'].secretAsEnv[0].keyToEnv[0]"
        ".secretKy: unknown field (did you mean 'secretKey'?)")


def test_json_errors_have_lines() -> None:
    text = '{"pipelineInfo": {"name": "a"},\n "root": {"dag": {"tasks": {"t": {"componentRef": {"nam": "x"}}}}}}'
    assert one_line(error_of("x.json", text=text)) == (
        "x.json:2: root.dag.tasks['t'].componentRef.nam: unknown field (did you mean 'name'?)")


def test_protobuf_message_is_the_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Should the own walker find nothing, protobuf's innermost message is still reported on one line."""
    monkeypatch.setattr(ir, "_check_message", lambda *args: None)
    message = one_line(error_of("x.yaml", text="pipelineInfo: {name: a}\nschemaVersion: 2.1\n"))
    assert message == "x.yaml:1: expected string or bytes-like object, got 'float'"


def test_errors_are_input_or_ir_errors() -> None:
    assert isinstance(error_of(INVALID / "empty_file.yaml"), InputError)
    assert isinstance(error_of(INVALID / "no_name.yaml"), IRError)


# -- the PipelineJob-style wrapper ---------------------------------------------------------------


def test_wrapped_pipeline_spec_and_platform_spec() -> None:
    spec, platform = yaml.safe_load_all(SECRETS.read_text())
    doc = load_ir("job.json", text=json.dumps({"displayName": "x", "pipelineSpec": spec, "platformSpec": platform},
                                              indent=1))
    assert doc.spec == spec
    assert doc.platform == PlatformSpec.from_dict(platform)


def test_wrapped_errors_point_into_the_wrapper() -> None:
    spec = next(yaml.safe_load_all(SECRETS.read_text()))
    spec["pipelineInfo"]["nam"] = spec["pipelineInfo"].pop("name")
    text = json.dumps({"pipelineSpec": spec}, indent=1)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if '"nam"' in row)
    assert str(error_of("job.json", text=text)).startswith(f"job.json:{line}: pipelineInfo.nam: unknown field")


# -- IR paths and locations ------------------------------------------------------------------------


def test_paths_round_trip() -> None:
    path = join_path(join_path(join_path(join_path("", "root"), "tasks"), "it's [a.b]", key=True), 3)
    assert path == "root.tasks['it\\'s [a.b]'][3]"
    assert parse_path(path) == ["root", "tasks", "it's [a.b]", 3]


def test_location_of_spec_and_platform_paths() -> None:
    doc = load_ir(SECRETS)
    assert doc.location("root.dag.tasks['comp'].dependentTasks[0]").line == 88
    platform_path = PlatformSpec.executor_path("exec-comp") + ".secretAsEnv[1].secretName"
    assert doc.location(platform_path).line == 123
    assert doc.location("root.dag.tasks['missing'].x").line == 81  # the deepest node that exists
    assert str(doc.location("pipelineInfo")) == f"{SECRETS}:77: pipelineInfo"


def test_location_without_text_has_no_line() -> None:
    assert IRDocument(file="f", spec={}, platform=None).location("root").line is None
