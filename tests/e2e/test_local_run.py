"""End to end: KFP SDK pipelines (compiled IR under tests/e2e/ir) run with ``kfp-driver run --json``.

Every test starts the CLI as a subprocess with this interpreter and checks the ``--json`` summary
(DESIGN.md, "CLI contract"), the exit code and, where it matters, the task logs under ``--workdir``.
The IR fixtures come from tests/e2e/pipelines/*.py (hack/compile-e2e-fixtures.sh); the SDK is not needed
here. Lightweight components run in the task virtualenv the runner builds once under
~/.cache/kfp-driver/envs; container components run with this machine's ``sh``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
IR = Path(__file__).resolve().parent / "ir"
CLI = "import sys; from driver.cli import main; sys.exit(main())"
HOSTILE = "it's \"q\" {{workflow.name}} $(echo pwned) `id` }}\nline2 ünï 🙂"


@dataclass
class Run:
    code: int
    summary: dict[str, Any]
    stdout: str
    stderr: str
    workdir: Path

    @property
    def state(self) -> str:
        return self.summary.get("state", "")

    @property
    def outputs(self) -> dict[str, Any]:
        return self.summary.get("outputs", {})

    @property
    def tasks(self) -> dict[str, Any]:
        return self.summary.get("tasks", {})

    def task(self, path: str) -> dict[str, Any]:
        assert path in self.tasks, f"no task {path!r} in the summary; tasks: {sorted(self.tasks)}\n{self.stderr}"
        return self.tasks[path]

    def out(self, path: str, name: str = "Output") -> Any:
        task = self.task(path)
        assert task["state"] == "SUCCEEDED", f"{path}: {task}\n{self.log_of(path)}"
        assert name in task["outputs"], f"{path} has no output {name!r}: {task}"
        return task["outputs"][name]

    @property
    def run_dir(self) -> Path:
        run_id = self.summary.get("run_id")
        if run_id:
            return self.workdir / "runs" / run_id
        runs = sorted((self.workdir / "runs").iterdir(), key=lambda p: p.stat().st_mtime)
        return runs[-1]

    def log_of(self, path: str) -> str:
        """The task's log file (``runs/<run id>/logs/<task path>.log``), or '' if there is none."""
        logs = self.run_dir / "logs"
        safe = path.replace("[", "_").replace("]", "")
        for candidate in (logs / f"{safe}.log", logs / f"{path}.log"):
            if candidate.exists():
                return candidate.read_text(encoding="utf-8")
        return ""

    def explain(self) -> str:
        """Everything a failing assertion needs: exit code, stderr, task states, and failed tasks' logs."""
        lines = [f"exit code {self.code}", f"stderr: {self.stderr[-3000:]}"]
        for path, task in sorted(self.tasks.items()):
            lines.append(f"  {path}: {task['state']} {json.dumps(task['outputs'], ensure_ascii=False)[:300]}")
            if task["state"] == "FAILED":
                lines.append("    " + self.log_of(path)[-2000:].replace("\n", "\n    "))
        return "\n".join(lines)


def run(fixture: str, workdir: Path, *params: str, extra: tuple[str, ...] = (), timeout: float = 120) -> Run:
    argv = [sys.executable, "-c", CLI, "run", str(IR / f"{fixture}.yaml"), "--json", "--workdir", str(workdir)]
    for param in params:
        argv += ["--param", param]
    result = subprocess.run(argv + list(extra), capture_output=True, text=True, encoding="utf-8", cwd=ROOT,
                            timeout=timeout)
    summary: dict[str, Any] = {}
    if result.stdout.strip():
        try:
            summary = json.loads(result.stdout)
        except json.JSONDecodeError:
            pytest.fail(f"stdout is not one JSON object:\n{result.stdout[:2000]}\nstderr:\n{result.stderr[-2000:]}")
    return Run(result.returncode, summary, result.stdout, result.stderr, workdir)


def succeeded(result: Run) -> Run:
    assert result.code == 0 and result.state == "SUCCEEDED", result.explain()
    return result


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path / "work"


