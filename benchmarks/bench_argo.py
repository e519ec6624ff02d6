"""Argo target: pods per run, manifest bytes and compile time, against upstream KFP and plain YAML I/O.

    python benchmarks/bench_argo.py [--json] [--runs 5] [--profile] [--top 15]

Every ratio is measured in this run, against a baseline taken from the same data in the same process:

(a) pods per run, counted statically by one function (``count_pods``) applied identically to our
    manifests and to the upstream KFP manifests in ``../shared/conformance/upstream-argo`` for the same IR
    (target: ours/upstream <= 0.5);
(b) manifest bytes (YAML exactly as ``kfp-driver compile`` writes it vs the upstream files) for the same
    files (target <= 0.5); a synthetic 500-task / 20-component pipeline (target: manifest smaller than the
    IR, and far below the ~1.5 MiB object limit); static vs parameter ParallelFor at 10 and 10,000 items;
(c) compile time of the whole IR corpus in one process (load + check + plan + compile + render) vs
    ``yaml.load`` (CSafeLoader) + ``yaml.dump`` (CSafeDumper) of the same files, best of N wall times after
    one warm-up (target <= 2x); when the target is missed (or with --profile), the cProfile hotspots.

Without --json a Markdown report goes to stdout; with --json one JSON object does instead.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "benchmarks")]

from driver.output import K8S_OBJECT_LIMIT, render  # noqa: E402
from driver.plan import load_plan  # noqa: E402
from translators.argo import compile_workflow  # noqa: E402
from translators.options import CompileOptions  # noqa: E402

import synthetic  # noqa: E402

CONFORMANCE = REPO.parent / "shared" / "conformance"
IR_DIR = CONFORMANCE / "kfp-ir"
UPSTREAM_DIR = CONFORMANCE / "upstream-argo"
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

POD_TARGET = 0.5
BYTES_TARGET = 0.5
TIME_TARGET = 2.0
POD_KINDS = ("container", "script", "resource", "containerSet")
"""Template kinds that run a pod. ``dag``/``steps`` recurse; ``suspend``, ``data``, ``http`` and ``plugin``
run none of their own."""


# -- (a) pods ---------------------------------------------------------------------------------------


@dataclass
class PodCount:
    total: int = 0
    driver: int = 0
    """Pods of templates whose name contains ``driver`` (upstream's DAG/container drivers)."""
    by_template: Counter = field(default_factory=Counter)
    static_loops: int = 0
    """Loops over ``withItems`` (multiplied by their item count, unless ``loops_as_one``)."""
    dynamic_loops: int = 0
    """Loops over ``withParam``/``withSequence``, counted as one iteration."""
    unresolved: list[str] = field(default_factory=list)
    """Calls the walk could not follow (templateRef, unknown template, recursion)."""


def count_pods(manifest: dict, *, loops_as_one: bool = False) -> PodCount:
    """Pods one run of an Argo Workflow starts, counted statically from the manifest.

    Walks from ``spec.entrypoint`` (plus ``spec.onExit`` and ``spec.hooks``). A call (DAG task or steps
    step) of a template with ``container``/``script``/``resource``/``containerSet`` is one pod per
    execution; a call of a ``dag``/``steps`` template recurses. ``withItems`` multiplies by its item count
    (by 1 with ``loops_as_one``); ``withParam`` and ``withSequence`` count as one iteration (the count is
    only known at run time); every ``when`` is assumed true (both branches of an if/else count); a
    call's ``onExit`` and ``hooks`` templates run once per execution of the call. Retries are not counted.
    """
    spec = manifest.get("spec") or {}
    templates = {t["name"]: t for t in spec.get("templates") or []}
    count = PodCount()

    def run(template: dict | None, name: str, times: int, stack: tuple[str, ...]) -> None:
        if template is None:
            count.unresolved.append(f"unknown template {name!r}")
            return
        if name in stack:
            count.unresolved.append(f"recursive template {name!r}")
            return
        if any(kind in template for kind in POD_KINDS):
            count.total += times
            count.by_template[name] += times
            if "driver" in name:
                count.driver += times
            return
        inner = (*stack, name)
        if "dag" in template:
            for task in template["dag"].get("tasks") or []:
                call(task, times, inner)
        elif "steps" in template:
            for group in template["steps"] or []:
                for step in group or []:
                    call(step, times, inner)

    def target(ref: dict) -> tuple[dict | None, str]:
        if "inline" in ref:
            return ref["inline"], f"{ref.get('name', '?')}(inline)"
        if "templateRef" in ref:
            return None, f"templateRef {ref['templateRef']}"
        return templates.get(ref.get("template", "")), ref.get("template", "")

    def call(ref: dict, times: int, stack: tuple[str, ...]) -> None:
        if "withItems" in ref:
            count.static_loops += 1
            times *= 1 if loops_as_one else len(ref["withItems"] or [])
        elif "withParam" in ref or "withSequence" in ref:
            count.dynamic_loops += 1
        run(*target(ref), times, stack)
        for hook in (ref.get("hooks") or {}).values():
            run(*target(hook), times, stack)
        if ref.get("onExit"):
            run(templates.get(ref["onExit"]), ref["onExit"], times, stack)

    entry = spec.get("entrypoint", "")
    run(templates.get(entry), entry, 1, ())
    if spec.get("onExit"):
        run(templates.get(spec["onExit"]), spec["onExit"], 1, ())
    for hook in (spec.get("hooks") or {}).values():
        run(*target(hook), 1, ())
    return count


# -- corpus -----------------------------------------------------------------------------------------


def corpus_files() -> list[Path]:
    return sorted(p for p in IR_DIR.iterdir() if p.suffix in (".yaml", ".yml", ".json"))


def matched_pairs() -> tuple[list[tuple[Path, Path]], list[str]]:
    """(upstream manifest, IR) pairs by the conformance README's rule, and the upstream files left over.

    Upstream ``name.yaml`` belongs to IR ``name.yaml`` if that exists, else to the one IR ``x__name.yaml``.
    """
    by_name = {p.name: p for p in corpus_files()}
    pairs, unmatched = [], []
    for upstream in sorted(UPSTREAM_DIR.glob("*.yaml")):
        if upstream.name in by_name:
            pairs.append((upstream, by_name[upstream.name]))
            continue
        candidates = [p for n, p in by_name.items() if n.endswith("__" + upstream.name)]
        if len(candidates) == 1:
            pairs.append((upstream, candidates[0]))
        else:
            unmatched.append(f"{upstream.name} ({len(candidates)} candidates)")
    return pairs, unmatched


def compile_text(source: Path | str, options: CompileOptions, *, text: str | None = None) -> tuple[dict, str]:
    manifest = compile_workflow(load_plan(source, text=text), options)
    return manifest, render(manifest, "yaml")


def load_yaml(path: Path) -> dict:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=LOADER)


