"""Wall time of ``kfp-driver run --engine argo|tekton`` against ``--engine local``, same pipelines, same run.

    python benchmarks/bench_engines.py [--engines local,argo,tekton] [--runs 3] [--only NAME...] [--json]

Each pipeline (e2e fixtures under ``tests/e2e/ir`` and the bundled example) runs through the CLI as a user
would (``run IR --engine E --json --quiet --no-cache``, a fresh work directory per run) once per engine as
a warm-up (builds the harness and the task virtualenvs if needed; not timed), then ``--runs`` times per
engine, interleaved; the table gives the best time per engine and its ratio to local. Every timed run must
end with the warm-up's exit code, or the benchmark stops: a time of a broken run means nothing.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
E2E = REPO / "tests" / "e2e" / "ir"
ENGINES = ("local", "argo", "tekton")
# Only the subcommand this script uses, so a sibling command module being edited cannot break it.
CLI = "import sys, driver.cli as c; c.COMMANDS = ('run',); sys.exit(c.main())"


@dataclass(frozen=True)
class Case:
    name: str
    ir: Path
    params: tuple[str, ...] = ()
    label: str = ""


CASES = (
    Case("hello", REPO / "examples" / "hello-pipeline.yaml", ("name=Ada",), "2 tasks"),
    Case("container_components", E2E / "container_components.yaml", ("name=Ada",), "placeholders"),
    Case("conditions", E2E / "conditions.yaml", ("n=12", "loud=true"), "If/Elif/Else, nested"),
    Case("loop_static_list", E2E / "loop_static_list.yaml", (), "static items, parallelism 2"),
    Case("loop_task_output", E2E / "loop_task_output.yaml", (), "task-output items, Collected"),
    Case("loop_nested_collected", E2E / "loop_nested_collected.yaml", (), "nested loops, Collected"),
    Case("exit_handler", E2E / "exit_handler.yaml", (), "failing body, exit task"),
    Case("nested_pipeline", E2E / "nested_pipeline.yaml", ("start=5",), "pipeline in pipeline"),
)


def run_once(case: Case, engine: str, workdir: Path) -> tuple[int, float, str]:
    """Exit code, wall seconds and the last stderr line of one CLI run in a fresh work directory."""
    shutil.rmtree(workdir, ignore_errors=True)
    argv = [sys.executable, "-c", CLI, "run", str(case.ir), "--engine", engine, "--json", "--quiet", "--no-cache",
            "--workdir", str(workdir)]
    for param in case.params:
        argv += ["--param", param]
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, encoding="utf-8", errors="replace",
                          timeout=600)
    seconds = time.perf_counter() - started
    return done.returncode, seconds, (done.stderr.strip().splitlines() or [""])[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="local,argo,tekton", help="comma-separated; local always runs")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per pipeline and engine (best is kept)")
    parser.add_argument("--only", nargs="+", default=[], metavar="NAME", choices=[c.name for c in CASES])
    parser.add_argument("--json", action="store_true", help="print the measurements as JSON")
    args = parser.parse_args()
    engines = tuple(dict.fromkeys(["local"] + [e.strip() for e in args.engines.split(",") if e.strip()]))
    if any(e not in ENGINES for e in engines):
        parser.error(f"--engines: choose from {', '.join(ENGINES)}")
    if len(engines) > 1 and shutil.which("go") is None:
        parser.error("the argo/tekton engines need Go (https://go.dev/dl/); run with --engines local")
    cases = [c for c in CASES if not args.only or c.name in args.only]
    rows = []
    with tempfile.TemporaryDirectory(prefix="kfp-bench-engines-") as tmp:
        for case in cases:
            row: dict[str, object] = {"pipeline": case.name, "what": case.label, "params": list(case.params)}
            expected: dict[str, int] = {}
            for engine in engines:  # warm-up
                code, _, last = run_once(case, engine, Path(tmp) / engine)
                expected[engine] = code
                if code not in (0, 1):
                    row[engine] = {"refused": last.removeprefix("kfp-driver: ")}
            timed = [e for e in engines if e not in row]
            best = dict.fromkeys(timed, float("inf"))
            for _ in range(args.runs):
                for engine in timed:
                    code, seconds, last = run_once(case, engine, Path(tmp) / engine)
                    if code != expected[engine]:
                        sys.exit(f"bench_engines: {case.name} on {engine} exited {code} (warm-up {expected[engine]}): "
                                 f"{last}")
                    best[engine] = min(best[engine], seconds)
            for engine in timed:
                row[engine] = {"seconds": round(best[engine], 3), "exit": expected[engine]}
            states = {expected[e] for e in timed}
            row["same exit code"] = len(states) == 1
            rows.append(row)
            print(f"{case.name}: " + ", ".join(f"{e} {_cell(row[e])}" for e in engines), file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps({"runs": args.runs, "engines": list(engines), "pipelines": rows}, indent=1))
    else:
        print(table(rows, engines, args.runs))
    return 0


def _cell(entry: object) -> str:
    assert isinstance(entry, dict)
    return f"{entry['seconds']:.2f} s" if "seconds" in entry else "refused at compile time"


def table(rows: list[dict], engines: tuple[str, ...], runs: int) -> str:
    others = [e for e in engines if e != "local"]
    head = ["pipeline", "what"] + [f"`--engine {e}`" for e in engines] + [f"{e} / local" for e in others]
    lines = [f"Best of {runs} after a warm-up, wall time of the CLI (`run --json --quiet --no-cache`).", "",
             "| " + " | ".join(head) + " |", "|---|---|" + "---:|" * (len(engines) + len(others))]
    for row in rows:
        cells = [row["pipeline"], row["what"]] + [_cell(row[e]) for e in engines]
        local = row["local"].get("seconds")
        for engine in others:
            seconds = row[engine].get("seconds")
            cells.append(f"{seconds / local:.1f}×" if seconds and local else "—")
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
