"""The launcher end to end against the real S3 server: inputs downloaded, outputs uploaded, records and
cache entries in the store, with either S3 client."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from launcher.retry import RetryCounter, RetryPolicy
from launcher.stores import StoreConfig, Stores
from launcher.stores.base import Transfers
from tests.launcher.conftest import ACCESS_KEY, BUCKET, SECRET_KEY, launch
from tests.launcher.test_container import ARTIFACT_SPEC
from tests.launcher.test_lightweight import SPEC as LIGHTWEIGHT_SPEC

pytestmark = pytest.mark.s3


def _stores(s3) -> Stores:
    config = StoreConfig(endpoint=s3.endpoint, access_key=ACCESS_KEY, secret_key=SECRET_KEY)
    return Stores(config, Transfers(RetryPolicy(), RetryCounter(), print))


def _seed_inputs(s3, tmp_path: Path, prefix: str) -> list[str]:
    stores = _stores(s3)
    (tmp_path / "seed" / "folder").mkdir(parents=True)
    (tmp_path / "seed" / "data.txt").write_text("head\n")
    (tmp_path / "seed" / "folder" / "part").write_text("tail\n")
    stores.for_uri(prefix).upload(tmp_path / "seed" / "data.txt", f"{prefix}/in/data.txt")
    stores.for_uri(prefix).upload(tmp_path / "seed" / "folder", f"{prefix}/in/folder")
    return ["--artifact", f"data={prefix}/in/data.txt", "--artifact", f"folder={prefix}/in/folder"]


@pytest.mark.parametrize("client", ["obstore", "stdlib"])
def test_container_component_on_s3(s3, tmp_path, client):
    prefix = f"minio://{BUCKET}/e2e-{client}-{os.urandom(3).hex()}"
    inputs = _seed_inputs(s3, tmp_path, prefix)
    env = {**s3.env(), "KFP_S3_CLIENT": client}
    extra = [*inputs, "--mount-root", str(tmp_path / "mnt"), "--records", f"{prefix}/records", "--cache"]
    first = launch(ARTIFACT_SPEC, tmp_path, env=env, root=prefix, run_id="r1", extra=extra)
    assert first.code == 0, first.stderr
    joined = first.artifact("joined")
    assert joined["uri"] == f"{prefix}/r1/task/joined" and joined["size"] == 10
    stores = _stores(s3)
    stores.for_uri(prefix).download(joined["uri"], tmp_path / "joined")
    assert (tmp_path / "joined").read_text() == "head\ntail\n"
    stores.for_uri(prefix).download(first.artifact("tree")["uri"], tmp_path / "tree")
    assert (tmp_path / "tree" / "inner").read_text() == "x\n"
    listing = stores.for_uri(prefix).list(f"{prefix.split('/', 3)[3]}/records/task/")
    [record] = [json.loads(stores.for_uri(prefix).read_bytes(f"minio://{BUCKET}/{info.key}")) for info in listing]
    assert record["state"] == "SUCCEEDED" and record["metrics"]["artifact_bytes_in"] == 10
    # a bare-URI reference has no digest: the cache key uses the store's identity of the object
    assert [a["digest"][:5] for a in record["inputs"]["artifacts"]["data"]] == ["etag:"]
    assert SECRET_KEY not in first.stderr

    second = launch(ARTIFACT_SPEC, tmp_path, env=env, root=prefix, run_id="r2", extra=extra)
    assert second.code == 0 and "cache hit" in second.stderr
    assert second.artifact("joined") == joined


@pytest.mark.slow
def test_lightweight_component_on_s3(s3, tmp_path, kfp_bin):
    prefix = f"s3://{BUCKET}/e2e-sdk-{os.urandom(3).hex()}"
    stores = _stores(s3)
    (tmp_path / "seed" / "folder").mkdir(parents=True)
    (tmp_path / "seed" / "data.csv").write_text("1\n2\n")
    (tmp_path / "seed" / "folder" / "x").write_text("")
    stores.for_uri(prefix).upload(tmp_path / "seed" / "data.csv", f"{prefix}/in/data.csv")
    stores.for_uri(prefix).upload(tmp_path / "seed" / "folder", f"{prefix}/in/folder")
    env = {**s3.env(), "PATH": f"{kfp_bin}{os.pathsep}{os.environ['PATH']}"}
    result = launch(LIGHTWEIGHT_SPEC, tmp_path, env=env, root=prefix, extra=[
        "--param", "count=1", "--param", "rate=2", "--param", "text=t",
        "--artifact", f"data={prefix}/in/data.csv", "--artifact", f"folder={prefix}/in/folder",
        "--mount-root", str(tmp_path / "mnt")])
    assert result.code == 0, result.stderr + result.stdout
    assert result.param("total") == "3" and result.param("ratio") == "4.0"
    model = result.artifact("model")
    assert model["uri"] == f"{prefix}/run-1/task/model"
    stores.for_uri(prefix).download(model["uri"], tmp_path / "model")
    assert (tmp_path / "model" / "weights.txt").read_text() == "1:2.0:2:['x']"
