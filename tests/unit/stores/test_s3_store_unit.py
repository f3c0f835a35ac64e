"""S3BlobStore's own policy over obstore's in-memory store: keys, prefix, parts, error codes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from obstore.store import MemoryStore

from healer.errors import InvalidInput
from healer.stores.exceptions import BlobNotFound
from healer.stores.s3 import MIN_PART_SIZE, S3BlobStore, _code

MiB = 1024 * 1024


def chunks(total: int, size: int = MiB) -> Iterator[bytes]:
    for start in range(0, total, size):
        yield bytes([start // size % 251]) * min(size, total - start)


def test_part_size_below_s3_minimum_is_refused() -> None:
    with pytest.raises(ValueError, match="minimum"):
        S3BlobStore(MemoryStore(), "bucket", part_size=MiB)


def test_keys_are_validated_before_any_call() -> None:
    memory = MemoryStore()
    with pytest.raises(InvalidInput):
        S3BlobStore(memory, "bucket").put("../x", b"")
    assert memory.list().collect() == []


def test_small_and_large_blobs_round_trip_under_the_prefix() -> None:
    memory = MemoryStore()
    store = S3BlobStore(memory, "bucket", prefix="/healer/", part_size=MIN_PART_SIZE)
    assert store.put_stream("a/small.log", chunks(3 * MiB)) == 3 * MiB
    assert store.put_stream("a/big.log", chunks(12 * MiB + 5, size=700_000)) == 12 * MiB + 5
    assert store.get("a/big.log") == b"".join(chunks(12 * MiB + 5, size=700_000))
    assert sorted(item["path"] for item in memory.list().collect()) == [
        "healer/a/big.log",
        "healer/a/small.log",
    ]
    assert store.list("a/b") == ["a/big.log"] and store.list() == ["a/big.log", "a/small.log"]


def test_reads_come_in_chunks_no_larger_than_asked() -> None:
    store = S3BlobStore(MemoryStore(), "bucket")
    store.put("x.log", b"y" * (3 * MiB + 1))
    sizes = [len(chunk) for chunk in store.open("x.log", chunk_size=MiB)]
    assert sizes == [MiB, MiB, MiB, 1]


def test_a_failing_source_is_raised_as_itself() -> None:
    store = S3BlobStore(MemoryStore(), "bucket", part_size=MIN_PART_SIZE)

    def failing() -> Iterator[bytes]:
        yield from chunks(6 * MiB)
        raise ValueError("source broke")

    with pytest.raises(ValueError, match="source broke"):
        store.put_stream("big.log", failing())
    assert not store.exists("big.log")


def test_missing_key_and_delete() -> None:
    store = S3BlobStore(MemoryStore(), "bucket")
    with pytest.raises(BlobNotFound):
        store.open("nope.log")
    store.delete("nope.log")
    assert store.put_if_absent("d.json", b"1") and not store.put_if_absent("d.json", b"2")
    assert store.get("d.json") == b"1"


@pytest.mark.parametrize(
    ("message", "code"),
    [
        (
            "Error performing PUT http://s3/b/a in 5ms - Server returned non-2xx status code: "
            "404 Not Found: <?xml version='1.0'?><Error><Code>NoSuchBucket</Code></Error>",
            "NoSuchBucket",
        ),
        (
            "Error performing PUT http://s3/b/a in 5ms - Server returned non-2xx status code: "
            "501 Not Implemented: ",
            "501",
        ),
        ("Generic S3 error: HTTP error: error sending request", ""),
    ],
)
def test_error_code_is_read_from_the_message(message: str, code: str) -> None:
    assert _code(RuntimeError(message)) == code
