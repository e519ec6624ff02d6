"""Corpus conformance on the three engines: every corpus IR on ``--engine local``, then ``argo`` and ``tekton``.

    python benchmarks/engine_conformance.py [--engines local,argo,tekton] [--only NAME...] [--jobs 2]
                                            [--timeout 180] [--output docs/engine-conformance.md] [--json]

For each IR file of ``../shared/conformance/kfp-ir`` (sorted):

1. ``kfp-driver run IR --engine local --json`` with the IR's defaults and a per-run timeout. A run that
   cannot happen on this machine (a parameter without a default, a command the image would provide, a
   package only the image has, network, cloud services, GPUs, over the timeout) is "cannot run here", with
   the reason taken from the error line or the failed tasks' logs. A run that fails for its own reasons
   (e.g. a component that raises on purpose) counts as run: the engines must fail the same way.
2. The same run on every other engine, in a fresh work directory. Exit 2 where ``kfp-driver compile
   --target ENGINE`` also exits 2 is "refused at compile time" (the translator's one-line refusal).
3. Comparison with the local run: exit code, run state, pipeline outputs, and every task's state and outputs
   by IR task path (artifact URIs and run ids are run-scoped and left out; importers, which have no pod on
   the engines, are compared only where the engine lists them). On a difference the local run is repeated
   (up to ``--reruns`` times): an engine result equal to one of those runs passes; one that differs only in
   values that change between local runs, or (when random values pick different branches in the local runs
   themselves) ends in the same state, is "nondeterministic"; anything else "differed".

At most ``--jobs`` runs are under way at once (one file's engines run one after another); task virtualenvs
are shared through ``~/.cache/kfp-driver/envs``. Work directories are kept under ``--workdir`` for
inspection (default: a fresh temporary directory, removed at the end).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "conformance" / "kfp-ir"
ENGINES = ("local", "argo", "tekton")
# Only the subcommands this script uses, so a sibling command module being edited cannot break it.
CLI = "import sys, driver.cli as c; c.COMMANDS = ('compile', 'run'); sys.exit(c.main())"

# (reason, pattern over the failed tasks' logs), first match wins.
ENVIRONMENT = [
    ("shell the image provides (bash as sh)", re.compile(r"Illegal option -o pipefail")),
    ("command the image provides", re.compile(
        r"([\w.+-]+): (?:command )?not found\s*$|"
        r"No such file or directory: '([\w.+-]+)'|exec: \"?([\w./+-]+)\"?: executable file not found", re.M)),
    ("a path only the pod's volumes provide", re.compile(r"No such file or directory: '(/(?!tmp/)[^']+)'")),
    ("Python package the image provides", re.compile(r"No module named '?([\w.]+)'?")),
    ("network", re.compile(r"Could not resolve host|Name or service not known|Temporary failure in name "
                           r"resolution|Failed to establish a new connection|Network is unreachable|"
                           r"ConnectionError|urlopen error")),
    ("cloud service", re.compile(r"DefaultCredentialsError|google\.auth|NoCredentialsError|Generic GCS error|"
                                 r"computeMetadata|Unable to locate credentials|credentials were not found")),
    ("GPU", re.compile(r"nvidia-smi|CUDA|NVIDIA", re.I)),
    ("package index", re.compile(r"could not pip install ([\w.-]+)|No matching distribution found|"
                                 r"Could not find a version that satisfies")),
]


@dataclass
class Run:
    """One ``kfp-driver run`` invocation."""

    engine: str
    code: int
    summary: dict[str, Any] | None
    seconds: float
    message: str = ""
    """Last ``kfp-driver:`` line of stderr (or the timeout)."""
    workdir: str = ""
    stderr: str = ""
    """The end of stderr, for classifying a failure."""


@dataclass
class EngineResult:
    verdict: str
    """local: ran | cannot run here; others: passed | differed | nondeterministic | refused | not run."""
    detail: str = ""
    seconds: float = 0.0
    differences: list[str] = field(default_factory=list)


@dataclass
class FileResult:
    name: str
    engines: dict[str, EngineResult]


# -- running --------------------------------------------------------------------------------------------


LIVE: set[int] = set()
"""Process groups of the runs under way, ended if this script is interrupted."""


def run_cli(ir: Path, engine: str, workdir: Path, timeout: float, parallelism: int) -> Run:
    argv = [sys.executable, "-c", CLI, "run", str(ir), "--engine", engine, "--json", "--quiet",
            "--workdir", str(workdir), "--parallelism", str(parallelism)]
    started = time.perf_counter()
    process = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               encoding="utf-8", errors="replace", start_new_session=True)
    LIVE.add(process.pid)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return Run(engine, -1, None, time.perf_counter() - started, f"timed out after {timeout:.0f} s",
                   str(workdir))
    finally:
        LIVE.discard(process.pid)
    seconds = time.perf_counter() - started
    try:
        summary = json.loads(stdout) if stdout.strip() else None
    except json.JSONDecodeError:
        summary = None
    lines = [line for line in stderr.splitlines() if line.startswith("kfp-driver:")
             and "images are not pulled" not in line]
    message = lines[-1] if lines else (stderr.strip().splitlines() or [""])[-1]
    return Run(engine, process.returncode, summary, seconds, message[:400], str(workdir), stderr[-4000:])


def compile_refusal(ir: Path, engine: str) -> str:
    """The translator's refusal for ``engine`` (exit 2 of ``compile``), or ''."""
    done = subprocess.run([sys.executable, "-c", CLI, "compile", str(ir), "--target", engine, "-o", os.devnull],
                          cwd=REPO, capture_output=True, text=True, encoding="utf-8", errors="replace")
    if done.returncode != 2:
        return ""
    lines = [line for line in done.stderr.splitlines() if line.startswith("kfp-driver:")]
    return " / ".join(lines)[:600]