# -- parameters and types ------------------------------------------------------------------------


def test_types_in_and_out_and_integers_stay_integers(workdir: Path) -> None:
    r = succeeded(run("types_arithmetic", workdir))
    # every component asserts the exact Python type of each input, so SUCCEEDED already proves the way in
    assert r.out("add") == 7 and is_int(r.out("add"))
    assert r.out("multiply") == 42 and is_int(r.out("multiply"))
    assert r.out("big") == 2 ** 40 + 1 and is_int(r.out("big"))
    assert r.out("scale") == 3.0 and isinstance(r.out("scale"), float)
    produced = r.task("produce")["outputs"]
    assert produced["i"] == 30 and is_int(produced["i"])
    assert produced["f"] == 0.75
    assert produced["b"] is False
    assert produced["s"] == "KFP"
    assert produced["l"] == [1, "two", 3.5, 3]
    assert produced["d"] == {"k": "v", "nested": {"n": 1}, "added": 3}
    assert is_int(produced["d"]["added"])
    # pipeline outputs
    assert r.outputs["total"] == 42 and is_int(r.outputs["total"])
    assert r.outputs["large"] == 2 ** 40 + 1 and is_int(r.outputs["large"])
    assert r.outputs["scaled"] == 3.0
    checked = json.loads(r.outputs["checked"])
    assert checked == {"i": 30, "f": 0.75, "b": False, "s": "KFP", "l": [1, "two", 3.5, 3],
                       "d": {"k": "v", "nested": {"n": 1}, "added": 3}}
    assert is_int(checked["i"]) and is_int(checked["d"]["added"])


def test_parameters_from_the_command_line_are_typed(workdir: Path) -> None:
    r = succeeded(run("types_arithmetic", workdir, "n=4", "x=0.5", "flag=false", "name=abc",
                      'xs=["q", 2]', 'cfg={"z": [1, 2]}', extra=("--no-cache",)))
    assert r.out("add") == 8 and is_int(r.out("add"))
    assert r.outputs["total"] == 48 and is_int(r.outputs["total"])
    produced = r.task("produce")["outputs"]
    assert produced["i"] == 40 and is_int(produced["i"])
    assert produced["f"] == 0.25
    assert produced["b"] is True
    assert produced["s"] == "ABC"
    assert produced["l"] == ["q", 2, 2]
    assert produced["d"] == {"z": [1, 2], "added": 4}
    assert json.loads(r.out("check")) == {"i": 40, "f": 0.25, "b": True, "s": "ABC", "l": ["q", 2, 2],
                                          "d": {"z": [1, 2], "added": 4}}


# -- conditions ----------------------------------------------------------------------------------

BIG, BIG_LOUD = "condition-branches-1/condition-3/say", "condition-branches-1/condition-3/condition-2/say-2"
MEDIUM, SMALL = "condition-branches-1/condition-4/say-3", "condition-branches-1/condition-5/say-4"


@pytest.mark.parametrize("n, loud, expected", [
    (12, "true", {BIG: "big", BIG_LOUD: "BIG"}),
    (12, "false", {BIG: "big"}),
    (7, "true", {MEDIUM: "medium"}),
    (3, "false", {SMALL: "small"}),
])
def test_if_elif_else_on_an_int_comparison_with_a_nested_condition(workdir: Path, n: int, loud: str,
                                                                   expected: dict[str, str]) -> None:
    r = succeeded(run("conditions", workdir, f"n={n}", f"loud={loud}"))
    assert r.out("number") == n and is_int(r.out("number"))
    ran = {path: task["outputs"].get("Output") for path, task in r.tasks.items()
           if path.startswith("condition-branches-1/") and task["state"] == "SUCCEEDED"}
    assert ran == expected, r.explain()
    branches = {"condition-branches-1/condition-3", "condition-branches-1/condition-4",
                "condition-branches-1/condition-5"}
    taken = {path.rsplit("/", 1)[0] for path in expected if path.count("/") == 2}
    for branch in branches - taken:
        assert r.task(branch)["state"] == "SKIPPED", r.explain()
    if n > 10 and loud == "false":
        assert r.task("condition-branches-1/condition-3/condition-2")["state"] == "SKIPPED"
    assert r.out("condition-6/say-5") == "word is hello"
    assert r.out("say-6") == "always"


