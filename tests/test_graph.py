"""``kfp-driver graph``: the drawing model, Mermaid and dot text, images, and a local run's states."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from driver.cli import main
from driver.debug.graph import GraphOptions, build_graph
from driver.debug.render import dot_text, mermaid_text, to_dot, to_mermaid
from driver.plan import load_plan
from tests import irbuild as ir
from tests.conftest import CORPUS, ROOT, corpus_files
from tests.golden.cases import GOLDEN_CASES

HOSTILE = "it's \"q\" <b>#1</b> [x] {y} |z| `id` \\n\nnext ünï 🙂 end"
DOT = shutil.which("dot")
MERMAID_MAX_TEXT, MERMAID_MAX_EDGES = 50_000, 500
"""Mermaid's default ``maxTextSize`` and ``maxEdges``: above them a viewer refuses to draw the diagram."""
MERMAID_LINE = re.compile(
    r'^(---|title: ".*"|flowchart TB|end'
    r'|n\d+(\["|\[/"|\(\["|\{\{"|\[\[")[^"]*("\]|"/\]|"\]\)|"\}\}|"\]\])'
    r'|subgraph cn\d+\["[^"]*"\]'
    r'|n\d+ (-->|-\.->|==>)(\|"[^"|]*"\|)? n\d+|n\d+ ~~~ n\d+'
    r'|classDef s\d+ fill:#[0-9a-f]{6},stroke:#555|class (n\d+,)*n\d+ s\d+)$')


def golden(case: str) -> Path:
    return CORPUS / GOLDEN_CASES[case]


def assert_mermaid_syntax(text: str) -> None:
    """Every line is one of the statements the renderer emits, with user text only inside quotes."""
    for line in text.splitlines():
        assert MERMAID_LINE.match(line.strip()), line


def test_every_corpus_file_graphs_expanded_and_collapsed() -> None:
    for path in corpus_files():
        plan = load_plan(path)
        tasks = len(plan.walk())
        for expand in (True, False):
            graph = build_graph(plan, GraphOptions(expand=expand))
            covered = [p for _, data in graph.nodes(data=True) for p in data["paths"]]
            assert sorted(covered) == sorted(n.path for n in plan.walk()), path.name
            if expand:
                assert graph.number_of_nodes() == tasks
            assert_mermaid_syntax(to_mermaid(graph))
            assert to_dot(graph).count("{") == to_dot(graph).count("}")


def test_exit_handler_edge_and_cluster() -> None:
    graph = build_graph(load_plan(golden("exit-handler")))
    by_path = {data["paths"][0]: node for node, data in graph.nodes(data=True)}
    handler, exit_op = by_path["exit-handler-1"], by_path["exit-op"]
    assert graph.nodes[handler]["kind"] == "exit-handler"
    assert graph.edges[handler, exit_op] == {"style": "exit", "names": {"status"}, "links": 1,
                                             "label": "on exit: status"}
    cluster = graph.nodes[handler]["cluster"]
    assert graph.nodes[by_path["exit-handler-1/fail-op"]]["cluster"] == cluster
    assert graph.graph["clusters"][cluster]["kind"] == "exit-handler"
    mermaid = to_mermaid(graph)
    assert f'{handler} ==>|"on exit: status"| {exit_op}' in mermaid and f"subgraph {cluster}[" in mermaid


def test_conditions_loops_and_collapsing() -> None:
    plan = load_plan(golden("conditions"))
    expanded = build_graph(plan, GraphOptions(expand=True))
    kinds = [data["kind"] for _, data in expanded.nodes(data=True)]
    assert kinds.count("condition") == 10 and kinds.count("loop") == 2
    labels = {data["paths"][0]: data["label"] for _, data in expanded.nodes(data=True)}
    assert labels["for-loop-1/condition-2"] == ["condition-2", "if add_drumroll == true"]
    collapsed = build_graph(plan, GraphOptions(expand=False))
    assert collapsed.number_of_nodes() == 2
    loop = next(data for _, data in collapsed.nodes(data=True) if data["kind"] == "loop")
    assert loop["label"] == ["for-loop-1", "for each in trials", "[26 tasks inside]"]
    assert [data["label"] for _, _, data in collapsed.edges(data=True)] == ["int-0-to-9999-Output→ints"]
    # the default: expanded, as the pipeline has at most 40 tasks
    assert build_graph(plan).number_of_nodes() == expanded.number_of_nodes()
    parallel = build_graph(load_plan(golden("loop-parallelism")))
    assert any("for each in loop_parameter, parallelism 2" in data["label"] for _, data in parallel.nodes(data=True))


def test_nested_pipeline_is_a_cluster_with_its_data_edge() -> None:
    graph = build_graph(load_plan(golden("nested-pipeline")))
    assert list(graph.graph["clusters"].values()) == [{"label": "inner-pipeline", "kind": "dag", "parent": None}]
    assert [data["label"] for _, _, data in graph.edges(data=True)] == ["Output→msg"]


def test_escaping_for_each_syntax() -> None:
    assert mermaid_text('a"b#c<d>&e`f|g\nh') == "a#quot;b#35;c#lt;d#gt;#amp;e#96;f#124;g\\nh"
    assert dot_text('a"b\\c\nd ü') == 'a\\"b\\\\c\\\\nd ü'