def ratio(a: float, b: float) -> float:
    return a / b if b else float("inf")


def bench_corpus(options: CompileOptions) -> dict:
    pairs, unmatched = matched_pairs()
    rows = []
    for upstream_path, ir_path in pairs:
        manifest, text = compile_text(ir_path, options)
        upstream = load_yaml(upstream_path)
        ours_pods, up_pods = count_pods(manifest), count_pods(upstream)
        ours_flat, up_flat = count_pods(manifest, loops_as_one=True), count_pods(upstream, loops_as_one=True)
        rows.append({
            "ir": ir_path.name, "upstream": upstream_path.name,
            "ir_bytes": ir_path.stat().st_size,
            "ours_bytes": len(text.encode()), "upstream_bytes": upstream_path.stat().st_size,
            "ours_pods": ours_pods.total, "upstream_pods": up_pods.total,
            "ours_driver_pods": ours_pods.driver, "upstream_driver_pods": up_pods.driver,
            "ours_pods_loops_as_one": ours_flat.total, "upstream_pods_loops_as_one": up_flat.total,
            "ours_static_loops": ours_pods.static_loops, "ours_dynamic_loops": ours_pods.dynamic_loops,
            "upstream_static_loops": up_pods.static_loops, "upstream_dynamic_loops": up_pods.dynamic_loops,
            "unresolved": ours_pods.unresolved + [f"upstream: {u}" for u in up_pods.unresolved],
        })

    def total(key: str) -> int:
        return sum(row[key] for row in rows)

    pods = {
        "files": len(rows), "unmatched_upstream": unmatched,
        "ours": total("ours_pods"), "upstream": total("upstream_pods"),
        "ours_driver": total("ours_driver_pods"), "upstream_driver": total("upstream_driver_pods"),
        "ours_loops_as_one": total("ours_pods_loops_as_one"),
        "upstream_loops_as_one": total("upstream_pods_loops_as_one"),
        "ours_static_loops": total("ours_static_loops"), "ours_dynamic_loops": total("ours_dynamic_loops"),
        "upstream_static_loops": total("upstream_static_loops"),
        "upstream_dynamic_loops": total("upstream_dynamic_loops"),
        "unresolved": [f"{row['ir']}: {u}" for row in rows for u in row["unresolved"]],
    }
    pods["ratio"] = ratio(pods["ours"], pods["upstream"])
    pods["ratio_loops_as_one"] = ratio(pods["ours_loops_as_one"], pods["upstream_loops_as_one"])
    for row in rows:
        row["pods_ratio"] = ratio(row["ours_pods"], row["upstream_pods"])
        row["bytes_ratio"] = ratio(row["ours_bytes"], row["upstream_bytes"])
    pods["worst"] = [_pick(row, "ir", "ours_pods", "upstream_pods", "pods_ratio", "ours_pods_loops_as_one",
                           "upstream_pods_loops_as_one")
                     for row in sorted(rows, key=lambda r: (-r["pods_ratio"], r["ir"]))[:6]]
    size = {
        "files": len(rows), "ir": total("ir_bytes"), "ours": total("ours_bytes"), "upstream": total("upstream_bytes"),
        "largest": [_pick(row, "ir", "ours_bytes", "upstream_bytes", "bytes_ratio")
                    for row in sorted(rows, key=lambda r: (-r["ours_bytes"], r["ir"]))[:5]],
        "worst": [_pick(row, "ir", "ours_bytes", "upstream_bytes", "bytes_ratio")
                  for row in sorted(rows, key=lambda r: (-r["bytes_ratio"], r["ir"]))[:5]],
    }
    size["ratio"] = ratio(size["ours"], size["upstream"])
    return {"pods": pods, "bytes": size, "rows": rows}


