"""``kfp-driver compile``: outputs, formats, many files at once, and one-line errors with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from driver.cli import main
from tests.conftest import CORPUS, INVALID, ROOT

EXAMPLE = ROOT / "examples" / "hello-pipeline.yaml"


def run_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    code = "import sys; from driver.cli import main; sys.exit(main())"
    return subprocess.run([sys.executable, "-c", code, *args], input=stdin, capture_output=True, text=True,
                          cwd=ROOT)


def test_compile_to_stdout_as_yaml(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compile", str(EXAMPLE)]) == 0
    manifest = yaml.safe_load(capsys.readouterr().out)
    assert manifest["kind"] == "Workflow"


def test_compile_to_json_file(tmp_path: Path) -> None:
    target = tmp_path / "wf.json"
    assert main(["compile", str(EXAMPLE), "-o", str(target), "--pipeline-root", "s3://b/r"]) == 0
    manifest = json.loads(target.read_text())
    root = next(p for p in manifest["spec"]["arguments"]["parameters"] if p["name"] == "kfp-pipeline-root")
    assert root["value"] == "s3://b/r"


def test_compile_many_files_into_a_directory(tmp_path: Path) -> None:
    sources = [CORPUS / "hello_world.yaml", CORPUS / "pipeline_with_importer.json", EXAMPLE]
    assert main(["compile", *map(str, sources), "--target", "argo", "-o", str(tmp_path / "out")]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == \
        ["hello-pipeline.yaml", "hello_world.yaml", "pipeline_with_importer.yaml"]


def test_compile_reads_stdin() -> None:
    result = run_cli("compile", "-", stdin=EXAMPLE.read_text())
    assert result.returncode == 0, result.stderr
    assert yaml.safe_load(result.stdout)["metadata"]["generateName"] == "hello-pipeline-"


def test_options_from_flags_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KFP_DRIVER_LAUNCHER_IMAGE", "registry.local/launcher:1")
    target = tmp_path / "wf.yaml"
    assert main(["compile", str(EXAMPLE), "-o", str(target), "--service-account", "runner",
                 "--namespace", "ml", "--store-endpoint", "http://minio:9000", "--store-secret", "s3-creds"]) == 0
    manifest = yaml.safe_load(target.read_text())
    assert manifest["metadata"]["namespace"] == "ml"
    assert manifest["spec"]["serviceAccountName"] == "runner"
    template = next(t for t in manifest["spec"]["templates"] if "container" in t)
    assert template["initContainers"][0]["image"] == "registry.local/launcher:1"
    env = {e["name"]: e for e in template["container"]["env"]}
    assert env["KFP_S3_ENDPOINT"]["value"] == "http://minio:9000"
    assert env["KFP_S3_CREDENTIALS_DIR"]["value"] == "/kfp-store-credentials"
    credentials = next(v for v in template["volumes"] if "secret" in v)
    assert credentials["secret"]["secretName"] == "s3-creds"
    assert {i["path"] for i in credentials["secret"]["items"]} == {"accesskey", "secretkey"}
    assert not any(e.get("valueFrom", {}).get("secretKeyRef") for e in env.values())


@pytest.mark.parametrize("path", sorted(INVALID.iterdir()), ids=lambda p: p.name)
def test_invalid_inputs_exit_2_with_one_line(path: Path) -> None:
    result = run_cli("compile", str(path))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"kfp-driver: {path}")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("args, message", [
    (["compile"], "required"),
    (["compile", "a.yaml", "b.yaml"], "need -o DIR"),
    (["compile", "missing.yaml"], "no such file"),
    (["compile", str(EXAMPLE), "--target", "nomad"], "invalid choice"),
    (["frobnicate"], "invalid choice"),
])
def test_usage_errors_exit_2(args: list[str], message: str) -> None:
    result = run_cli(*args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_several_problems_are_reported_together(tmp_path: Path) -> None:
    spec = yaml.safe_load(EXAMPLE.read_text())
    spec["root"]["dag"]["tasks"]["count"]["componentRef"]["name"] = "comp-cuont"
    spec["root"]["dag"]["tasks"]["greet"]["dependentTasks"] = ["nope"]
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(spec))
    result = run_cli("compile", str(bad))
    assert result.returncode == 2
    assert "comp-cuont" in result.stderr and "did you mean 'comp-count'" in result.stderr
    assert "'nope'" in result.stderr


def test_tekton_says_when_it_fixes_parameters_into_the_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compile", str(CORPUS / "if_elif_else_complex.yaml"), "--target", "tekton"]) == 0
    captured = capsys.readouterr()
    assert "parameter(s) trials are fixed into this PipelineRun" in captured.err
    assert yaml.safe_load(captured.out)["metadata"]["annotations"]["kfp-driver.io/fixed-parameters"] == "trials"


def test_param_sets_the_runs_values_typed_by_the_ir(capsys: pytest.CaptureFixture[str]) -> None:
    source = str(CORPUS / "if_elif_else_complex.yaml")
    assert main(["compile", source, "--param", "trials=[5,6]", "--param", "add_drumroll=false"]) == 0
    arguments = {p["name"]: p.get("value") for p in yaml.safe_load(capsys.readouterr().out)["spec"]["arguments"]["parameters"]}
    assert arguments["trials"] == "[5,6]" and arguments["add_drumroll"] == "false"
    assert main(["compile", source, "--target", "tekton", "--param", "add_drumroll=false"]) == 0
    run = yaml.safe_load(capsys.readouterr().out)["spec"]
    assert run["params"] == [{"name": "add_drumroll", "value": "false"}]
    assert main(["compile", source, "--param", "trials=[5,x]"]) == 2
    assert "parameter 'trials'" in capsys.readouterr().err


def test_required_inputs_without_a_value_are_noted(capsys: pytest.CaptureFixture[str]) -> None:
    source = str(CORPUS / "pipeline_with_parallelfor_parallelism.yaml")
    assert main(["compile", source]) == 0
    assert "no value for required input(s) loop_parameter" in capsys.readouterr().err
    assert main(["compile", source, "--param", "loop_parameter=[1, 2]"]) == 0
    assert "no value" not in capsys.readouterr().err
