"""Local runner at scale: an N-task fan-out of no-op container tasks (``ParallelFor`` over a static list), run in a
fresh process per size; prints wall time, per-task overhead and the runner's peak RSS (its own, not the
launchers'), so that memory staying flat from 100 to 1,000 tasks shows it is bounded. The 10,000-item manifest
size is ``bench_argo.py``'s ``bench_loops`` (reused here, not measured twice).

    python benchmarks/bench_scale.py [--tasks 100 1000] [--parallelism 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RUNNER = """
import json, resource, sys, time
from pathlib import Path


def peak_rss_mb():
    # VmHWM is this process image's own peak; ru_maxrss would keep the peak of the (forked) parent
    # from before exec, e.g. a large test process
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


from driver.local.model import RunOptions
from driver.local.runner import LocalRunner
from driver.plan import load_plan
spec, workdir, parallelism = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
plan = load_plan(spec)
started = time.monotonic()
result = LocalRunner(plan, RunOptions(workdir=workdir, parallelism=parallelism, cache=False, stream_logs=False)).run({})
print(json.dumps({"state": result.state.value, "seconds": time.monotonic() - started,
                  "tasks": sum(1 for r in result.tasks.values() if r.attempts),
                  "peak_rss_mb": peak_rss_mb()}))
"""


def fanout(tasks: int) -> dict:
    """IR: one ParallelFor over ``tasks`` static items of a no-op container task."""
    body = {"dag": {"tasks": {"noop": {"componentRef": {"name": "comp-noop"}, "taskInfo": {"name": "noop"}}}},
            "inputDefinitions": {"parameters": {"item": {"parameterType": "NUMBER_INTEGER"}}}}
    return {
        "pipelineInfo": {"name": f"fanout-{tasks}"}, "schemaVersion": "2.1.0", "sdkVersion": "kfp-2.14.3",
        "components": {"comp-noop": {"executorLabel": "exec-noop"}, "comp-for-loop-1": body},
        "deploymentSpec": {"executors": {"exec-noop": {"container": {"image": "alpine:3.20", "command": ["true"]}}}},
        "root": {"dag": {"tasks": {"for-loop-1": {
            "componentRef": {"name": "comp-for-loop-1"}, "taskInfo": {"name": "for-loop-1"},
            "parameterIterator": {"itemInput": "item", "items": {"raw": json.dumps(list(range(tasks)))}}}}}},
    }


def run_fanout(tasks: int, parallelism: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="kfp-scale-") as tmp:
        spec = Path(tmp) / "fanout.json"
        spec.write_text(json.dumps(fanout(tasks)))
        done = subprocess.run([sys.executable, "-c", RUNNER, str(spec), str(Path(tmp) / "work"), str(parallelism)],
                              capture_output=True, text=True, cwd=ROOT, check=True)
    row = json.loads(done.stdout.strip().splitlines()[-1])
    row["per_task_ms"] = row["seconds"] * 1000 * parallelism / max(row["tasks"], 1)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--parallelism", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    print(f"| no-op tasks | state | wall time | per-task cost (wall × parallelism {args.parallelism} / tasks) "
          "| runner peak RSS |\n|---:|---|---:|---:|---:|")
    for count in args.tasks:
        row = run_fanout(count, args.parallelism)
        print(f"| {row['tasks']:,} | {row['state']} | {row['seconds']:.1f} s | {row['per_task_ms']:.0f} ms "
              f"| {row['peak_rss_mb']:.0f} MB |", flush=True)
    from benchmarks.bench_argo import bench_loops
    from translators.options import CompileOptions

    for loop in bench_loops(CompileOptions()):
        print(f"ParallelFor, {loop['loop']}, {loop['items']:,} items: manifest {loop['manifest_bytes']:,} bytes")


if __name__ == "__main__":
    main()