def test_string_condition_false_skips(workdir: Path) -> None:
    r = succeeded(run("conditions", workdir, "n=1", "word=bye"))
    assert r.task("condition-6")["state"] == "SKIPPED"
    assert "condition-6/say-5" not in r.tasks
    assert r.out(SMALL) == "small"


@pytest.mark.parametrize("mode, branch, value", [
    ("a", "condition-branches-1/condition-2/make", "from-a"),
    ("b", "condition-branches-1/condition-3/make-2", "from-b"),
    ("zzz", "condition-branches-1/condition-4/make-3", "from-else"),
])
def test_oneof_over_parameters(workdir: Path, mode: str, branch: str, value: str) -> None:
    r = succeeded(run("oneof_parameters", workdir, f"mode={mode}"))
    assert r.out(branch) == value
    assert r.out("consume") == f"got {value}"
    assert r.outputs == {"Output": value}
    skipped = [p for p, t in r.tasks.items() if t["state"] == "SKIPPED"]
    assert len(skipped) == 2, r.explain()


@pytest.mark.parametrize("use_first, branch, text", [
    ("true", "condition-branches-1/condition-2/write", "first"),
    ("false", "condition-branches-1/condition-3/write-2", "second"),
])
def test_oneof_over_artifacts(workdir: Path, use_first: str, branch: str, text: str) -> None:
    r = succeeded(run("oneof_artifacts", workdir, f"use_first={use_first}"))
    artifact = r.out(branch, "out")
    assert artifact["metadata"] == {"branch": text}
    assert r.out("read") == text
    assert r.outputs["Output"]["uri"] == artifact["uri"]
    assert r.outputs["Output"]["metadata"] == {"branch": text}
    uri = artifact["uri"]
    local = Path(uri[len("file://"):] if uri.startswith("file://") else uri)
    assert local.read_text() == text


# -- loops ---------------------------------------------------------------------------------------


def test_loop_over_a_static_list_with_parallelism_and_collected(workdir: Path) -> None:
    r = succeeded(run("loop_static_list", workdir))
    squares = [r.out(f"for-loop-2[{i}]/square") for i in range(4)]
    assert squares == [1, 4, 9, 16] and all(is_int(s) for s in squares)
    assert r.out("as-text") == "1,4,9,16"  # Collected keeps item order
    assert r.out("total") == 30 and is_int(r.out("total"))
    assert r.outputs == {"Output": 30}
    spans = [r.out(f"for-loop-4[{i}]/timed") for i in range(5)]
    assert [s["x"] for s in spans] == [1, 2, 3, 4, 5]
    overlap = max(sum(1 for o in spans if o["start"] <= s["start"] < o["end"]) for s in spans)
    assert overlap <= 2, f"parallelism=2 exceeded: {spans}"


def test_loop_over_static_dicts_with_sub_fields(workdir: Path) -> None:
    r = succeeded(run("loop_dict_items", workdir))
    assert [r.out(f"for-loop-2[{i}]/describe") for i in range(3)] == ["1+10=11", "2+20=22", "3+30=33"]
    assert [r.out(f"for-loop-2[{i}]/keys") for i in range(3)] == ["a:1,b:10", "a:2,b:20", "a:3,b:30"]


def test_loop_over_a_pipeline_parameter(workdir: Path) -> None:
    people = [{"who": "ada", "times": 2}, {"who": "bob", "times": 1}, {"who": HOSTILE, "times": 1}]
    r = succeeded(run("loop_pipeline_param", workdir, f"people={json.dumps(people)}"))
    assert r.out("for-loop-1[0]/greet") == "hi ada hi ada"
    assert r.out("for-loop-1[1]/greet") == "hi bob"
    assert r.out("for-loop-1[2]/greet") == f"hi {HOSTILE}"
    assert r.outputs == {"Output": f"hi ada hi ada|hi bob|hi {HOSTILE}"}
    assert "for-loop-1[3]/greet" not in r.tasks