def _pick(row: dict, *keys: str) -> dict:
    return {key: row[key] for key in keys}


# -- (b) synthetic and loops -------------------------------------------------------------------------


def bench_synthetic(options: CompileOptions, tasks: int = 500, components: int = 20) -> list[dict]:
    results = []
    for label, per_task in (("SDK layout (one comp-/exec- copy per task)", True),
                            ("compact IR (each component once)", False)):
        ir_text = synthetic.dump_ir(synthetic.synthetic_ir(tasks, components, per_task=per_task))
        manifest, text = compile_text(f"synthetic-{tasks}.yaml", options, text=ir_text)
        ir_bytes, out_bytes = len(ir_text.encode()), len(text.encode())
        pods = count_pods(manifest)
        results.append({"ir": label, "tasks": tasks, "components": components, "ir_bytes": ir_bytes,
                        "manifest_bytes": out_bytes, "manifest_over_ir": ratio(out_bytes, ir_bytes),
                        "share_of_limit": out_bytes / K8S_OBJECT_LIMIT, "pods": pods.total,
                        "templates": len(manifest["spec"]["templates"])})
    return results


def bench_loops(options: CompileOptions, counts: Iterable[int] = (10, 10_000)) -> list[dict]:
    results = []
    for static in (True, False):
        for items in counts:
            ir_text = synthetic.dump_ir(synthetic.loop_ir(items, static=static))
            manifest, text = compile_text(f"loop-{items}.yaml", options, text=ir_text)
            results.append({"loop": "static (raw items)" if static else "parameter (producer's list)",
                            "items": items, "ir_bytes": len(ir_text.encode()), "manifest_bytes": len(text.encode()),
                            "share_of_limit": len(text.encode()) / K8S_OBJECT_LIMIT,
                            "pods": count_pods(manifest).total})
    return results


# -- (c) compile time --------------------------------------------------------------------------------


def _ours(files: list[Path], options: CompileOptions) -> None:
    for path in files:
        render(compile_workflow(load_plan(path), options), "yaml")


def _baseline(files: list[Path]) -> None:
    for path in files:
        documents = list(yaml.load_all(path.read_text(encoding="utf-8"), Loader=LOADER))
        yaml.dump_all(documents, Dumper=DUMPER, sort_keys=False, allow_unicode=True, width=4096)


def best_of(fn: Callable[[], None], runs: int) -> tuple[float, list[float]]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return min(samples), samples


