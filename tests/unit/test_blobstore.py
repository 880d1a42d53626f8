"""Content-addressed blob store: the filesystem backend and the S3 backend (real moto server)."""

from __future__ import annotations

import hashlib
import itertools
import os
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from helpdesk_common.blobstore import BlobNotFound, FilesystemBlobStore, S3BlobStore
from moto.server import ThreadedMotoServer

MALFORMED = ["../etc/passwd", "../../" + "a" * 58, "A" * 64, "a" * 63, "", "a" * 64 + "/x"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@dataclass
class Backend:
    store: Any
    stored_count: Callable[[], int]


_buckets = itertools.count()


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def fs_backend(root: Path) -> Backend:
    return Backend(FilesystemBlobStore(root), lambda: len(files_under(root)))


def s3_backend(endpoint: str) -> Backend:
    bucket = f"blobs-{os.getpid()}-{next(_buckets)}"
    store = S3BlobStore(
        bucket,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    store.client.create_bucket(Bucket=bucket)

    def count() -> int:
        return int(store.client.list_objects_v2(Bucket=bucket).get("KeyCount", 0))

    return Backend(store, count)


@pytest.fixture(params=["fs", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "fs":
        return fs_backend(tmp_path / "blobs")
    return s3_backend(request.getfixturevalue("moto_endpoint"))


# --- behaviour shared by both backends ------------------------------------------------------


async def test_put_get_round_trip(backend: Backend) -> None:
    data = b"\x00\xffhello attachment\n" * 100
    ref = await backend.store.put(data, "image/png")
    assert ref.sha256 == hashlib.sha256(data).hexdigest()
    assert ref.size == len(data)
    assert ref.content_type == "image/png"
    assert await backend.store.get(ref.sha256) == data


async def test_empty_blob_round_trip(backend: Backend) -> None:
    ref = await backend.store.put(b"")
    assert ref.size == 0
    assert await backend.store.get(ref.sha256) == b""


async def test_same_bytes_twice_are_stored_once(backend: Backend) -> None:
    first = await backend.store.put(b"same bytes")
    second = await backend.store.put(b"same bytes")
    assert first == second
    assert backend.stored_count() == 1
    assert await backend.store.get(first.sha256) == b"same bytes"


async def test_different_bytes_are_stored_separately(backend: Backend) -> None:
    a = await backend.store.put(b"one")
    b = await backend.store.put(b"two")
    assert a.sha256 != b.sha256
    assert backend.stored_count() == 2
    assert await backend.store.get(a.sha256) == b"one"
    assert await backend.store.get(b.sha256) == b"two"


async def test_get_missing_raises_blob_not_found(backend: Backend) -> None:
    missing = hashlib.sha256(b"never stored").hexdigest()
    with pytest.raises(BlobNotFound):
        await backend.store.get(missing)


async def test_exists(backend: Backend) -> None:
    ref = await backend.store.put(b"present")
    assert await backend.store.exists(ref.sha256) is True
    assert await backend.store.exists(hashlib.sha256(b"absent").hexdigest()) is False


@pytest.mark.parametrize("bad", MALFORMED)
async def test_malformed_digest_is_refused(backend: Backend, bad: str) -> None:
    with pytest.raises(ValueError, match="sha256"):
        await backend.store.get(bad)
    with pytest.raises(ValueError, match="sha256"):
        await backend.store.exists(bad)


# --- filesystem specifics -----------------------------------------------------------------


async def test_fs_layout_is_sharded_by_digest(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path)
    ref = await store.put(b"layout")
    sha = ref.sha256
    assert (tmp_path / sha[:2] / sha[2:4] / sha).read_bytes() == b"layout"


async def test_fs_different_bytes_get_different_paths(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path)
    await store.put(b"alpha")
    await store.put(b"beta")
    files = files_under(tmp_path)
    assert len(files) == 2
    assert files[0] != files[1]
    assert {p.read_bytes() for p in files} == {b"alpha", b"beta"}


async def test_fs_traversal_cannot_escape_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    secret = tmp_path / "passwd"
    secret.write_bytes(b"root:x:0:0")
    store = FilesystemBlobStore(root)
    for bad in ("../passwd", "../../passwd", str(secret)):
        with pytest.raises(ValueError):
            await store.get(bad)
    assert secret.read_bytes() == b"root:x:0:0"


async def test_fs_leaves_no_temp_files(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path)
    for i in range(5):
        await store.put(f"blob {i}".encode())
    await store.put(b"blob 0")
    names = [p.name for p in files_under(tmp_path)]
    assert len(names) == 5
    assert not [n for n in names if n.startswith(".tmp-")]
    assert all(len(n) == 64 for n in names)


async def test_fs_failed_write_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FilesystemBlobStore(tmp_path)

    def broken_replace(src: Any, dst: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        await store.put(b"doomed")
    monkeypatch.undo()
    assert files_under(tmp_path) == []
    assert await store.exists(hashlib.sha256(b"doomed").hexdigest()) is False


async def test_fs_put_does_not_rewrite_existing_blob(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path)
    ref = await store.put(b"once")
    path = tmp_path / ref.sha256[:2] / ref.sha256[2:4] / ref.sha256
    before = path.stat().st_ino
    await store.put(b"once")
    assert path.stat().st_ino == before


# --- S3 specifics -------------------------------------------------------------------------


async def test_s3_object_key_and_content_type(moto_endpoint: str) -> None:
    backend = s3_backend(moto_endpoint)
    store = backend.store
    ref = await store.put(b"%PDF-1.7", "application/pdf")
    head = store.client.head_object(Bucket=store.bucket, Key=f"blobs/{ref.sha256}")
    assert head["ContentType"] == "application/pdf"
    assert head["ContentLength"] == len(b"%PDF-1.7")


async def test_s3_second_put_of_same_bytes_does_not_upload_again(moto_endpoint: str) -> None:
    store = s3_backend(moto_endpoint).store
    real_put = store.client.put_object
    uploads: list[str] = []

    def counting_put(**kwargs: Any) -> Any:
        uploads.append(kwargs["Key"])
        return real_put(**kwargs)

    store.client.put_object = counting_put
    first = await store.put(b"dedupe me")
    second = await store.put(b"dedupe me")
    assert first == second
    assert uploads == [f"blobs/{first.sha256}"]
