"""Content-addressed blob store: attachments and raw sources, named by their SHA-256.

Writing the same bytes twice stores them once and returns the same reference, so a
redelivered message never duplicates its attachments. The filesystem backend is the
default; the S3 backend (any S3-compatible service) sits behind the same interface.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any, Protocol

from .records import BlobRef
from .settings import ServiceSettings


class BlobNotFound(KeyError):
    pass


class BlobStore(Protocol):
    async def put(self, data: bytes, content_type: str = "application/octet-stream") -> BlobRef: ...

    async def get(self, sha256: str) -> bytes: ...

    async def exists(self, sha256: str) -> bool: ...


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _checked(sha256: str) -> str:
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError(f"not a sha256 hex digest: {sha256!r}")
    return sha256


class FilesystemBlobStore:
    """Blobs as files ``<root>/ab/cd/<sha256>``, written atomically and fsynced."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, sha256: str) -> Path:
        sha256 = _checked(sha256)
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def _write(self, path: Path, data: bytes) -> None:
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    async def put(self, data: bytes, content_type: str = "application/octet-stream") -> BlobRef:
        sha = digest(data)
        await asyncio.to_thread(self._write, self._path(sha), data)
        return BlobRef(sha256=sha, size=len(data), content_type=content_type)

    async def get(self, sha256: str) -> bytes:
        path = self._path(sha256)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError as exc:
            raise BlobNotFound(sha256) from exc

    async def exists(self, sha256: str) -> bool:
        return self._path(sha256).exists()


class S3BlobStore:
    """Blobs as objects ``<prefix><sha256>`` in an S3-compatible bucket (boto3, in threads)."""

    def __init__(
        self, bucket: str, *, prefix: str = "blobs/", client: Any = None, **client_kwargs: Any
    ) -> None:
        if client is None:
            import boto3  # optional dependency: helpdesk-common[s3]

            client = boto3.client("s3", **client_kwargs)
        self.client = client
        self.bucket = bucket
        self.prefix = prefix

    def _key(self, sha256: str) -> str:
        return self.prefix + _checked(sha256)

    async def put(self, data: bytes, content_type: str = "application/octet-stream") -> BlobRef:
        sha = digest(data)
        if not await self.exists(sha):
            await asyncio.to_thread(
                self.client.put_object,
                Bucket=self.bucket,
                Key=self._key(sha),
                Body=data,
                ContentType=content_type,
                ChecksumSHA256=_b64_sha(data),
            )
        return BlobRef(sha256=sha, size=len(data), content_type=content_type)

    async def get(self, sha256: str) -> bytes:
        try:
            obj = await asyncio.to_thread(
                self.client.get_object, Bucket=self.bucket, Key=self._key(sha256)
            )
        except self.client.exceptions.NoSuchKey as exc:
            raise BlobNotFound(sha256) from exc
        body: bytes = await asyncio.to_thread(obj["Body"].read)
        return body

    async def exists(self, sha256: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            await asyncio.to_thread(
                self.client.head_object, Bucket=self.bucket, Key=self._key(sha256)
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise
        return True


def _b64_sha(data: bytes) -> str:
    import base64

    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def make_blob_store(settings: ServiceSettings) -> BlobStore:
    """``BLOB_BACKEND=fs`` (``BLOB_DIR``) or ``s3``.

    S3 reads ``BLOB_S3_BUCKET`` and ``BLOB_S3_ENDPOINT_URL``.
    """
    if settings.blob_backend == "s3":
        return S3BlobStore(
            os.environ["BLOB_S3_BUCKET"],
            endpoint_url=os.environ.get("BLOB_S3_ENDPOINT_URL") or None,
        )
    return FilesystemBlobStore(settings.blob_dir)