# -- classifying the local run ------------------------------------------------------------------------------


def cannot_run_here(run: Run) -> str:
    """Why the local run shows this machine cannot run the pipeline, or '' (it ran, maybe failing on its own)."""
    if run.code == -1:
        return run.message
    if run.code == 2 or run.summary is None:
        if re.search(r"no value|missing|required", run.message, re.I):
            return f"needs a parameter without a default ({run.message.removeprefix('kfp-driver: ')})"
        return f"exit {run.code}: {run.message}"
    if run.code == 0:
        return ""
    text = run.stderr + "\n" + failed_task_logs(run)
    for reason, pattern in ENVIRONMENT:
        match = pattern.search(text)
        if match:
            what = next((g for g in match.groups() if g), "") if match.groups() else ""
            return f"{reason}: {what}" if what else f"{reason} ({match.group(0).strip()[:80]})"
    return ""


def failed_task_logs(run: Run) -> str:
    assert run.summary is not None
    logs = Path(run.workdir) / "runs" / run.summary.get("run_id", "") / "logs"
    text = []
    for path, task in run.summary.get("tasks", {}).items():
        if task["state"] == "FAILED":
            log = logs / (re.sub(r"\[(\d+)\]", r"_\1", path) + ".log")
            if log.is_file():
                text.append(log.read_text(encoding="utf-8", errors="replace"))
    return "\n".join(text)


# -- comparing ------------------------------------------------------------------------------------------------


def comparable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: comparable(v) for k, v in value.items() if k not in ("uri", "run_id")}
    if isinstance(value, list):
        return [comparable(v) for v in value]
    return value


def flatten(run: Run, importers: set[str], keep: set[str] | None = None) -> dict[str, Any]:
    """``key -> value`` for every compared fact; importer tasks only where ``keep`` lists them."""
    summary = comparable(run.summary or {})
    facts: dict[str, Any] = {"exit code": run.code, "state": summary.get("state"),
                             "outputs": summary.get("outputs")}
    for path, task in summary.get("tasks", {}).items():
        if task_name(path) in importers and keep is not None and f"task {path}" not in keep:
            continue
        facts[f"task {path}"] = task["state"]
        for name, value in task.get("outputs", {}).items():
            facts[f"task {path} output {name}"] = value
    return facts


def task_name(path: str) -> str:
    return re.sub(r"\[\d+\]$", "", path.rsplit("/", 1)[-1])


