"""Artifact stores by URI scheme. Remote clients are imported only when a remote URI is opened."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Mapping

from launcher.errors import StoreError
from launcher.stores.base import Store, Transfers

REMOTE_SCHEMES = ("s3", "minio", "gs")
MINIO_DEFAULT_ENDPOINT = "http://minio-service.kubeflow:9000"


@dataclass(frozen=True)
class StoreConfig:
    """S3-compatible store settings, from the environment (see ``from_env``); secrets never print."""

    endpoint: str = ""
    region: str = ""
    access_key: str = field(default="", repr=False)
    secret_key: str = field(default="", repr=False)
    session_token: str = field(default="", repr=False)
    client: str = "auto"
    """``obstore``, ``stdlib`` (the pure-Python client) or ``auto`` (obstore when importable)."""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "StoreConfig":
        """``KFP_S3_ENDPOINT`` (or ``AWS_ENDPOINT_URL``), ``AWS_REGION`` (or ``AWS_DEFAULT_REGION``),
        credentials from ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/``AWS_SESSION_TOKEN`` or files
        ``accesskey``/``secretkey``/``sessiontoken`` in ``KFP_S3_CREDENTIALS_DIR`` (a mounted secret);
        ``KFP_S3_CLIENT`` picks the client."""
        secrets = env.get("KFP_S3_CREDENTIALS_DIR", "")

        def secret(var: str, name: str) -> str:
            if env.get(var):
                return env[var]
            path = os.path.join(secrets, name)
            if secrets and os.path.exists(path):
                with open(path, encoding="utf-8") as file:
                    return file.read().strip()
            return ""

        return cls(
            endpoint=env.get("KFP_S3_ENDPOINT") or env.get("AWS_ENDPOINT_URL", ""),
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION", ""),
            access_key=secret("AWS_ACCESS_KEY_ID", "accesskey"),
            secret_key=secret("AWS_SECRET_ACCESS_KEY", "secretkey"),
            session_token=secret("AWS_SESSION_TOKEN", "sessiontoken"),
            client=env.get("KFP_S3_CLIENT", "auto"),
        )

    def endpoint_for(self, scheme: str) -> str:
        if self.endpoint:
            return self.endpoint if "://" in self.endpoint else f"https://{self.endpoint}"
        if scheme == "minio":
            return MINIO_DEFAULT_ENDPOINT
        return f"https://s3.{self.region or 'us-east-1'}.amazonaws.com"

    def scrub(self, text: str) -> str:
        """``text`` with any credential replaced by ``***``."""
        for value in (self.secret_key, self.session_token, self.access_key):
            if value:
                text = text.replace(value, "***")
        return text


def split_uri(uri: str) -> tuple[str, str]:
    """(scheme, bucket) of a remote URI; ("file", "") for ``file://`` and plain paths."""
    scheme, sep, rest = uri.partition("://")
    if not sep or scheme == "file":
        return "file", ""
    if scheme not in REMOTE_SCHEMES:
        raise StoreError(f"{uri}: unsupported scheme {scheme!r} (supported: file://, a path, "
                         f"{', '.join(s + '://' for s in REMOTE_SCHEMES)})")
    bucket = rest.split("/", 1)[0]
    if not bucket:
        raise StoreError(f"{uri}: no bucket in the URI")
    return scheme, bucket


class Stores:
    """Opens (once) the store for each URI's scheme and bucket."""

    def __init__(self, config: StoreConfig, transfers: Transfers) -> None:
        self.config = config
        self.transfers = transfers
        self.opened: dict[tuple[str, str], Store] = {}

    def for_uri(self, uri: str) -> Store:
        key = split_uri(uri)
        store = self.opened.get(key)
        if store is None:
            store = self.opened[key] = self._open(*key)
        return store

    def _open(self, scheme: str, bucket: str) -> Store:
        if scheme == "file":
            from launcher.stores.local import FileStore

            return FileStore()
        client = self.config.client
        if client not in ("auto", "obstore", "stdlib"):
            raise StoreError(f"KFP_S3_CLIENT={client!r}: expected obstore, stdlib or auto")
        if client != "stdlib":
            try:
                from launcher.stores.obstore_s3 import ObstoreStore
            except ImportError:
                if client == "obstore" or scheme == "gs":
                    raise StoreError(f"{scheme}://{bucket}: the obstore package is not installed") from None
            else:
                return ObstoreStore(scheme, bucket, self.config, self.transfers)
        if scheme == "gs":
            raise StoreError(f"gs://{bucket}: GCS needs the obstore package (the pure-Python client speaks S3 only)")
        from launcher.stores.stdlib_s3 import StdlibS3Store

        return StdlibS3Store(scheme, bucket, self.config, self.transfers)