def phase_times(files: list[Path], options: CompileOptions, runs: int) -> dict[str, float] | None:
    """Best-of-N seconds of each phase over the corpus (the steps of ``load_plan`` called one by one)."""
    try:
        from driver.checks import check_ir
        from driver.ir import load_ir
        from driver.plan.build import build_plan
    except ImportError:
        return None
    best: dict[str, float] = {}
    for _ in range(runs):
        spent: Counter = Counter()
        for path in files:
            t0 = time.perf_counter()
            documents = list(yaml.load_all(path.read_text(encoding="utf-8"), Loader=LOADER))
            t1 = time.perf_counter()
            yaml.dump_all(documents, Dumper=DUMPER, sort_keys=False, allow_unicode=True, width=4096)
            spent.update({"baseline: yaml.load": t1 - t0, "baseline: yaml.dump": time.perf_counter() - t1})
            t0 = time.perf_counter()
            doc = load_ir(path)
            t1 = time.perf_counter()
            check_ir(doc)
            t2 = time.perf_counter()
            plan = build_plan(doc)
            t3 = time.perf_counter()
            manifest = compile_workflow(plan, options)
            t4 = time.perf_counter()
            render(manifest, "yaml")
            t5 = time.perf_counter()
            spent.update({"load (driver.ir)": t1 - t0, "check (driver.checks)": t2 - t1,
                          "plan (driver.plan)": t3 - t2, "compile (translators.argo)": t4 - t3,
                          "render (YAML)": t5 - t4})
        for phase, seconds in spent.items():
            best[phase] = min(best.get(phase, seconds), seconds)
    return best


def _where(filename: str) -> str:
    """A profiler file name shortened to the project path or the path inside site-packages."""
    path = Path(filename)
    try:
        return str(path.resolve().relative_to(REPO))
    except (ValueError, OSError):
        pass
    parts = path.parts
    if "site-packages" in parts:
        return "/".join(parts[parts.index("site-packages") + 1:])
    return filename if filename.startswith("~") or filename.startswith("<") else path.name


def hotspots(files: list[Path], options: CompileOptions, top: int) -> dict[str, list[dict]]:
    """cProfile of one corpus pass: the top functions by own time, and project functions by cumulative time."""
    profiler = cProfile.Profile()
    profiler.enable()
    _ours(files, options)
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    entries = []
    for (filename, line, name), (_, calls, own, cumulative, _) in stats.items():
        where = f"{_where(filename)}:{line}:{name}" if filename != "~" else name
        entries.append({"function": where, "calls": calls, "own_s": own, "cumulative_s": cumulative,
                        "project": filename.startswith(str(REPO)) and "/benchmarks/" not in filename})
    total = sum(e["own_s"] for e in entries)
    own = sorted(entries, key=lambda e: -e["own_s"])[:top]
    project = sorted((e for e in entries if e["project"]), key=lambda e: -e["cumulative_s"])[:top]
    for entry in own + project:
        entry["share"] = entry["own_s"] / total if total else 0.0
    return {"total_s": total, "by_own_time": own, "project_by_cumulative": project}


def bench_time(options: CompileOptions, runs: int, profile: bool, top: int) -> dict:
    files = corpus_files()
    _ours(files, options)  # warm-up: imports, caches, page cache
    _baseline(files)
    ours_samples: list[float] = []
    base_samples: list[float] = []
    for _ in range(runs):  # interleaved, so drift of the machine hits both alike
        ours_samples += best_of(lambda: _ours(files, options), 1)[1]
        base_samples += best_of(lambda: _baseline(files), 1)[1]
    result = {"files": len(files), "runs": runs, "ours_s": min(ours_samples), "baseline_s": min(base_samples),
              "ours_samples": ours_samples, "baseline_samples": base_samples}
    result["ratio"] = ratio(result["ours_s"], result["baseline_s"])
    result["phases"] = phase_times(files, options, runs)
    if profile or result["ratio"] > TIME_TARGET:
        result["hotspots"] = hotspots(files, options, top)
    return result


# -- report -----------------------------------------------------------------------------------------


def _verdict(value: float, target: float) -> str:
    return "yes" if value <= target else "**no**"


def _kb(n: float) -> str:
    return f"{n / 1024:,.1f} KiB"


