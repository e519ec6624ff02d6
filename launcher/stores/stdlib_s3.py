"""A small S3 client on the standard library only (SigV4, path-style URLs): the fallback where the
``obstore`` wheel cannot be loaded, such as the zipapp launcher in an image with only a bare Python.

Uploads larger than one chunk (8 MiB) are multipart, a few parts in flight on worker threads; memory
stays below ``base.CHUNK * (CONCURRENCY + 1)``. A failed multipart upload is aborted, so no partial object remains.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import itertools
import socket
import threading
import time
import xml.etree.ElementTree as ElementTree
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Mapping
from urllib.parse import quote, urlsplit

from launcher.errors import NotFound, StoreError
from launcher.stores import StoreConfig, base
from launcher.stores.base import ChunkHasher, ObjectInfo, ObjectStore, Transfers

CONCURRENCY = 4
EMPTY_SHA = hashlib.sha256(b"").hexdigest()
_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


class StdlibS3Store(ObjectStore):
    def __init__(self, scheme: str, bucket: str, config: StoreConfig, transfers: Transfers) -> None:
        super().__init__(bucket, transfers)
        self.scheme = scheme
        self.config = config
        endpoint = urlsplit(config.endpoint_for(scheme))
        self.secure = endpoint.scheme == "https"
        self.host = endpoint.netloc
        self.base_path = endpoint.path.rstrip("/")
        self.region = config.region or "us-east-1"
        self.local = threading.local()

    # primitives ------------------------------------------------------------------------------

    def put_file(self, key: str, path: Path) -> tuple[int, str]:
        sha = hashlib.sha256()
        try:
            with open(path, "rb") as file:
                chunks = base.hashing_reader(file, sha)
                first = next(chunks, b"")
                second = next(chunks, b"")
                if not second:
                    self.put_bytes(key, first)
                    return len(first), sha.hexdigest()
                return self._multipart(key, chunks, first, second), sha.hexdigest()
        except OSError as error:
            raise StoreError(f"{self._uri(key)}: local file {path}: {error.strerror or error}") from None

    def get_file(self, key: str, path: Path) -> tuple[int, str]:
        connection = self._connection()
        try:
            response = self._send(connection, "GET", key)
            with open(path, "wb") as file, ChunkHasher() as hasher:
                while True:
                    data = response.read(4 * 1024 * 1024)
                    if not data:
                        break
                    file.write(data)
                    hasher.update(data)
                if response.length not in (None, 0):
                    raise StoreError(f"{self._uri(key)}: connection closed before the whole object arrived",
                                     retryable=True)
                return hasher.size, hasher.hexdigest()
        except (OSError, http.client.HTTPException) as error:
            self._drop(connection)
            raise self._transport(error, key) from None

    def put_bytes(self, key: str, data: bytes) -> None:
        self._request("PUT", key, body=data)

    def get_bytes(self, key: str) -> bytes:
        return self._request("GET", key)[1]

    def head(self, key: str) -> ObjectInfo | None:
        try:
            headers, _ = self._request("HEAD", key)
        except NotFound:
            return None
        return ObjectInfo(key, int(headers.get("content-length", "0")), headers.get("etag", "").strip('"'))

    def list(self, prefix: str) -> list[ObjectInfo]:
        found: list[ObjectInfo] = []
        token = ""
        while True:
            query = {"list-type": "2", "prefix": prefix}
            if token:
                query["continuation-token"] = token
            _, body = self._request("GET", "", query=query)
            root = ElementTree.fromstring(body)
            for item in root.iter(f"{_NS}Contents"):
                found.append(ObjectInfo(item.findtext(f"{_NS}Key", ""), int(item.findtext(f"{_NS}Size", "0")),
                                        item.findtext(f"{_NS}ETag", "").strip('"')))
            token = root.findtext(f"{_NS}NextContinuationToken", "")
            if root.findtext(f"{_NS}IsTruncated", "false") != "true" or not token:
                return found

    def delete(self, key: str) -> None:
        try:
            self._request("DELETE", key)
        except NotFound:
            pass

    # multipart -------------------------------------------------------------------------------

    def _multipart(self, key: str, chunks, first: bytes, second: bytes) -> int:
        _, body = self._request("POST", key, query={"uploads": ""})
        upload_id = ElementTree.fromstring(body).findtext(f"{_NS}UploadId", "")
        parts: list[Future] = []
        size = 0
        try:
            with ThreadPoolExecutor(CONCURRENCY) as pool:
                for number, data in enumerate(itertools.chain([first, second], chunks), 1):
                    size += len(data)
                    running = [p for p in parts if not p.done()]
                    if len(running) >= CONCURRENCY:
                        wait(running, return_when=FIRST_COMPLETED)
                    for part in parts:
                        if part.done() and part.exception() is not None:
                            raise part.exception()  # type: ignore[misc]
                    parts.append(pool.submit(self._part, key, upload_id, number, data))
                etags = [part.result() for part in parts]
            xml = "".join(f"<Part><PartNumber>{n}</PartNumber><ETag>{e}</ETag></Part>"
                          for n, e in enumerate(etags, 1))
            self._request("POST", key, query={"uploadId": upload_id},
                          body=f"<CompleteMultipartUpload>{xml}</CompleteMultipartUpload>".encode())
        except BaseException:
            try:
                self._request("DELETE", key, query={"uploadId": upload_id})
            except StoreError:
                pass
            raise
        return size

    def _part(self, key: str, upload_id: str, number: int, data: bytes) -> str:
        headers, _ = self._request("PUT", key, query={"partNumber": str(number), "uploadId": upload_id}, body=data)
        return headers.get("etag", "")

    # HTTP ------------------------------------------------------------------------------------

    def _request(self, method: str, key: str, *, query: Mapping[str, str] | None = None,
                 body: bytes = b"") -> tuple[dict[str, str], bytes]:
        connection = self._connection()
        try:
            response = self._send(connection, method, key, query=query, body=body)
            data = response.read()
        except (OSError, http.client.HTTPException) as error:
            self._drop(connection)
            raise self._transport(error, key) from None
        return {k.lower(): v for k, v in response.getheaders()}, data

    def _send(self, connection: http.client.HTTPConnection, method: str, key: str, *,
              query: Mapping[str, str] | None = None, body: bytes = b"") -> http.client.HTTPResponse:
        path = f"{self.base_path}/{quote(self.bucket)}" + (f"/{quote(key, safe='/~')}" if key else "")
        query_text = "&".join(f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in sorted((query or {}).items()))
        payload_sha = hashlib.sha256(body).hexdigest() if body else EMPTY_SHA
        headers = self._sign(method, path, query_text, payload_sha)
        if body or method in ("PUT", "POST"):
            headers["Content-Length"] = str(len(body))
        connection.request(method, path + (f"?{query_text}" if query_text else ""), body=body or None, headers=headers)
        response = connection.getresponse()
        if response.status >= 300:
            data = response.read()
            raise self._http_error(response.status, data, key)
        return response

    def _sign(self, method: str, path: str, query: str, payload_sha: str) -> dict[str, str]:
        now = time.gmtime()
        stamp, day = time.strftime("%Y%m%dT%H%M%SZ", now), time.strftime("%Y%m%d", now)
        headers = {"host": self.host, "x-amz-content-sha256": payload_sha, "x-amz-date": stamp}
        if self.config.session_token:
            headers["x-amz-security-token"] = self.config.session_token
        if not self.config.access_key:
            return headers
        names = ";".join(sorted(headers))
        canonical = "\n".join([method, path, query, *(f"{k}:{headers[k]}" for k in sorted(headers)), "",
                               names, payload_sha])
        scope = f"{day}/{self.region}/s3/aws4_request"
        to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
        key = ("AWS4" + self.config.secret_key).encode()
        for part in (day, self.region, "s3", "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        headers["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={self.config.access_key}/{scope}, "
                                    f"SignedHeaders={names}, Signature={signature}")
        return headers

    def _connection(self) -> http.client.HTTPConnection:
        connection = getattr(self.local, "connection", None)
        if connection is None:
            if self.secure:
                import ssl  # only for https endpoints: a large import

                connection = http.client.HTTPSConnection(self.host, timeout=300, context=ssl.create_default_context())
            else:
                connection = http.client.HTTPConnection(self.host, timeout=300)
            self.local.connection = connection
        return connection

    def _drop(self, connection: http.client.HTTPConnection) -> None:
        connection.close()
        self.local.connection = None

    def _uri(self, key: str) -> str:
        return f"{self.scheme}://{self.bucket}/{key}"

    def _http_error(self, status: int, body: bytes, key: str) -> StoreError:
        code = ""
        try:
            code = ElementTree.fromstring(body).findtext("Code") or ""
        except ElementTree.ParseError:
            pass
        cause = f"HTTP {status}" + (f" {code}" if code else "")
        if status == 404:
            return NotFound(f"{self._uri(key)}: not found ({cause})")
        if status in (401, 403):
            return StoreError(f"{self._uri(key)}: access denied, check the store credentials ({cause})")
        return StoreError(f"{self._uri(key)}: {cause}", retryable=status >= 500 or status in (408, 429))

    def _transport(self, error: BaseException, key: str) -> StoreError:
        if isinstance(error, StoreError):
            return error
        kind = "timed out" if isinstance(error, socket.timeout) else type(error).__name__
        detail = self.config.scrub(str(error))
        return StoreError(f"{self._uri(key)}: {kind}" + (f" ({detail})" if detail else ""), retryable=True)