def differences(local: dict[str, Any], other: dict[str, Any]) -> dict[str, str]:
    out = {}
    for key in sorted(set(local) | set(other)):
        if key not in other:
            out[key] = f"{key}: only on local ({short(local[key])})"
        elif key not in local:
            out[key] = f"{key}: only on this engine ({short(other[key])})"
        elif local[key] != other[key]:
            out[key] = f"{key}: local {short(local[key])}, this engine {short(other[key])}"
    return out


def short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 120 else text[:117] + "..."


def importer_tasks(ir: Path) -> set[str]:
    """Names of the IR tasks whose component is an importer."""
    text = ir.read_text(encoding="utf-8")
    spec = json.loads(text) if ir.suffix == ".json" else next(yaml.safe_load_all(text))
    spec = spec.get("pipelineSpec", spec)
    executors = spec.get("deploymentSpec", {}).get("executors", {})
    importer_components = {name for name, component in spec.get("components", {}).items()
                           if "importer" in executors.get(component.get("executorLabel", ""), {})}
    dags = [spec.get("root", {})] + list(spec.get("components", {}).values())
    return {task for dag in dags for task, body in (dag.get("dag") or {}).get("tasks", {}).items()
            if body.get("componentRef", {}).get("name") in importer_components}


# -- one file -----------------------------------------------------------------------------------------------


@dataclass
class Settings:
    engines: tuple[str, ...]
    workdir: Path
    timeout: float
    engine_timeout: float
    parallelism: int
    reruns: int


def check_file(ir: Path, settings: Settings) -> FileResult:
    name = ir.name
    base = settings.workdir / ir.stem
    local = run_cli(ir, "local", base / "local", settings.timeout, settings.parallelism)
    reason = cannot_run_here(local)
    results = {"local": EngineResult("cannot run here" if reason else "ran", reason or state_line(local),
                                     local.seconds)}
    others = [engine for engine in settings.engines if engine != "local"]
    if reason:
        for engine in others:
            refusal = compile_refusal(ir, engine)
            results[engine] = (EngineResult("refused", refusal) if refusal
                               else EngineResult("not run", "cannot run here"))
        return FileResult(name, results)
    importers = importer_tasks(ir)
    reruns: list[Run] = []
    for engine in others:
        timeout = max(settings.engine_timeout, 3 * local.seconds + 30)  # a slow pipeline is slow everywhere
        run = run_cli(ir, engine, base / engine, timeout, settings.parallelism)
        refusal = compile_refusal(ir, engine) if run.code == 2 else ""
        if refusal:
            results[engine] = EngineResult("refused", refusal, run.seconds)
            continue
        results[engine] = compare(local, run, importers, reruns, lambda k: run_cli(
            ir, "local", base / f"local-rerun-{k}", settings.timeout, settings.parallelism), settings.reruns)
    return FileResult(name, results)


def compare(local: Run, run: Run, importers: set[str], reruns: list[Run], rerun: Any, limit: int) -> EngineResult:
    facts = flatten(run, importers)
    found = differences(flatten(local, importers, set(facts)), facts)
    if not found:
        return EngineResult("passed", state_line(run), run.seconds)
    unstable: set[str] = set()
    for index in range(limit):
        if index == len(reruns):
            reruns.append(rerun(index + 1))
        again = reruns[index]
        if not differences(flatten(again, importers, set(facts)), facts):
            return EngineResult("passed", f"{state_line(run)}; matches local rerun {index + 1} "
                                f"(the pipeline's results vary between runs)", run.seconds)
        for earlier in [local] + reruns[:index]:
            unstable |= set(differences(flatten(earlier, importers), flatten(again, importers)))
    detail = state_line(run) + (f"; {run.message}" if run.code not in (0, 1) or run.summary is None else "")
    branches = any(key.startswith("task ") and " output " not in key for key in unstable)
    if set(found) <= unstable or (branches and not {"exit code", "state"} & set(found)):
        # Only values that change between local runs differ, or random values choose different branches in
        # every local run: an engine result with the same end state is listed, not counted as a difference.
        return EngineResult("nondeterministic", detail, run.seconds, list(found.values()))
    return EngineResult("differed", detail, run.seconds, [found[k] for k in found if k not in unstable])


