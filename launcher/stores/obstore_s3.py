"""S3-compatible stores (``s3://``, ``minio://``) and GCS (``gs://``) through the ``obstore`` client.

obstore's own retries are off: every operation goes through the launcher's one retry policy, so each
retry is counted, logged and classified the same way for every client.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import obstore
from obstore.exceptions import PermissionDeniedError, UnauthenticatedError

from launcher.errors import NotFound, StoreError
from launcher.stores import StoreConfig, base
from launcher.stores.base import CHUNK, ChunkHasher, ObjectInfo, ObjectStore, Transfers

CONCURRENCY = 8  # multipart parts in flight: memory stays below CHUNK * CONCURRENCY
_STATUS = re.compile(r"status code: (\d{3})")
_CODE = re.compile(r"<Code>([^<]+)</Code>")
_TRANSIENT = ("error sending request", "timed out", "timeout", "connection", "SlowDown", "RequestTimeout",
              "InternalError", "ServiceUnavailable", "IncompleteBody", "error decoding response body")


class ObstoreStore(ObjectStore):
    def __init__(self, scheme: str, bucket: str, config: StoreConfig, transfers: Transfers) -> None:
        super().__init__(bucket, transfers)
        self.scheme = scheme
        self.config = config
        options = {"connect_timeout": "10s", "timeout": "300s"}
        no_retries = {"max_retries": 0}
        if scheme == "gs":
            from obstore.store import GCSStore

            self.client = GCSStore(bucket, client_options=options, retry_config=no_retries)
            return
        from obstore.store import S3Store

        endpoint = config.endpoint_for(scheme)
        settings = {"endpoint": endpoint, "region": config.region or "us-east-1", "virtual_hosted_style_request": False}
        if config.access_key:
            settings.update(access_key_id=config.access_key, secret_access_key=config.secret_key)
        if config.session_token:
            settings["session_token"] = config.session_token
        options["allow_http"] = endpoint.startswith("http://")
        self.client = S3Store(bucket, client_options=options, retry_config=no_retries, **settings)

    def put_file(self, key: str, path: Path) -> tuple[int, str]:
        """Small files in one PUT; larger ones multipart, read by obstore while a thread hashes the file."""
        try:
            size = path.stat().st_size
            if size <= CHUNK:
                data = path.read_bytes()
                obstore.put(self.client, key, data, use_multipart=False)
                return len(data), hashlib.sha256(data).hexdigest()
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(1) as pool:
                digest = pool.submit(base.hash_file, path)
                obstore.put(self.client, key, path, chunk_size=CHUNK, max_concurrency=CONCURRENCY)
                hashed_size, sha = digest.result()
        except Exception as error:  # obstore raises OSError subclasses and its own BaseError
            raise self._error(error, key) from None
        if hashed_size != size:
            raise StoreError(f"{self.scheme}://{self.bucket}/{key}: {path} changed while it was uploaded")
        return size, sha

    def get_file(self, key: str, path: Path) -> tuple[int, str]:
        try:
            result = obstore.get(self.client, key)
            with open(path, "wb") as file, ChunkHasher() as hasher:
                for chunk in result.stream(min_chunk_size=CHUNK):
                    file.write(chunk)
                    hasher.update(chunk)
                return hasher.size, hasher.hexdigest()
        except Exception as error:
            raise self._error(error, key) from None

    def put_bytes(self, key: str, data: bytes) -> None:
        self._call(lambda: obstore.put(self.client, key, data, use_multipart=False), key)

    def get_bytes(self, key: str) -> bytes:
        return bytes(self._call(lambda: obstore.get(self.client, key).bytes(), key))

    def head(self, key: str) -> ObjectInfo | None:
        try:
            meta = self._call(lambda: obstore.head(self.client, key), key)
        except NotFound:
            return None
        return ObjectInfo(meta["path"], meta["size"], (meta.get("e_tag") or "").strip('"'))

    def list(self, prefix: str) -> list[ObjectInfo]:
        def listing() -> list[ObjectInfo]:
            return [ObjectInfo(m["path"], m["size"], (m.get("e_tag") or "").strip('"'))
                    for batch in obstore.list(self.client, prefix.rstrip("/")) for m in batch]

        return self._call(listing, prefix)

    def delete(self, key: str) -> None:
        try:
            self._call(lambda: obstore.delete(self.client, key), key)
        except NotFound:
            pass

    def _call(self, operation, key: str):
        try:
            return operation()
        except Exception as error:
            raise self._error(error, key) from None

    def _error(self, error: Exception, key: str) -> StoreError:
        uri = f"{self.scheme}://{self.bucket}/{key}"
        text = self.config.scrub(str(error))
        first = text.splitlines()[0].split(": <?xml", 1)[0] if text else type(error).__name__
        code = _CODE.search(text)
        cause = f"{first} [{code.group(1)}]" if code else first
        if isinstance(error, FileNotFoundError):
            return NotFound(f"{uri}: not found")
        if isinstance(error, (PermissionDeniedError, UnauthenticatedError)):
            return StoreError(f"{uri}: access denied, check the store credentials ({cause})")
        status = _STATUS.search(text)
        if status:
            number = int(status.group(1))
            retryable = number >= 500 or number in (408, 429)
        else:
            retryable = any(word.lower() in text.lower() for word in _TRANSIENT)
        if isinstance(error, OSError) and not retryable and not status and error.filename:
            return StoreError(f"{uri}: local file {error.filename}: {error.strerror or error}")
        return StoreError(f"{uri}: {cause}", retryable=retryable)