def hostile_pipeline(tmp_path: Path) -> Path:
    comp = ir.container_component("echo", ["sh", "-c", "echo"], inputs={f"{HOSTILE}-in": "STRING", "p": "STRING"},
                                  outputs={"Output": "STRING"})
    tasks = {HOSTILE: ir.task("echo", name=HOSTILE, params={f"{HOSTILE}-in": ir.constant("v"), "p": ir.constant("1")}),
             "b": ir.task("echo", name="b\nline2", after=[HOSTILE], condition="inputs.parameter_values['p'] == '<\"|#\\'`'",
                          params={f"{HOSTILE}-in": ir.output_of(HOSTILE), "p": ir.constant("x")})}
    return ir.write(ir.pipeline("hostile \"pipe\" ü", {"echo": comp}, tasks), tmp_path / "hostile.yaml")


def test_hostile_names_stay_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = hostile_pipeline(tmp_path)
    assert main(["graph", str(path)]) == 0
    mermaid = capsys.readouterr().out
    assert_mermaid_syntax(mermaid)
    assert "ünï 🙂 end" in mermaid and "#lt;b#gt;#35;1" in mermaid and "|z|" not in mermaid
    assert main(["graph", str(path), "--format", "dot"]) == 0
    dot = capsys.readouterr().out
    assert 'label="it\'s \\"q\\" <b>#1</b> [x] {y} |z| `id` \\\\n\\\\nnext ünï 🙂 end"' in dot
    if DOT is None:
        pytest.skip("Graphviz 'dot' is not installed (apt-get install graphviz): cannot check the dot syntax")
    svg = subprocess.run([DOT, "-Tsvg"], input=dot.encode(), capture_output=True, check=True).stdout.decode()
    assert "ünï 🙂 end" in svg and "&lt;b&gt;#1&lt;/b&gt;" in svg


def test_500_task_pipeline_stays_readable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks.synthetic import dump_ir, synthetic_ir

    path = tmp_path / "synthetic.yaml"
    path.write_text(dump_ir(synthetic_ir(500)))
    assert main(["graph", str(path)]) == 0
    mermaid = capsys.readouterr().out
    assert_mermaid_syntax(mermaid)
    nodes = len(re.findall(r"^  n\d+\(\[", mermaid, re.M))
    edges = len(re.findall(r"^  n\d+ -", mermaid, re.M))
    # one node per stage (tasks at the same depth): a column, not a 500-node hairball, and far below
    # the limits at which Mermaid refuses to draw
    assert 10 <= nodes <= 40 and edges < MERMAID_MAX_EDGES / 2 and len(mermaid) < MERMAID_MAX_TEXT / 4
    assert "stage 1: " in mermaid and " links" in mermaid
    assert main(["graph", str(path), "--expand", "--format", "dot"]) == 0
    assert capsys.readouterr().out.count("shape=box") == 500


@pytest.mark.parametrize("suffix, magic", [(".svg", b"<?xml"), (".png", b"\x89PNG")])
def test_images_through_graphviz(suffix: str, magic: bytes, tmp_path: Path) -> None:
    if DOT is None:
        pytest.skip("Graphviz 'dot' is not installed (apt-get install graphviz)")
    target = tmp_path / f"graph{suffix}"
    assert main(["graph", str(golden("conditions")), "-o", str(target)]) == 0
    assert target.read_bytes().startswith(magic)


def test_missing_graphviz_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert main(["graph", str(golden("simple")), "-o", str(tmp_path / "g.svg")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "apt-get install graphviz" in err
    assert not (tmp_path / "g.svg").exists()
    assert main(["graph", str(golden("simple")), "--format", "png"]) == 2
    assert "-o FILE.png" in capsys.readouterr().err


def test_run_states_and_durations(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    components = {"fail": ir.container_component("fail", ["sh", "-c", "exit 3"]),
                  "ok": ir.container_component("ok", ["sh", "-c", "true"]),
                  "cleanup": ir.container_component("cleanup", ["sh", "-c", "true"])}
    handler = {"dag": {"tasks": {"fail": ir.task("fail"), "ok": ir.task("ok")}}}
    tasks = {"exit-handler-1": {**ir.task("exit-handler-1"), "componentRef": {"name": "comp-exit-handler-1"}},
             "cleanup": {**ir.task("cleanup", after=["exit-handler-1"]),
                         "triggerPolicy": {"strategy": "ALL_UPSTREAM_TASKS_COMPLETED"}},
             "after-fail": ir.task("ok", name="after-fail", after=["exit-handler-1"])}
    path = ir.write(ir.pipeline("states", components, tasks, extra_components={"comp-exit-handler-1": handler}),
                    tmp_path / "states.yaml")
    workdir = tmp_path / "work"
    code = "import sys; from driver.cli import main; sys.exit(main())"
    done = subprocess.run([sys.executable, "-c", code, "run", str(path), "--quiet", "--workdir", str(workdir)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 1, done.stderr
    assert main(["graph", str(path), "--run", str(workdir), "--format", "dot"]) == 0
    dot = capsys.readouterr().out
    states = dict(re.findall(r'label="([\w-]+)\\n(?:[^"]*\\n)?(failed|succeeded|not run)', dot))
    assert states == {"fail": "failed", "ok": "succeeded", "cleanup": "succeeded", "after-fail": "not run",
                      "exit-handler-1": "failed"}
    assert re.search(r'label="ok\\nsucceeded \d+\.\ds"', dot)
    assert 'fillcolor="#ef9a9a"' in dot and 'fillcolor="#e0e0e0"' in dot
    run_dir = next((workdir / "runs").iterdir())
    assert main(["graph", "--run", str(run_dir)]) == 0  # the IR: the run's own copy
    out = capsys.readouterr().out
    assert f"(run {run_dir.name})" in out and "after-fail<br>not run" in out
    assert main(["graph", str(path), "--run", str(tmp_path)]) == 2
    assert "no local run here" in capsys.readouterr().err
