"""Local runner vs the KFP SDK's own local runner (``kfp.local``, SubprocessRunner), same pipelines, same run.

Needs ``kfp`` importable next to kfp-driver (``pip install kfp``); both sides run the identical pipeline
functions in lightweight Python components. kfp.local gets its fastest setting (``use_venv=False``: tasks run
in this interpreter, nothing installed); kfp-driver builds its task virtualenv once (warm-up, not timed).

    python benchmarks/bench_local.py [--tasks 10] [--seconds 0.5] [--runs 3]
"""

# no ``from __future__ import annotations``: the KFP SDK reads the components' real annotations
import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

try:
    from kfp import compiler, dsl, local
except ImportError:  # pragma: no cover - the benchmark's own precondition
    sys.exit("bench_local.py needs the KFP SDK: pip install kfp")


@dsl.component
def work(seconds: float, index: int) -> int:
    """One unit of work: sleep, then return an integer."""
    import time

    time.sleep(seconds)
    return index


@dsl.component
def noop() -> int:
    return 0


def fan_out(tasks: int, seconds: float):
    @dsl.pipeline(name=f"fan-out-{tasks}")
    def pipeline():
        for index in range(tasks):
            work(seconds=seconds, index=index).set_caching_options(False)

    return pipeline


def single_noop():
    @dsl.pipeline(name="single-noop")
    def pipeline():
        noop().set_caching_options(False)

    return pipeline


def time_kfp_local(pipeline, workdir: Path) -> float:
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(workdir / "kfp-local"))
    started = time.perf_counter()
    pipeline()
    return time.perf_counter() - started


def time_kfp_driver(pipeline, workdir: Path) -> float:
    ir = workdir / f"{pipeline.name}.yaml"
    compiler.Compiler().compile(pipeline, str(ir))
    command = [sys.executable, "-c", "import sys; from driver.cli import main; sys.exit(main())", "run", str(ir),
               "--workdir", str(workdir / "kfp-driver"), "--no-cache", "--quiet", "--json"]
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - started


def best(fn, runs: int) -> float:
    return min(fn() for _ in range(runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=0.5)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        cases = [(f"{args.tasks} independent tasks, {args.seconds}s each", fan_out(args.tasks, args.seconds)),
                 ("one no-op task (per-task overhead)", single_noop())]
        time_kfp_driver(cases[1][1], workdir)  # warm-up: builds the task virtualenv once
        print("| pipeline | kfp.local (SubprocessRunner) | kfp-driver run | ratio |")
        print("|---|---:|---:|---:|")
        for label, pipeline in cases:
            theirs = best(lambda: time_kfp_local(pipeline, workdir), args.runs)
            ours = best(lambda: time_kfp_driver(pipeline, workdir), args.runs)
            print(f"| {label} | {theirs:.2f} s | {ours:.2f} s | {ours / theirs:.2f} |")


if __name__ == "__main__":
    main()
