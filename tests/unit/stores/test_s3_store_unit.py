"""S3BlobStore's policy against a fake client: part sizes, aborts, error mapping. No sockets."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from healer.errors import InvalidInput
from healer.stores.exceptions import BlobNotFound, StoreUnavailable
from healer.stores.s3 import MIN_PART_SIZE, S3BlobStore

MiB = 1024 * 1024


def client_error(code: str, status: int, operation: str = "GetObject") -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}},
        operation,
    )


class FakeS3:
    """Records calls; ``fail`` maps an operation name to the exception it raises."""

    def __init__(self, fail: dict[str, BaseException] | None = None) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.fail = fail or {}

    def __getattr__(self, operation: str) -> Any:
        def call(**kwargs: Any) -> dict[str, Any]:
            self.calls.append((operation, kwargs))
            if operation in self.fail:
                raise self.fail[operation]
            if operation == "create_multipart_upload":
                return {"UploadId": "up-1"}
            if operation == "upload_part":
                return {"ETag": f'"etag-{kwargs["PartNumber"]}"'}
            return {}

        return call

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


def chunks(total: int, size: int = MiB) -> Iterator[bytes]:
    for start in range(0, total, size):
        yield b"x" * min(size, total - start)


def test_small_blob_is_one_put() -> None:
    fake = FakeS3()
    store = S3BlobStore(fake, "bucket", prefix="healer")
    assert store.put_stream("a/b.log", chunks(3 * MiB), content_type="text/plain") == 3 * MiB
    assert fake.names() == ["put_object"]
    args = fake.calls[0][1]
    assert args["Key"] == "healer/a/b.log" and len(args["Body"]) == 3 * MiB
    assert args["ContentType"] == "text/plain"


def test_large_blob_is_uploaded_in_parts_of_part_size() -> None:
    fake = FakeS3()
    store = S3BlobStore(fake, "bucket", part_size=MIN_PART_SIZE)
    assert store.put_stream("big.log", chunks(12 * MiB, size=700_000)) == 12 * MiB
    assert fake.names() == [
        "create_multipart_upload",
        "upload_part",
        "upload_part",
        "upload_part",
        "complete_multipart_upload",
    ]
    sizes = [len(kw["Body"]) for name, kw in fake.calls if name == "upload_part"]
    assert sizes == [5 * MiB, 5 * MiB, 2 * MiB]
    done = fake.calls[-1][1]["MultipartUpload"]["Parts"]
    assert done == [{"PartNumber": n, "ETag": f'"etag-{n}"'} for n in (1, 2, 3)]


def test_a_failing_source_aborts_the_upload_and_reraises() -> None:
    fake = FakeS3()
    store = S3BlobStore(fake, "bucket", part_size=MIN_PART_SIZE)

    def failing() -> Iterator[bytes]:
        yield from chunks(6 * MiB)
        raise ValueError("source broke")

    with pytest.raises(ValueError, match="source broke"):
        store.put_stream("big.log", failing())
    assert fake.names()[-1] == "abort_multipart_upload"
    assert fake.calls[-1][1]["UploadId"] == "up-1"


def test_a_failing_part_aborts_and_is_unavailable() -> None:
    fake = FakeS3({"upload_part": EndpointConnectionError(endpoint_url="http://s3")})
    store = S3BlobStore(fake, "bucket", part_size=MIN_PART_SIZE)
    with pytest.raises(StoreUnavailable):
        store.put_stream("big.log", chunks(6 * MiB))
    assert "abort_multipart_upload" in fake.names()
    assert "complete_multipart_upload" not in fake.names()


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (client_error("NoSuchKey", 404), BlobNotFound),
        (client_error("InternalError", 500), StoreUnavailable),
        (client_error("SlowDown", 503), StoreUnavailable),
        (client_error("NoSuchBucket", 404), StoreUnavailable),
        (EndpointConnectionError(endpoint_url="http://s3"), StoreUnavailable),
        (ReadTimeoutError(endpoint_url="http://s3"), StoreUnavailable),
    ],
)
def test_errors_are_mapped(error: BaseException, expected: type[Exception]) -> None:
    store = S3BlobStore(FakeS3({"get_object": error}), "bucket")
    with pytest.raises(expected):
        store.open("a.log")


def test_head_404_means_absent() -> None:
    store = S3BlobStore(FakeS3({"head_object": client_error("404", 404, "HeadObject")}), "b")
    assert store.exists("a.log") is False


def test_put_if_absent_uses_a_conditional_write() -> None:
    fake = FakeS3({"put_object": client_error("PreconditionFailed", 412, "PutObject")})
    assert S3BlobStore(fake, "b").put_if_absent("d.json", b"{}") is False
    assert fake.calls[0][1]["IfNoneMatch"] == "*"


def test_put_if_absent_falls_back_where_conditional_writes_are_missing() -> None:
    fake = FakeS3(
        {
            "put_object": client_error("NotImplemented", 501, "PutObject"),
            "head_object": client_error("404", 404, "HeadObject"),
        }
    )
    store = S3BlobStore(fake, "b")
    with pytest.raises(StoreUnavailable):  # the plain put fails too on this fake
        store.put_if_absent("d.json", b"{}")
    assert fake.names() == ["put_object", "head_object", "put_object"]
    assert "IfNoneMatch" not in fake.calls[2][1]


def test_other_errors_are_not_swallowed() -> None:
    store = S3BlobStore(FakeS3({"get_object": TypeError("bug")}), "bucket")
    with pytest.raises(TypeError):
        store.open("a.log")


def test_part_size_below_s3_minimum_is_refused() -> None:
    with pytest.raises(ValueError, match="minimum"):
        S3BlobStore(FakeS3(), "bucket", part_size=MiB)


def test_keys_are_validated_before_any_call() -> None:
    fake = FakeS3()
    with pytest.raises(InvalidInput):
        S3BlobStore(fake, "bucket").put("../x", b"")
    assert fake.calls == []


def test_bucket_is_created_only_when_asked_and_missing() -> None:
    missing = client_error("404", 404, "HeadBucket")
    fake = FakeS3({"head_bucket": missing})
    S3BlobStore(fake, "bucket")
    assert fake.calls == []
    S3BlobStore(fake, "bucket", create_bucket=True, region="eu-west-1")
    assert fake.names() == ["head_bucket", "create_bucket"]
    assert fake.calls[1][1]["CreateBucketConfiguration"] == {"LocationConstraint": "eu-west-1"}