def markdown(report: dict) -> str:
    pods, size, syn, loops, timing = (report["pods"], report["bytes"], report["synthetic"], report["loops"],
                                      report["time"])
    out = [f"# Argo benchmark ({report['python']}, PyYAML C: {report['yaml_c']})", ""]
    out += ["## (a) Pods per run (static count, one function for both sides)", "",
            f"Matched files: {pods['files']} (upstream file `name.yaml` <-> IR `name.yaml`, else `x__name.yaml`)"
            + (f"; unmatched upstream: {', '.join(pods['unmatched_upstream'])}" if pods["unmatched_upstream"] else ""),
            "", "| count | ours | upstream | ours/upstream | target | met |", "|---|---:|---:|---:|---:|---|",
            f"| pods per run (rule below) | {pods['ours']:,} | {pods['upstream']:,} | {pods['ratio']:.3f} | "
            f"<= {POD_TARGET} | {_verdict(pods['ratio'], POD_TARGET)} |",
            f"| of which driver pods | {pods['ours_driver']:,} | {pods['upstream_driver']:,} | | | |",
            f"| pods, every loop as 1 iteration (same iterations on both sides) | {pods['ours_loops_as_one']:,} | "
            f"{pods['upstream_loops_as_one']:,} | {pods['ratio_loops_as_one']:.3f} | | |",
            "",
            "Rule: walk from `spec.entrypoint` (+ `spec.onExit`/`spec.hooks`); a call of a "
            "container/script/resource template = 1 pod per execution; DAG/steps templates recurse; "
            "`withItems` multiplies by its item count; **`withParam`/`withSequence` count as 1 iteration**; "
            "every `when` is assumed true; a task's `onExit`/`hooks` count per execution; retries not counted.",
            f"Loops seen: ours {pods['ours_static_loops']} `withItems` + {pods['ours_dynamic_loops']} `withParam`; "
            f"upstream {pods['upstream_static_loops']} `withItems` + {pods['upstream_dynamic_loops']} `withSequence`. "
            "Upstream expands even static loops at run time (`withSequence` from an iteration driver), so under "
            "the rule its static loops count once while ours count every item; the second row removes that bias.",
            ]
    if pods["unresolved"]:
        out += ["", "Calls not followed: " + "; ".join(pods["unresolved"])]
    out += ["", "Worst files (highest ours/upstream):", "",
            "| IR file | ours | upstream | ratio | ours, loops as 1 | upstream, loops as 1 |",
            "|---|---:|---:|---:|---:|---:|"]
    out += [f"| {w['ir']} | {w['ours_pods']} | {w['upstream_pods']} | {w['pods_ratio']:.2f} | "
            f"{w['ours_pods_loops_as_one']} | {w['upstream_pods_loops_as_one']} |" for w in pods["worst"]]

    out += ["", "## (b) Manifest bytes", "",
            "| set | IR | ours | upstream | ours/upstream | target | met |", "|---|---:|---:|---:|---:|---:|---|",
            f"| {size['files']} matched files | {size['ir']:,} | {size['ours']:,} | {size['upstream']:,} | "
            f"{size['ratio']:.3f} | <= {BYTES_TARGET} | {_verdict(size['ratio'], BYTES_TARGET)} |",
            "", "Largest of ours:", "", "| IR file | ours | upstream | ratio |", "|---|---:|---:|---:|"]
    out += [f"| {r['ir']} | {r['ours_bytes']:,} | {r['upstream_bytes']:,} | {r['bytes_ratio']:.2f} |"
            for r in size["largest"]]
    out += ["", "Highest ratio:", "", "| IR file | ours | upstream | ratio |", "|---|---:|---:|---:|"]
    out += [f"| {r['ir']} | {r['ours_bytes']:,} | {r['upstream_bytes']:,} | {r['bytes_ratio']:.2f} |"
            for r in size["worst"]]
    out += ["", f"Synthetic pipeline, {syn[0]['tasks']} tasks over {syn[0]['components']} components "
            f"(`benchmarks/synthetic.py`; limit {K8S_OBJECT_LIMIT:,} bytes):", "",
            "| IR | IR bytes | manifest bytes | manifest/IR | smaller than IR | of 1.5 MiB limit | templates | pods |",
            "|---|---:|---:|---:|---|---:|---:|---:|"]
    out += [f"| {s['ir']} | {s['ir_bytes']:,} | {s['manifest_bytes']:,} | {s['manifest_over_ir']:.3f} | "
            f"{'yes' if s['manifest_bytes'] < s['ir_bytes'] else '**no**'} | {s['share_of_limit']:.1%} | "
            f"{s['templates']} | {s['pods']} |"
            for s in syn]
    out += ["", "ParallelFor, one-task body:", "",
            "| loop | items | IR bytes | manifest bytes | of 1.5 MiB limit | pods (rule) |",
            "|---|---:|---:|---:|---:|---:|"]
    out += [f"| {l['loop']} | {l['items']:,} | {l['ir_bytes']:,} | {l['manifest_bytes']:,} | "
            f"{l['share_of_limit']:.1%} | {l['pods']:,} |" for l in loops]
    param = [l for l in loops if not l["loop"].startswith("static")]
    if len(param) >= 2:
        delta = param[-1]["manifest_bytes"] - param[0]["manifest_bytes"]
        digits = len(str(param[-1]["items"])) - len(str(param[0]["items"]))
        out += ["", f"Parameter loop: {param[0]['items']:,} -> {param[-1]['items']:,} items changes the manifest by "
                f"{delta:+d} bytes (the producer's `count` constant has {digits} more digits; "
                f"{'independent of the item count' if delta == digits else 'DEPENDS on the item count'})."]

    out += ["", f"## (c) Compile time, {timing['files']} IR files in one process (best of {timing['runs']}, "
            "after one warm-up)", "",
            "| pass | seconds | ms/file | ratio | target | met |", "|---|---:|---:|---:|---:|---|",
            f"| baseline: yaml.load(CSafeLoader) + yaml.dump(CSafeDumper) | {timing['baseline_s']:.3f} | "
            f"{1000 * timing['baseline_s'] / timing['files']:.2f} | 1.00 | | |",
            f"| ours: load + check + plan + compile + render | {timing['ours_s']:.3f} | "
            f"{1000 * timing['ours_s'] / timing['files']:.2f} | {timing['ratio']:.2f} | <= {TIME_TARGET} | "
            f"{_verdict(timing['ratio'], TIME_TARGET)} |"]
    if timing.get("phases"):
        ours = {k: v for k, v in timing["phases"].items() if not k.startswith("baseline")}
        whole = sum(ours.values())
        out += ["", "Phases (best of N each, summed over the corpus; share of ours):", "",
                "| phase | seconds | share |", "|---|---:|---:|"]
        out += [f"| {phase} | {seconds:.3f} | {seconds / whole:.0%} |" if phase in ours else
                f"| {phase} | {seconds:.3f} | |" for phase, seconds in timing["phases"].items()]
    if timing.get("hotspots"):
        spots = timing["hotspots"]
        out += ["", f"cProfile of one pass ({spots['total_s']:.2f} s under the profiler). Top by own time:", "",
                "| function (file:line:name) | calls | own s | share | cumulative s |", "|---|---:|---:|---:|---:|"]
        out += [f"| `{e['function']}` | {e['calls']:,} | {e['own_s']:.3f} | {e['share']:.1%} | "
                f"{e['cumulative_s']:.3f} |"
                for e in spots["by_own_time"]]
        out += ["", "Project functions by cumulative time:", "",
                "| function (file:line:name) | calls | own s | cumulative s |", "|---|---:|---:|---:|"]
        out += [f"| `{e['function']}` | {e['calls']:,} | {e['own_s']:.3f} | {e['cumulative_s']:.3f} |"
                for e in spots["project_by_cumulative"]]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of Markdown")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per pass (best is kept); default 5")
    parser.add_argument("--profile", action="store_true", help="profile even when the time target is met")
    parser.add_argument("--top", type=int, default=15, help="hotspots to list")
    parser.add_argument("--rows", action="store_true", help="with --json: include every file's numbers")
    args = parser.parse_args(argv)
    if not IR_DIR.is_dir() or not UPSTREAM_DIR.is_dir():
        print(f"bench_argo: conformance data not found under {CONFORMANCE}", file=sys.stderr)
        return 2

    options = CompileOptions()
    corpus = bench_corpus(options)
    report: dict[str, Any] = {
        "python": sys.version.split()[0], "yaml_c": DUMPER.__name__.startswith("C"),
        "pods": corpus["pods"], "bytes": corpus["bytes"],
        "synthetic": bench_synthetic(options), "loops": bench_loops(options),
        "time": bench_time(options, args.runs, args.profile, args.top),
    }
    if args.json:
        if args.rows:
            report["rows"] = corpus["rows"]
        json.dump(report, sys.stdout, indent=1, default=str)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
