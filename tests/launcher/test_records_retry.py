"""Record sinks, the cache key, and the retry policy, in process."""

from __future__ import annotations

import json
import sqlite3
import threading

import pytest

from launcher.cache import cache_key
from launcher.errors import NotFound, RecordError, StoreError
from launcher.records import SqliteSink, StoreSink, open_sink
from launcher.retry import RetryCounter, RetryPolicy, with_retries
from launcher.stores import StoreConfig, Stores
from launcher.stores.base import Transfers
from tests.launcher.test_placeholders import make_ctx


def record(n: int) -> dict:
    return {"run_id": "r", "task_path": "a/b[1]", "attempt": n, "state": "SUCCEEDED", "exit_code": 0,
            "cache": {"hit": False, "key": None}, "component_digest": "sha256:x", "started_at": 1.0,
            "finished_at": 2.0, "error": None}


def test_sqlite_sink_takes_concurrent_writers(tmp_path):
    sink = open_sink(f"sqlite:///{tmp_path}/db/records.db", Stores(StoreConfig(), None))
    assert isinstance(sink, SqliteSink)
    threads = [threading.Thread(target=lambda i=i: [sink.write(record(i * 10 + k)) for k in range(5)]) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rows = sqlite3.connect(tmp_path / "db" / "records.db").execute("SELECT attempt, record FROM executions").fetchall()
    assert sorted(r[0] for r in rows) == sorted(i * 10 + k for i in range(4) for k in range(5))
    assert json.loads(rows[0][1])["task_path"] == "a/b[1]"


def test_store_sink_never_overwrites(tmp_path):
    sink = open_sink(str(tmp_path / "records"), Stores(StoreConfig(), None))
    assert isinstance(sink, StoreSink)
    sink.write(record(1))
    sink.write(record(1))
    assert len(list((tmp_path / "records" / "a" / "b[1]").glob("attempt-1-*.json"))) == 2


def test_unwritable_sink_names_the_target(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(RecordError, match="cannot write"):
        open_sink(str(tmp_path / "file" / "records"), Stores(StoreConfig(), None)).write(record(1))


def test_cache_key_covers_what_determines_outputs(tmp_path):
    base = make_ctx(tmp_path / "a")
    for items in base.inputs.values():
        for artifact in items:
            artifact.digest = "sha256:1"
    key = cache_key(base)
    other_run = make_ctx(tmp_path / "b", extra=["--run-id", "another"])
    for items in other_run.inputs.values():
        for artifact in items:
            artifact.digest = "sha256:1"
    assert cache_key(other_run) == key  # run id, task path and URIs do not matter
    base.params["n"] = 4
    assert cache_key(base) != key
    base.params["n"] = 3
    base.inputs["data"][0].digest = "sha256:2"
    assert cache_key(base) != key


# ---------------------------------------------------------------------------------------------


def test_backoff_is_exponential_capped_and_jittered():
    policy = RetryPolicy(attempts=10, base_delay=0.5, max_delay=4.0)
    for retry, cap in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (8, 4.0)]:
        delays = [policy.delay(retry) for _ in range(200)]
        assert all(0 <= d <= cap for d in delays) and max(delays) > cap / 2


def test_retries_transient_errors_only():
    counter, slept, said = RetryCounter(), [], []
    calls = iter([StoreError("s3://b/k: HTTP 503", retryable=True), StoreError("s3://b/k: timed out", retryable=True), "ok"])

    def flaky():
        outcome = next(calls)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    policy = RetryPolicy(attempts=5, base_delay=1.0)
    assert with_retries(flaky, policy=policy, what="upload s3://b/k", counter=counter, say=said.append,
                        sleep=slept.append) == "ok"
    assert counter.retries == 2 and len(slept) == 2 and "503" in said[0]

    def missing():
        raise NotFound("s3://b/k: not found")

    with pytest.raises(NotFound):
        with_retries(missing, policy=policy, what="x", counter=counter, say=said.append, sleep=slept.append)
    assert counter.retries == 2  # not retried

    def down():
        raise StoreError("s3://b/k: connection refused", retryable=True)

    with pytest.raises(StoreError, match=r"connection refused \(gave up after 5 tries\)"):
        with_retries(down, policy=policy, what="x", counter=counter, say=said.append, sleep=slept.append)
    assert counter.retries == 6


def test_transfers_share_one_counter():
    transfers = Transfers(RetryPolicy(attempts=2, base_delay=0), RetryCounter(), lambda _: None)

    def fail():
        raise StoreError("e", retryable=True)

    for _ in range(2):
        with pytest.raises(StoreError):
            transfers.run(fail, "op")
    assert transfers.counter.retries == 2
