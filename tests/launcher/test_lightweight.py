"""A real lightweight Python component (the KFP SDK's ``kfp.dsl.executor_main``) through the launcher.

The SDK runs from its own venv (cached under ~/.cache/kfp-driver), first on PATH as ``python3``; the
launcher runs from the project's Python. The spec is the one the SDK compiles, written by hand.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from tests.launcher.conftest import container_spec, launch, ph
from tests.launcher.test_container import HOSTILE

SOURCE = textwrap.dedent('''
    import kfp
    from kfp import dsl
    from kfp.dsl import *
    from typing import *

    def train(count: int, rate: float, text: str, flags: dict, data: Input[Dataset], folder: Input[Artifact],
              model: Output[Model], metrics: Output[Metrics], roc: Output[ClassificationMetrics],
              note: OutputPath(str)) -> NamedTuple("Outputs", [("total", int), ("echo", str), ("ratio", float)]):
        with open(data.path) as f:
            rows = f.read().splitlines()
        import os
        os.makedirs(model.path)
        with open(os.path.join(model.path, "weights.txt"), "w") as f:
            f.write(f"{count}:{rate}:{len(rows)}:{sorted(os.listdir(folder.path))}")
        model.metadata["framework"] = "none"
        metrics.log_metric("accuracy", 0.75)
        roc.log_confusion_matrix(["a", "b"], [[1, 2], [3, 4]])
        with open(note, "w") as f:
            f.write(text)
        if flags.get("fail"):
            raise RuntimeError("asked to fail")
        Outputs = NamedTuple("Outputs", [("total", int), ("echo", str), ("ratio", float)])
        return Outputs(count + len(rows), text, rate * 2)
''')

PROGRAM = ('program_path=$(mktemp -d)\nprintf "%s" "$0" > "$program_path/ephemeral_component.py"\n'
           '_KFP_RUNTIME=true python3 -m kfp.dsl.executor_main --component_module_path '
           '"$program_path/ephemeral_component.py" "$@"\n')

SPEC = container_spec(
    ["sh", "-ec", PROGRAM, SOURCE],
    ["--executor_input", ph("executorInput"), "--function_to_execute", "train"],
    inputs={"parameters": {"count": {"type": "NUMBER_INTEGER"}, "rate": {"type": "NUMBER_DOUBLE"},
                           "text": {"type": "STRING"}, "flags": {"type": "STRUCT", "optional": True, "default": {}}},
            "artifacts": {"data": {"schemaTitle": "system.Dataset", "schemaVersion": "0.0.1"},
                          "folder": {"schemaTitle": "system.Artifact", "schemaVersion": "0.0.1"}}},
    outputs={"parameters": {"total": {"type": "NUMBER_INTEGER"}, "echo": {"type": "STRING"},
                            "ratio": {"type": "NUMBER_DOUBLE"}, "note": {"type": "STRING"}},
             "artifacts": {"model": {"schemaTitle": "system.Model", "schemaVersion": "0.0.1"},
                           "metrics": {"schemaTitle": "system.Metrics", "schemaVersion": "0.0.1"},
                           "roc": {"schemaTitle": "system.ClassificationMetrics", "schemaVersion": "0.0.1"}}})


def _inputs(tmp_path: Path, extra: list[str] = ()) -> list[str]:
    (tmp_path / "in" / "folder").mkdir(parents=True)
    (tmp_path / "in" / "data.csv").write_text("1\n2\n3\n")
    (tmp_path / "in" / "folder" / "x").write_text("")
    return ["--param", "count=4", "--param", "rate=0.5", "--param", f"text={HOSTILE}",
            "--artifact", f"data={tmp_path}/in/data.csv", "--artifact", f"folder=file://{tmp_path}/in/folder", *extra]


@pytest.fixture
def sdk_env(kfp_bin: Path) -> dict[str, str]:
    return {"PATH": f"{kfp_bin}{os.pathsep}{os.environ.get('PATH', '')}"}


@pytest.mark.slow
def test_lightweight_component_outputs(tmp_path, sdk_env):
    result = launch(SPEC, tmp_path, env=sdk_env, extra=_inputs(tmp_path))
    assert result.code == 0, result.stderr + result.stdout
    assert result.param("total") == "7"  # an int stays an int
    assert result.param("ratio") == "1.0"
    assert result.param("echo") == HOSTILE and result.param("note") == HOSTILE
    model = result.artifact("model")
    assert (Path(model["uri"]) / "weights.txt").read_text() == "4:0.5:3:['x']"
    assert model["metadata"] == {"framework": "none"} and model["type"]["schemaTitle"] == "system.Model"
    assert result.artifact("metrics")["metadata"] == {"accuracy": 0.75}
    assert "size" not in result.artifact("metrics")  # a Metrics artifact has no content, only metadata
    matrix = result.artifact("roc")["metadata"]["confusionMatrix"]
    assert matrix["rows"] == [{"row": [1, 2]}, {"row": [3, 4]}]


@pytest.mark.slow
def test_lightweight_component_failure(tmp_path, sdk_env):
    result = launch(SPEC, tmp_path, env=sdk_env, extra=_inputs(tmp_path, ["--param", 'flags={"fail": true}']))
    assert result.code == 1 and result.published() == []
    assert "asked to fail" in result.stdout + result.stderr
    assert not (tmp_path / "root" / "run-1" / "task" / "model").exists()
