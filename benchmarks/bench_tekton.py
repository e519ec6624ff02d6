"""Tekton target: pods, custom objects, manifest bytes and compile time, against kfp-tekton's outputs.

    python benchmarks/bench_tekton.py [--json] [--runs 5]

For every pipeline in ``../shared/conformance/upstream-tekton`` that has both its IR and the PipelineRun the
kfp-tekton v2 compiler produced for it, one function per measure is applied to both manifests:

(a) executor pods per run, each loop body counted once (kfp-tekton unrolls nothing; a matrix or an unrolled
    static loop of ours counts one pod per IR task): ours = pipeline tasks with an inline ``taskSpec`` of
    steps; upstream = its ``KFPTask`` custom tasks (each starts one executor TaskRun);
(b) custom-task objects the run needs (kinds outside ``tekton.dev``: ``KFPDriver``, ``KFPTask``,
    ``PipelineLoop``, ...), each reconciled by a controller that stock Tekton does not have;
(c) manifest bytes (YAML as ``kfp-driver compile --target tekton`` writes it vs the upstream file);
(d) compile time of the whole IR corpus for Tekton in one process vs C-YAML load + dump of the same files
    (best of N after a warm-up); refused files count in the time, as a user would pay it.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO)]

from driver.errors import KfpDriverError  # noqa: E402
from driver.output import render  # noqa: E402
from driver.plan import load_plan  # noqa: E402
from translators.options import CompileOptions  # noqa: E402
from translators.tekton import compile_pipeline_run  # noqa: E402

CONFORMANCE = REPO.parent / "shared" / "conformance"
UPSTREAM_DIR = CONFORMANCE / "upstream-tekton"
IR_DIR = CONFORMANCE / "kfp-ir"
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
INDEX = re.compile(r"\[\d+\]")


def pairs() -> Iterator[tuple[str, Path, Path]]:
    """(name, IR, upstream PipelineRun) for every upstream output whose IR is in the corpus or beside it."""
    for upstream in sorted(UPSTREAM_DIR.glob("*.yaml")):
        if upstream.stem.endswith("_ir"):
            continue
        for ir in (UPSTREAM_DIR / f"{upstream.stem}_ir.yaml", IR_DIR / upstream.name):
            if ir.exists():
                yield upstream.stem, ir, upstream
                break


def walk_tasks(node: Any) -> Iterator[dict[str, Any]]:
    """Every pipeline task at any depth (upstream nests pipelines inside custom-task specs)."""
    if isinstance(node, dict):
        for key in ("tasks", "finally"):
            for task in node.get(key) or []:
                if isinstance(task, dict) and "name" in task:
                    yield task
        for value in node.values():
            yield from walk_tasks(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk_tasks(item)


def custom_kind(task: dict[str, Any]) -> str | None:
    ref = task.get("taskRef") or {}
    spec = task.get("taskSpec") or {}
    for holder in (ref, spec):
        api = str(holder.get("apiVersion", ""))
        if api and not api.startswith("tekton.dev"):
            return str(holder.get("kind", "?"))
    return None


def our_pods(manifest: dict[str, Any]) -> int:
    paths = set()
    for task in walk_tasks(manifest):
        if (task.get("taskSpec") or {}).get("steps"):
            annotations = (task.get("taskSpec", {}).get("metadata") or {}).get("annotations") or {}
            paths.add(INDEX.sub("", annotations.get("kfp-driver.io/task-path", task["name"])))
    return len(paths)


def upstream_pods(manifest: dict[str, Any]) -> int:
    return sum(1 for task in walk_tasks(manifest) if custom_kind(task) == "KFPTask")


def custom_objects(manifest: dict[str, Any]) -> dict[str, int]:
    kinds: dict[str, int] = {}
    for task in walk_tasks(manifest):
        kind = custom_kind(task)
        if kind:
            kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


def compile_text(ir: Path) -> str:
    return render(compile_pipeline_run(load_plan(ir), CompileOptions()), "yaml")


def best_of(runs: int, function) -> float:
    function()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def corpus_compile() -> None:
    for path in sorted(IR_DIR.iterdir()):
        try:
            compile_text(path)
        except KfpDriverError:
            pass


def corpus_yaml() -> None:
    for path in sorted(IR_DIR.iterdir()):
        for document in yaml.load_all(path.read_text(encoding="utf-8"), Loader=LOADER):
            yaml.dump(document, Dumper=DUMPER)


def measure(runs: int) -> dict[str, Any]:
    rows = []
    for name, ir, upstream_file in pairs():
        text = compile_text(ir)
        ours = yaml.load(text, Loader=LOADER)
        upstream = yaml.load(upstream_file.read_text(encoding="utf-8"), Loader=LOADER)
        rows.append({"pipeline": name, "pods": our_pods(ours), "upstream_pods": upstream_pods(upstream),
                     "custom_objects": sum(custom_objects(ours).values()),
                     "upstream_custom_objects": custom_objects(upstream),
                     "bytes": len(text.encode()), "upstream_bytes": upstream_file.stat().st_size})
    compile_s, yaml_s = best_of(runs, corpus_compile), best_of(runs, corpus_yaml)
    totals = {key: sum(row[key] for row in rows) for key in ("pods", "upstream_pods", "bytes", "upstream_bytes")}
    totals["upstream_custom_objects"] = sum(sum(row["upstream_custom_objects"].values()) for row in rows)
    return {"rows": rows, "totals": totals, "compile_s": compile_s, "yaml_s": yaml_s}


def report(result: dict[str, Any]) -> str:
    lines = ["| pipeline | pods (ours / kfp-tekton) | custom-task objects (ours / kfp-tekton) | bytes (ours / kfp-tekton) |",
             "|---|---:|---:|---:|"]
    for row in result["rows"]:
        upstream_custom = sum(row["upstream_custom_objects"].values())
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(row["upstream_custom_objects"].items()))
        lines.append(f"| {row['pipeline']} | {row['pods']} / {row['upstream_pods']} | {row['custom_objects']} / "
                     f"{upstream_custom} ({kinds}) | {row['bytes']:,} / {row['upstream_bytes']:,} |")
    t = result["totals"]
    lines.append(f"| **total** | {t['pods']} / {t['upstream_pods']} | 0 / {t['upstream_custom_objects']} | "
                 f"{t['bytes']:,} / {t['upstream_bytes']:,} (**{t['bytes'] / t['upstream_bytes']:.2f}**) |")
    lines.append("")
    lines.append(f"Compile time, all {len(list(IR_DIR.iterdir()))} corpus files for Tekton in one process: "
                 f"{result['compile_s']:.2f} s vs C-YAML load+dump {result['yaml_s']:.2f} s "
                 f"(**{result['compile_s'] / result['yaml_s']:.2f}x**)")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    result = measure(args.runs)
    print(json.dumps(result, indent=1) if args.json else report(result))


if __name__ == "__main__":
    main()
