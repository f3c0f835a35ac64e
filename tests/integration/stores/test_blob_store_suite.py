"""One blob-store suite, run over the file backend and the S3 backend (moto's server over HTTP).

Where a test looks at S3 itself (making buckets, heads, multipart uploads in flight), it asks
through boto3: that is the test talking to S3, not the store."""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from healer.errors import InvalidInput
from healer.stores.blob import BlobStore
from healer.stores.exceptions import BlobNotFound, StoreUnavailable
from healer.stores.file import FileBlobStore
from healer.stores.keys import delivery_key, job_log_key
from healer.stores.s3 import MIN_PART_SIZE, S3BlobStore, make_store

pytestmark = pytest.mark.integration

MiB = 1024 * 1024
StoreFactory = Callable[[], BlobStore]


def _chunks(total: int, size: int = MiB) -> Iterator[bytes]:
    """Deterministic, non-repeating bytes so a misordered part would be noticed."""
    for start in range(0, total, size):
        seed = hashlib.sha256(str(start).encode()).digest()
        yield (seed * (size // len(seed) + 1))[: min(size, total - start)]


def _s3(endpoint: str) -> Any:
    """A boto3 client: the test's own view of the S3 server."""
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")


def _s3_store(endpoint: str, *, prefix: str = "", create: bool = True) -> S3BlobStore:
    bucket = f"healer-{uuid.uuid4().hex[:12]}"
    if create:
        _s3(endpoint).create_bucket(Bucket=bucket)
    return S3BlobStore(
        make_store(bucket, endpoint, "us-east-1"), bucket, prefix=prefix, part_size=MIN_PART_SIZE
    )


@pytest.fixture(params=["file", "s3"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> BlobStore:
    if backend == "file":
        return FileBlobStore(tmp_path / "blobs")
    return _s3_store(request.getfixturevalue("s3_endpoint"))


@pytest.fixture
def broken_store(backend: str, tmp_path: Path, closed_port: int) -> BlobStore:
    """The same backend with nothing behind it."""
    if backend == "file":
        blocker = tmp_path / "not-a-directory"
        blocker.write_text("a file where the blob directory should be")
        return FileBlobStore(blocker / "blobs")
    store = make_store(
        "healer", f"http://127.0.0.1:{closed_port}", connect_timeout=0.5, max_attempts=1
    )
    return S3BlobStore(store, "healer")


def test_put_then_get(store: BlobStore) -> None:
    key = delivery_key("72d3162e-cc78-11e3-81ab-4c9367dc0958")
    assert store.put(key, b'{"action": "completed"}', content_type="application/json") == 23
    assert store.get(key) == b'{"action": "completed"}'
    assert store.exists(key)


def test_overwrite_replaces(store: BlobStore) -> None:
    store.put("a/b.txt", b"first")
    store.put("a/b.txt", b"second")
    assert store.get("a/b.txt") == b"second"


def test_empty_blob(store: BlobStore) -> None:
    assert store.put_stream("empty.log", iter(())) == 0
    assert store.get("empty.log") == b"" and store.exists("empty.log")


def test_multi_megabyte_blob_streams_in_and_out(store: BlobStore) -> None:
    key = job_log_key("acme/widgets", 7001, 1, 90001)
    total = 12 * MiB + 12345
    expected = hashlib.sha256(b"".join(_chunks(total))).hexdigest()

    assert store.put_stream(key, _chunks(total), content_type="text/plain") == total

    digest = hashlib.sha256()
    sizes = []
    for chunk in store.open(key, chunk_size=MiB):
        digest.update(chunk)
        sizes.append(len(chunk))
    assert digest.hexdigest() == expected
    assert max(sizes) <= MiB and len(sizes) >= 13


def test_list_by_prefix_sorted(store: BlobStore) -> None:
    keys = [
        job_log_key("acme/widgets", 7001, 1, 90001),
        job_log_key("acme/widgets", 7001, 2, 90001),
        job_log_key("acme/widgets", 7002, 1, 90002),
        job_log_key("acme/webapp", 7002, 1, 90003),
        delivery_key("d-1"),
    ]
    for key in reversed(keys):
        store.put(key, b"x")

    assert store.list() == sorted(keys)
    assert store.list("repos/acme/widgets/runs/7001/") == sorted(keys[:2])
    assert store.list("repos/acme/widgets/") == sorted(keys[:3])
    assert store.list("deliveries/") == ["deliveries/d-1.json"]
    assert store.list("nothing/") == []


def test_exists_and_delete(store: BlobStore) -> None:
    store.put("dead-letters/e-1.json", b"{}")
    assert store.exists("dead-letters/e-1.json")
    assert not store.exists("dead-letters/e-2.json")

    store.delete("dead-letters/e-1.json")
    store.delete("dead-letters/e-1.json")  # deleting a missing key is fine

    assert not store.exists("dead-letters/e-1.json")
    assert store.list("dead-letters/") == []


def test_put_if_absent_writes_once(store: BlobStore) -> None:
    assert store.put_if_absent("deliveries/d-1.json", b"original") is True
    assert store.put_if_absent("deliveries/d-1.json", b"redelivered") is False
    assert store.get("deliveries/d-1.json") == b"original"


def test_missing_key_is_blob_not_found(store: BlobStore) -> None:
    with pytest.raises(BlobNotFound) as caught:
        store.get("repos/acme/widgets/runs/1/attempt-1/jobs/1.log")
    assert isinstance(caught.value, KeyError)
    with pytest.raises(BlobNotFound):
        store.open("nope.log")


@pytest.mark.parametrize("key", ["", "/etc/passwd", "a/../b", "../escape", "a//b", "./a", "a/."])
def test_invalid_keys_are_rejected(store: BlobStore, key: str) -> None:
    with pytest.raises(InvalidInput):
        store.put(key, b"x")
    with pytest.raises(InvalidInput):
        store.get(key)
    with pytest.raises(InvalidInput):
        store.exists(key)
    with pytest.raises(InvalidInput):
        store.delete(key)


def test_failed_stream_leaves_no_blob(store: BlobStore) -> None:
    def failing() -> Iterator[bytes]:
        yield from _chunks(6 * MiB)
        raise RuntimeError("log download interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        store.put_stream("partial.log", failing())
    assert not store.exists("partial.log")
    assert store.list() == []


def test_outage_is_store_unavailable(broken_store: BlobStore) -> None:
    with pytest.raises(StoreUnavailable):
        broken_store.put("a.txt", b"x")
    if isinstance(broken_store, S3BlobStore):
        with pytest.raises(StoreUnavailable):
            broken_store.get("a.txt")
        with pytest.raises(StoreUnavailable):
            broken_store.list()
        with pytest.raises(StoreUnavailable):
            broken_store.exists("a.txt")


# -- S3 only ------------------------------------------------------------------------------


def test_s3_large_blob_is_a_multipart_upload(s3_endpoint: str) -> None:
    store = _s3_store(s3_endpoint)
    store.put_stream("big.log", _chunks(12 * MiB), content_type="text/plain")
    head = _s3(s3_endpoint).head_object(Bucket=store.bucket, Key="big.log")
    assert head["ContentLength"] == 12 * MiB and head["ContentType"] == "text/plain"
    assert head["ETag"].strip('"').endswith("-3")  # 5 + 5 + 2 MiB


def test_s3_blob_up_to_one_part_is_a_single_put(s3_endpoint: str) -> None:
    store = _s3_store(s3_endpoint)
    store.put_stream("small.log", _chunks(MIN_PART_SIZE), content_type="text/plain")
    head = _s3(s3_endpoint).head_object(Bucket=store.bucket, Key="small.log")
    assert head["ContentLength"] == MIN_PART_SIZE and "-" not in head["ETag"]
    assert head["ContentType"] == "text/plain"


def test_s3_failed_multipart_is_aborted(s3_endpoint: str) -> None:
    store = _s3_store(s3_endpoint)

    def failing() -> Iterator[bytes]:
        yield from _chunks(11 * MiB)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        store.put_stream("partial.log", failing())
    uploads = _s3(s3_endpoint).list_multipart_uploads(Bucket=store.bucket)
    assert uploads.get("Uploads", []) == []
    assert not store.exists("partial.log")


def test_s3_source_os_error_is_not_a_store_outage(s3_endpoint: str) -> None:
    """A log download that breaks is the source's failure, raised as itself."""
    store = _s3_store(s3_endpoint)

    def failing() -> Iterator[bytes]:
        yield from _chunks(6 * MiB)
        raise ConnectionResetError("log download reset")

    with pytest.raises(ConnectionResetError):
        store.put_stream("partial.log", failing())
    assert _s3(s3_endpoint).list_multipart_uploads(Bucket=store.bucket).get("Uploads", []) == []


def test_s3_prefix_is_invisible_to_callers(s3_endpoint: str) -> None:
    store = _s3_store(s3_endpoint, prefix="/healer/prod/")
    store.put("repos/a/b.log", b"x")
    raw = _s3(s3_endpoint).list_objects_v2(Bucket=store.bucket)
    assert [o["Key"] for o in raw["Contents"]] == ["healer/prod/repos/a/b.log"]
    assert store.list() == ["repos/a/b.log"] and store.list("repos/") == ["repos/a/b.log"]
    assert store.list("repos/a/b") == ["repos/a/b.log"] and store.list("rep") == ["repos/a/b.log"]
    assert store.list("repos/a/c") == []


def test_s3_list_matches_any_string_prefix(s3_endpoint: str) -> None:
    store = _s3_store(s3_endpoint)
    for key in ("runs/7001/a.log", "runs/7002/a.log", "runs/8000/a.log", "runsx", "other"):
        store.put(key, b"")
    assert store.list("runs/70") == ["runs/7001/a.log", "runs/7002/a.log"]
    assert store.list("runs") == ["runs/7001/a.log", "runs/7002/a.log", "runs/8000/a.log", "runsx"]
    assert store.list("o") == ["other"]


def test_s3_list_reads_every_page(s3_endpoint: str) -> None:
    """S3 answers at most 1000 keys a page."""
    store = _s3_store(s3_endpoint)
    bucket = _s3(s3_endpoint)
    keys = [f"k/{i:04d}" for i in range(1005)]
    for key in keys:
        bucket.put_object(Bucket=store.bucket, Key=key, Body=b"")
    bucket.put_object(Bucket=store.bucket, Key="other", Body=b"")
    assert store.list("k/") == keys
    assert store.list() == [*keys, "other"]


def test_s3_missing_bucket_is_unavailable_not_a_missing_key(s3_endpoint: str) -> None:
    store = _s3_store(s3_endpoint, create=False)
    with pytest.raises(StoreUnavailable, match="NoSuchBucket"):
        store.put("a.txt", b"x")
    with pytest.raises(StoreUnavailable, match="NoSuchBucket"):
        store.get("a.txt")
    with pytest.raises(StoreUnavailable, match="NoSuchBucket"):
        store.list()
    with pytest.raises(StoreUnavailable, match="NoSuchBucket"):
        store.put_if_absent("a.txt", b"x")
    _s3(s3_endpoint).create_bucket(Bucket=store.bucket)
    store.put("a.txt", b"x")
    assert store.get("a.txt") == b"x"


def test_s3_put_if_absent_has_one_winner_among_racers(s3_endpoint: str) -> None:
    store = _s3_store(s3_endpoint)
    barrier = threading.Barrier(8)
    results: list[bool] = []

    def racer(n: int) -> None:
        barrier.wait()
        results.append(store.put_if_absent("deliveries/race.json", f"writer {n}".encode()))

    threads = [threading.Thread(target=racer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 7 + [True]


def test_s3_from_settings(s3_endpoint: str) -> None:
    from healer.settings import Settings
    from healer.stores.factory import blob_store

    settings = Settings(
        blob_backend="s3",
        s3_endpoint=s3_endpoint,
        s3_bucket=f"healer-{uuid.uuid4().hex[:8]}",
        s3_prefix="logs",
    )
    _s3(s3_endpoint).create_bucket(Bucket=settings.s3_bucket)
    store = blob_store(settings)
    assert isinstance(store, S3BlobStore)
    store.put("x/y.txt", b"1")
    assert store.list() == ["x/y.txt"] and store.prefix == "logs/"
    raw = _s3(s3_endpoint).get_object(Bucket=settings.s3_bucket, Key="logs/x/y.txt")
    assert raw["Body"].read() == b"1"