def state_line(run: Run) -> str:
    if run.summary is None:
        return f"exit {run.code}: {run.message}"
    tasks = run.summary.get("tasks", {})
    counts: dict[str, int] = {}
    for task in tasks.values():
        counts[task["state"]] = counts.get(task["state"], 0) + 1
    states = ", ".join(f"{n} {s.lower()}" for s, n in sorted(counts.items()))
    return f"{run.summary.get('state')} ({states or 'no tasks'})"


# -- report -----------------------------------------------------------------------------------------------


COLUMNS = ("ran", "passed", "differed", "nondeterministic", "refused", "cannot run here")


def counts(results: list[FileResult], engine: str) -> dict[str, int]:
    row = dict.fromkeys(COLUMNS, 0)
    for result in results:
        verdict = result.engines[engine].verdict
        if verdict in ("passed", "differed", "nondeterministic"):
            row["ran"] += 1
        if verdict in row and verdict != "ran":
            row[verdict] += 1
        if engine == "local" and verdict == "ran":
            row["ran"] += 1
        if engine != "local" and verdict == "not run":
            row["cannot run here"] += 1
    return row


def table(results: list[FileResult], engines: tuple[str, ...]) -> str:
    lines = ["| engine | IR files | ran | passed (= local) | differed | nondeterministic | refused at compile "
             "time | cannot run here | run time |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for engine in engines:
        row = counts(results, engine)
        seconds = sum(r.engines[engine].seconds for r in results)
        passed = "—" if engine == "local" else row["passed"]
        differed = "—" if engine == "local" else row["differed"]
        nondet = "—" if engine == "local" else row["nondeterministic"]
        lines.append(f"| {engine} | {len(results)} | {row['ran']} | {passed} | {differed} | {nondet} | "
                     f"{row['refused']} | {row['cannot run here']} | {seconds:.0f} s |")
    return "\n".join(lines)


def markdown(results: list[FileResult], engines: tuple[str, ...], command: str) -> str:
    parts = [HEADER.format(command=command), table(results, engines), "", "## Per file", ""]
    parts.append("| IR file | " + " | ".join(engines) + " |")
    parts.append("|---|" + "---|" * len(engines))
    for result in results:
        cells = [cell(result.engines[engine]) for engine in engines]
        parts.append(f"| `{result.name}` | " + " | ".join(cells) + " |")
    notes = [(result.name, engine, result.engines[engine]) for result in results for engine in engines
             if result.engines[engine].verdict in ("differed", "nondeterministic", "refused", "cannot run here")]
    if notes:
        parts += ["", "## Details", ""]
        for name, engine, outcome in notes:
            parts.append(f"- `{name}` on {engine}: **{outcome.verdict}**: {escape(outcome.detail)}")
            parts += [f"  - {escape(line)}" for line in outcome.differences[:12]]
            if len(outcome.differences) > 12:
                parts.append(f"  - ... {len(outcome.differences) - 12} more")
    return "\n".join(parts) + "\n"


def cell(outcome: EngineResult) -> str:
    if outcome.verdict in ("passed", "ran"):
        return f"{outcome.verdict} {outcome.seconds:.1f} s"
    return outcome.verdict


def escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


ANALYSIS = "<!-- analysis: written by hand, kept when the report is regenerated -->"
HEADER = """# Corpus conformance on the engines (`--engine local|argo|tekton`)

Every pipeline of the shared corpus (`../shared/conformance/kfp-ir`, 152 compiled KFP v2 IR files) is run
with its defaults on `kfp-driver run --engine local`, then on Argo's and Tekton's own controller code
(`--engine argo|tekton`, docs/engines.md), and each engine's result is compared with the local one: exit
code, run state, pipeline outputs, and every task's state and outputs by IR task path (artifact URIs and
run ids are run-scoped and not compared; importers, which have no pod on the engines, only where the
engine lists them).

- **ran**: the engine executed the pipeline (for `local`: this machine can run it).
- **passed**: identical to the local run (or to a repeated local run, for a pipeline whose results vary,
  e.g. a coin flip).
- **differed**: a difference from every local run; the per-file details list it.
- **nondeterministic**: differs only in values that also change between local runs (random values,
  run-scoped paths), or random values pick different branches in the local runs themselves and the engine
  ended in the same state; its differences are listed but not counted.
- **refused at compile time**: the translator's one-line refusal of a feature the engine cannot express
  (the expected result).
- **cannot run here**: the local run shows this machine cannot run it (a parameter without a default, a
  tool or Python package only the image has, network, cloud credentials, GPUs, longer than the per-run
  timeout); the engines are not tried.

Reproduce (about 15 minutes on 2 busy cores; needs Go for the harnesses, built on first use):

    {command}

"""


# -- main ---------------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="local,argo,tekton", help="comma-separated; local always runs")
    parser.add_argument("--only", nargs="+", default=[], metavar="NAME", help="IR file names or stems")
    parser.add_argument("--jobs", type=int, default=2, help="runs under way at once (default 2)")
    parser.add_argument("--parallelism", type=int, default=2, help="tasks at once within a run (default 2)")
    parser.add_argument("--timeout", type=float, default=180, help="seconds per local run (default 180)")
    parser.add_argument("--engine-timeout", type=float, default=90,
                        help="seconds per argo/tekton run, at least 3x the local run + 30 (default 90)")
    parser.add_argument("--reruns", type=int, default=3, help="local reruns when an engine differs (default 3)")
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="folder of IR files")
    parser.add_argument("--workdir", type=Path, help="keep the runs' work directories here")
    parser.add_argument("-o", "--output", type=Path,
                        help="write the Markdown report here, keeping a hand-written analysis after the marker "
                             "line (default: stdout)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    args = parser.parse_args()
    engines = tuple(dict.fromkeys(["local"] + [e.strip() for e in args.engines.split(",") if e.strip()]))
    unknown = [e for e in engines if e not in ENGINES]
    if unknown:
        parser.error(f"unknown engine {unknown[0]!r} (choose from {', '.join(ENGINES)})")
    if len(engines) > 1 and shutil.which("go") is None:
        parser.error("the argo/tekton engines need Go (https://go.dev/dl/); run with --engines local")
    files = sorted(p for p in args.corpus.iterdir() if p.suffix in (".yaml", ".json"))
    if args.only:
        wanted = set(args.only)
        files = [p for p in files if p.name in wanted or p.stem in wanted]
        missing = wanted - {p.name for p in files} - {p.stem for p in files}
        if missing:
            parser.error(f"not in {args.corpus}: {', '.join(sorted(missing))}")
    workdir = args.workdir.resolve() if args.workdir else Path(tempfile.mkdtemp(prefix="kfp-engine-conformance-"))
    settings = Settings(engines, workdir, args.timeout, args.engine_timeout, args.parallelism, args.reruns)
    started = time.perf_counter()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the runs under way are ended below
    try:
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            results = []
            for result in pool.map(lambda ir: check_file(ir, settings), files):
                results.append(result)
                verdicts = ", ".join(f"{e} {result.engines[e].verdict}" for e in engines)
                print(f"[{len(results)}/{len(files)} {time.perf_counter() - started:.0f}s] {result.name}: {verdicts}",
                      file=sys.stderr, flush=True)
    finally:
        for group in list(LIVE):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    command = "python benchmarks/engine_conformance.py --engines " + ",".join(engines) + (
        " --only " + " ".join(args.only) if args.only else "") + (f" -o {args.output}" if args.output else "")
    report = markdown(results, engines, command)
    if args.output:
        kept = args.output.read_text(encoding="utf-8").partition(ANALYSIS)[2] if args.output.is_file() else ""
        args.output.write_text(report + (f"\n{ANALYSIS}{kept}" if kept else ""), encoding="utf-8")
    if args.json:
        print(json.dumps({"engines": list(engines), "seconds": round(time.perf_counter() - started, 1),
                          "counts": {e: counts(results, e) for e in engines},
                          "files": [{"name": r.name, **{e: asdict(o) for e, o in r.engines.items()}}
                                    for r in results]}, indent=1, ensure_ascii=False))
    elif not args.output:
        print(report)
    else:
        print(table(results, engines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