def test_loop_over_a_pipeline_parameter_default(workdir: Path) -> None:
    r = succeeded(run("loop_pipeline_param", workdir))
    assert r.outputs == {"Output": "hi default"}


def test_loop_over_a_task_output(workdir: Path) -> None:
    r = succeeded(run("loop_task_output", workdir, "length=4"))
    assert r.out("make-list") == [1, 2, 3, 4]
    doubles = [r.out(f"for-loop-1[{i}]/double") for i in range(4)]
    assert doubles == [2, 4, 6, 8] and all(is_int(d) for d in doubles)
    assert json.loads(r.out("collect")) == [2, 4, 6, 8]
    assert "for-loop-1[4]/double" not in r.tasks


def test_loop_over_an_empty_task_output(workdir: Path) -> None:
    r = succeeded(run("loop_task_output", workdir, "length=0"))
    assert r.out("make-list") == []
    assert not [p for p in r.tasks if p.startswith("for-loop-1[")]
    assert json.loads(r.out("collect")) == []


def test_collected_artifacts_and_loops_over_artifact_lists(workdir: Path) -> None:
    r = succeeded(run("loop_artifacts", workdir))
    made = [r.out(f"make-many/for-loop-1[{i}]/make", "out") for i in range(3)]
    assert [m["metadata"] for m in made] == [{"x": 1}, {"x": 2}, {"x": 3}]
    assert len({m["uri"] for m in made}) == 3, made
    assert r.out("read-all") == "item-1,item-2,item-3"  # checks content + metadata of every item inside
    assert r.outputs == {"Output": "item-1,item-2,item-3"}
    # ParallelFor over a nested pipeline's Collected artifact-list output
    assert [r.out(f"for-loop-3[{i}]/read-one") for i in range(3)] == ["ITEM-1", "ITEM-2", "ITEM-3"]
    # Collected artifacts of a loop into a nested pipeline that iterates its List[Dataset] input
    assert [r.out(f"per-dataset/for-loop-1[{i}]/read-one") for i in range(2)] == ["ITEM-4", "ITEM-5"]


def test_nested_loops_with_collected_parameters_and_artifacts(workdir: Path) -> None:
    r = succeeded(run("loop_nested_collected", workdir))
    for i, a in enumerate([1, 2]):
        for j, b in enumerate([10, 20, 30]):
            path = f"for-loop-2[{i}]/for-loop-4[{j}]/product"
            assert r.out(path) == a * b and is_int(r.out(path))
            assert r.out(path, "out")["metadata"] == {"value": a * b}
    uris = [r.out(f"for-loop-2[{i}]/for-loop-4[{j}]/product", "out")["uri"] for i in range(2) for j in range(3)]
    assert len(set(uris)) == 6, uris
    # Collected one level up: per outer iteration
    assert r.out("for-loop-2[0]/row-sum") == 60 and r.out("for-loop-2[1]/row-sum") == 120
    # Collected two levels up: all values (a list per outer iteration) and all six artifacts
    assert json.loads(r.out("all-values")) == [[10, 20, 30], [20, 40, 60]]
    assert r.out("all-artifacts") == "1x10,1x20,1x30,2x10,2x20,2x30"
    assert r.out("grand-total") == 180 and is_int(r.out("grand-total"))
    assert r.outputs == {"Output": 180}


# -- artifacts -----------------------------------------------------------------------------------


