"""Launcher overhead for a no-op task with the local file store, against bare interpreter start.

    python benchmarks/bench_launcher.py [--runs 30] [--built]

Each case is a fresh process, as on a cluster; the baseline (``python -c pass``) is measured in the same
run and the launcher's overhead is reported beyond it (target: < 100 ms). The task has one input
parameter, one output parameter and one output artifact, and writes them with ``sh``. ``--built`` also
measures the PyInstaller binary and the zipapp (hack/build-launcher.py; built once, cached).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SPEC = {"v": 1, "image": "x", "command": ["sh", "-c", 'echo "$0" > "$1"; echo data > "$2"'],
        "args": [{"concat": [{"ph": "inputValue", "name": "n"}]}, {"concat": [{"ph": "outputParameterFile", "name": "m"}]},
                 {"concat": [{"ph": "outputPath", "name": "a"}]}],
        "inputs": {"parameters": {"n": {"type": "NUMBER_INTEGER"}}},
        "outputs": {"parameters": {"m": {"type": "NUMBER_INTEGER"}}, "artifacts": {"a": {"schemaTitle": "system.Artifact"}}}}


def timed(argv: list[str], runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--built", action="store_true", help="also the built binary and zipapp")
    args = parser.parse_args()
    # bytecode as an installed package (or the built binary) has it, even under PYTHONDONTWRITEBYTECODE
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "launcher")], check=True)
    work = Path(tempfile.mkdtemp(prefix="bench-launcher-"))
    options = ["--spec", json.dumps(SPEC), "--run-id", "bench", "--param", "n=1", "--pipeline-root", str(work / "root")]

    def task(i: int, *extra: str, launcher: tuple[str, ...] = (sys.executable, "-m", "launcher")) -> list[str]:
        return [*launcher, *options, "--task-path", f"t{i}", "--output-root", f"{work}/root/t{i}",
                "--outputs-dir", f"{work}/o{i}", *extra]

    counter = iter(range(10**9))
    cases = {
        "python -c pass (baseline)": lambda: [sys.executable, "-c", "pass"],
        "sh -c true (the task alone)": lambda: ["sh", "-c", "true"],
        "launcher, no records": lambda: task(next(counter)),
        "launcher + sqlite record": lambda: task(next(counter), "--records", f"sqlite:///{work}/records.db"),
        "launcher + record + cache miss": lambda: task(next(counter), "--records", f"sqlite:///{work}/records.db",
                                                        "--cache", "--param", f"n={next(counter)}"),
    }
    if args.built:
        built = subprocess.run([sys.executable, str(REPO / "hack" / "build-launcher.py")], check=True,
                               capture_output=True, text=True).stdout.split()
        binary, zipapp = (next(p for p in built if p.endswith(suffix)) for suffix in ("kfp-launcher", ".pyz"))
        cases["system python3 -c pass"] = lambda: ["/usr/bin/python3", "-c", "pass"]
        cases["zipapp (system python3)"] = lambda: task(next(counter), launcher=("/usr/bin/python3", zipapp))
        cases["binary (PyInstaller onefile)"] = lambda: task(next(counter), launcher=(binary,))
    results = {}
    for name, make in cases.items():
        samples = []
        for _ in range(args.runs):
            samples += timed(make(), 1)
        results[name] = statistics.median(samples)
    baseline = results["python -c pass (baseline)"]
    print(f"{'case':36} {'median ms':>10} {'beyond python start':>20}")
    for name, median in results.items():
        print(f"{name:36} {median:10.1f} {median - baseline:20.1f}")
    worst = max(v for k, v in results.items() if k.startswith("launcher")) - baseline
    print(f"\nlauncher overhead beyond interpreter start: {worst:.1f} ms (target < 100 ms): "
          f"{'OK' if worst < 100 else 'OVER'}")
    if args.built:
        system = results["system python3 -c pass"]
        print(f"zipapp beyond the system interpreter's start: {results['zipapp (system python3)'] - system:.1f} ms; "
              f"binary in all (unpacks itself on every start): {results['binary (PyInstaller onefile)']:.1f} ms")


if __name__ == "__main__":
    main()