def test_artifact_types_with_metadata(workdir: Path) -> None:
    r = run("artifacts_types", workdir)
    produced = r.task("produce")
    assert produced["state"] == "SUCCEEDED", r.explain()
    out = produced["outputs"]
    assert set(out) == {"dataset", "model", "blob", "metrics", "cls", "report", "page"}
    assert out["dataset"]["metadata"] == {"rows": 2, "columns": ["x", "y"]}
    assert out["model"]["metadata"] == {"framework": "none", "version": 3}
    assert out["blob"]["metadata"] == {"kind": "bytes"}
    assert out["metrics"]["metadata"] == {"accuracy": 0.9, "loss": 0.125}
    matrix = out["cls"]["metadata"]["confusionMatrix"]
    assert [row["row"] for row in matrix["rows"]] == [[8, 2], [1, 9]]
    assert out["report"]["metadata"] == {"title": "Report"}
    assert len({a["uri"] for a in out.values()}) == 7
    for name in ("dataset", "model", "blob", "report", "page"):
        uri = out[name]["uri"]
        assert Path(uri[len("file://"):] if uri.startswith("file://") else uri).is_file(), (name, uri)
    succeeded(r)
    assert json.loads(r.out("consume"))["metrics"] == "system.Metrics"
    assert r.outputs["Output"] == r.out("consume")


def test_importer_of_a_path_given_at_run_time(workdir: Path, tmp_path: Path) -> None:
    source = tmp_path / "input data.txt"
    source.write_text("imported ünï\nline 2\n", encoding="utf-8")
    r = succeeded(run("importer", workdir, f"uri={source}", "label=from-param"))
    imported = r.out("importer", "artifact")
    assert imported["uri"] == str(source)
    assert imported["metadata"] == {"source": "e2e", "label": "from-param"}
    seen = json.loads(r.out("read"))
    assert seen["content"] == "imported ünï\nline 2\n"
    assert seen["metadata"] == {"source": "e2e", "label": "from-param"}
    assert json.loads(r.outputs["Output"]) == seen


def test_importer_of_a_file_uri(workdir: Path, tmp_path: Path) -> None:
    source = tmp_path / "data.csv"
    source.write_text("a,b\n1,2\n")
    r = succeeded(run("importer", workdir, f"uri={source.as_uri()}"))
    assert r.out("importer", "artifact")["uri"] == source.as_uri()
    seen = json.loads(r.out("read"))
    assert seen["content"] == "a,b\n1,2\n"
    assert seen["metadata"] == {"source": "e2e", "label": "fixture"}


def test_nested_pipelines_with_outputs(workdir: Path) -> None:
    r = succeeded(run("nested_pipeline", workdir, "start=5"))
    assert r.out("inner/add") == 15 and is_int(r.out("inner/add"))
    assert r.out("inner-2/add") == 16
    assert r.out("inner/write", "out")["metadata"] == {"value": 15}
    assert r.out("inner-2/write", "out")["metadata"] == {"value": 16}
    assert r.out("read") == 16
    assert r.outputs == {"final": 16, "read_back": 16}
    assert is_int(r.outputs["final"]) and is_int(r.outputs["read_back"])


# -- failures ------------------------------------------------------------------------------------


def test_exit_handler_sees_the_failure(workdir: Path) -> None:
    r = run("exit_handler", workdir, "message=boom on purpose")
    assert r.code == 1 and r.state == "FAILED", r.explain()
    assert r.task("exit-handler-1/ok")["state"] == "SUCCEEDED"
    assert r.task("exit-handler-1/fail")["state"] == "FAILED"
    assert r.task("exit-handler-1/ok-2")["state"] == "NOT_RUN"
    status = r.out("cleanup")
    assert status["state"] == "FAILED", status
    assert status["task"] == "exit-handler-1", status
    assert status["error_message"], status
    assert "boom on purpose" in r.log_of("exit-handler-1/fail")


def test_ignore_upstream_failure(workdir: Path) -> None:
    r = run("ignore_upstream_failure", workdir)
    assert r.code == 1 and r.state == "FAILED", r.explain()
    assert r.task("fail-with-output")["state"] == "FAILED"
    assert r.out("report") == "report: upstream produced nothing"
    assert r.task("report-2")["state"] == "NOT_RUN"


def test_retry_succeeds_on_the_second_attempt(workdir: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    r = succeeded(run("retry", workdir, f"state_dir={state}"))
    assert r.out("flaky") == 2 and is_int(r.out("flaky"))
    assert (state / "attempts").read_text() == "2"
    assert r.out("after") == "succeeded after 2 attempts"
    assert r.outputs == {"Output": "succeeded after 2 attempts"}
    assert "attempt 1 fails on purpose" in r.log_of("flaky")


def test_cache_hit_on_the_second_run(workdir: Path) -> None:
    first = succeeded(run("cache", workdir))
    second = succeeded(run("cache", workdir))
    assert second.out("stamp") == first.out("stamp")
    assert second.out("suffix") == first.out("suffix") == first.out("stamp") + "-seen"
    assert second.out("stamp-2") != first.out("stamp-2")  # caching disabled for this task
    assert first.run_dir != second.run_dir
    for path in ("stamp", "suffix"):
        flag = second.task(path).get("cached")
        if flag is not None:
            assert flag is True
        assert "cache hit" in second.log_of(path), second.log_of(path)
        assert "cache hit" not in first.log_of(path)
    assert "cache hit" not in second.log_of("stamp-2")
    # another input value misses; --no-cache ignores the cache
    other = succeeded(run("cache", workdir, "seed=b"))
    assert other.out("stamp").startswith("b-") and "cache hit" not in other.log_of("stamp")
    fresh = succeeded(run("cache", workdir, extra=("--no-cache",)))
    assert fresh.out("stamp") != first.out("stamp")


# -- containers and hostile values ---------------------------------------------------------------


def test_container_components_placeholders(workdir: Path) -> None:
    r = succeeded(run("container_components", workdir, "name=Ada"))
    assert r.out("argv", "text") == "Hello, Ada!\n--suffix\nEsq.\nmode=with\n"
    assert r.out("argv-2", "text") == "Hello, Ada!\n--no-suffix\nmode=without\n"
    assert r.out("argv", "count") == 4 and is_int(r.out("argv", "count"))
    assert r.out("argv-2", "count") == 3 and is_int(r.out("argv-2", "count"))
    assert r.out("cat", "copy") == "Hello, Ada! --suffix Esq. mode=with"
    assert r.out("cat-2", "copy") == "Hello, Ada! --no-suffix mode=without"


def test_hostile_strings_arrive_byte_for_byte(workdir: Path) -> None:
    r = succeeded(run("hostile_strings", workdir, f"value={HOSTILE}"))
    assert r.out("echo-py") == HOSTILE  # lightweight component, from the parameter
    assert r.out("echo-py-2") == HOSTILE  # lightweight component, compile-time constant
    assert r.out("echo-sh", "out") == HOSTILE  # container argv, from the parameter
    assert r.out("echo-sh-2", "out") == HOSTILE  # container argv, compile-time constant


# -- bad input: exit 2, one line on stderr, nothing runs -----------------------------------------


def _one_line_error(r: Run, *words: str) -> None:
    assert r.code == 2, r.explain()
    assert r.stdout.strip() == "", r.stdout
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected a one-line message, got:\n{r.stderr}"
    assert lines[0].startswith("kfp-driver:"), lines
    assert "Traceback" not in r.stderr
    for word in words:
        assert word in lines[0], lines
    assert not (r.workdir / "runs").exists() or not any((r.workdir / "runs").iterdir())


def test_missing_required_parameter(workdir: Path) -> None:
    _one_line_error(run("hostile_strings", workdir), "value")


@pytest.mark.parametrize("fixture, params, words", [
    ("conditions", ("n=abc",), ("'n'", "abc")),
    ("conditions", ("n=7.5",), ("'n'",)),
    ("conditions", ("n=7", "loud=maybe"), ("'loud'", "maybe")),
    ("types_arithmetic", ("xs=notjson",), ("'xs'",)),
    ("types_arithmetic", ("cfg=[1, 2]",), ("'cfg'",)),
    ("types_arithmetic", ("x=fast",), ("'x'",)),
])
def test_wrong_typed_parameter(workdir: Path, fixture: str, params: tuple[str, ...], words: tuple[str, ...]) -> None:
    _one_line_error(run(fixture, workdir, *params), *words)


def test_unknown_parameter(workdir: Path) -> None:
    _one_line_error(run("conditions", workdir, "n=7", "lowd=true"), "lowd")
