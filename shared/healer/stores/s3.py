"""Blob store on any S3-compatible endpoint (AWS, MinIO, Ceph, moto), through botocore.

Large blobs (job logs) stream in: chunks are gathered into parts of ``part_size`` (S3's
minimum is 5 MiB) and sent as a multipart upload, aborted if anything fails so no orphan
parts are billed. Reads stream out. botocore is imported only when this backend is built, and
on its own: boto3 would add its resource layer and s3transfer (about a third of the client's
cold cost) for nothing this store calls.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

from healer.errors import InvalidInput
from healer.stores.blob import BlobStore
from healer.stores.exceptions import BlobNotFound, StoreUnavailable

if TYPE_CHECKING:
    from healer.settings import Settings

MIN_PART_SIZE = 5 * 1024 * 1024
DEFAULT_PART_SIZE = 8 * 1024 * 1024
_MISSING = {"NoSuchKey", "404", "NotFound"}
_ALREADY_THERE = {"PreconditionFailed", "412", "ConditionalRequestConflict", "409"}


class S3ClientProtocol(Protocol):
    """The botocore S3 client methods this store uses."""

    def put_object(self, **kwargs: Any) -> dict[str, Any]: ...
    def get_object(self, **kwargs: Any) -> dict[str, Any]: ...
    def head_object(self, **kwargs: Any) -> dict[str, Any]: ...
    def delete_object(self, **kwargs: Any) -> dict[str, Any]: ...
    def head_bucket(self, **kwargs: Any) -> dict[str, Any]: ...
    def create_bucket(self, **kwargs: Any) -> dict[str, Any]: ...
    def create_multipart_upload(self, **kwargs: Any) -> dict[str, Any]: ...
    def upload_part(self, **kwargs: Any) -> dict[str, Any]: ...
    def complete_multipart_upload(self, **kwargs: Any) -> dict[str, Any]: ...
    def abort_multipart_upload(self, **kwargs: Any) -> dict[str, Any]: ...
    def list_objects_v2(self, **kwargs: Any) -> dict[str, Any]: ...


def validate_key(key: str) -> str:
    """The same key rules as the file backend, so keys move between backends unchanged."""
    if not key or key.startswith("/") or any(part in ("", ".", "..") for part in key.split("/")):
        raise InvalidInput(f"blob key {key!r} must be a relative path without '.' or '..' parts")
    return key


def make_client(
    endpoint: str = "",
    region: str = "us-east-1",
    *,
    connect_timeout: float = 3.0,
    read_timeout: float = 30.0,
    max_attempts: int = 3,
) -> S3ClientProtocol:
    """A botocore S3 client (what ``boto3.client`` returns) with timeouts and bounded retries;
    path-style for custom endpoints."""
    from botocore.config import Config
    from botocore.session import get_session

    config = Config(
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        retries={"max_attempts": max_attempts, "mode": "standard"},
        s3={"addressing_style": "path"} if endpoint else None,
    )
    client: S3ClientProtocol = get_session().create_client(
        "s3", endpoint_url=endpoint or None, region_name=region, config=config
    )
    return client


class S3BlobStore(BlobStore):
    """Keys live under ``prefix`` in ``bucket``; ``create_bucket`` makes it if missing."""

    def __init__(
        self,
        client: S3ClientProtocol,
        bucket: str,
        *,
        prefix: str = "",
        part_size: int = DEFAULT_PART_SIZE,
        create_bucket: bool = False,
        region: str = "us-east-1",
        list_page_size: int = 1000,
    ) -> None:
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"part_size {part_size} is below S3's minimum of {MIN_PART_SIZE}")
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.part_size = part_size
        self.list_page_size = list_page_size
        if create_bucket:
            self._ensure_bucket(region)

    @classmethod
    def from_settings(cls, settings: Settings, *, create_bucket: bool = False) -> S3BlobStore:
        client = make_client(settings.s3_endpoint, settings.s3_region)
        return cls(
            client,
            settings.s3_bucket,
            prefix=settings.s3_prefix,
            create_bucket=create_bucket,
            region=settings.s3_region,
        )

    def _ensure_bucket(self, region: str) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
            return
        except Exception as exc:
            if _code(exc) not in _MISSING | {"NoSuchBucket"}:
                self._fail(exc, f"bucket {self.bucket}")
        options: dict[str, Any] = {"Bucket": self.bucket}
        if region != "us-east-1":
            options["CreateBucketConfiguration"] = {"LocationConstraint": region}
        self._guard(lambda: self.client.create_bucket(**options), f"bucket {self.bucket}")

    def _key(self, key: str) -> str:
        return self.prefix + validate_key(key)

    def _fail(self, exc: BaseException, what: str) -> NoReturn:
        """Map a boto3/botocore error: a missing key is BlobNotFound, the rest is unavailable."""
        code = _code(exc)
        if code in _MISSING:
            raise BlobNotFound(what) from exc
        detail = code or type(exc).__name__
        raise StoreUnavailable(f"S3 bucket {self.bucket!r}: {what}: {detail}") from exc

    def _guard(self, call: Callable[[], dict[str, Any]], what: str) -> dict[str, Any]:
        try:
            return call()
        except Exception as exc:
            if not _is_boto_error(exc):
                raise
            self._fail(exc, what)

    def put_stream(
        self, key: str, chunks: Iterable[bytes], *, content_type: str = "application/octet-stream"
    ) -> int:
        name = self._key(key)
        buffer = bytearray()
        upload_id: str | None = None
        parts: list[dict[str, Any]] = []
        size = 0
        try:
            for chunk in chunks:
                buffer += chunk
                size += len(chunk)
                while len(buffer) >= self.part_size:
                    if upload_id is None:
                        upload_id = self._start(name, content_type)
                    parts.append(
                        self._part(name, upload_id, len(parts) + 1, buffer[: self.part_size])
                    )
                    del buffer[: self.part_size]
            if upload_id is None:
                self._guard(
                    lambda: self.client.put_object(
                        Bucket=self.bucket, Key=name, Body=bytes(buffer), ContentType=content_type
                    ),
                    key,
                )
                return size
            if buffer:
                parts.append(self._part(name, upload_id, len(parts) + 1, buffer))
            done = {"Parts": parts}
            uid = upload_id
            self._guard(
                lambda: self.client.complete_multipart_upload(
                    Bucket=self.bucket, Key=name, UploadId=uid, MultipartUpload=done
                ),
                key,
            )
            return size
        except BaseException:
            if upload_id is not None:
                self._abort(name, upload_id)
            raise

    def _start(self, name: str, content_type: str) -> str:
        answer = self._guard(
            lambda: self.client.create_multipart_upload(
                Bucket=self.bucket, Key=name, ContentType=content_type
            ),
            name,
        )
        return str(answer["UploadId"])

    def _part(
        self, name: str, upload_id: str, number: int, data: bytes | bytearray
    ) -> dict[str, Any]:
        body = bytes(data)
        answer = self._guard(
            lambda: self.client.upload_part(
                Bucket=self.bucket, Key=name, UploadId=upload_id, PartNumber=number, Body=body
            ),
            name,
        )
        return {"PartNumber": number, "ETag": answer["ETag"]}

    def _abort(self, name: str, upload_id: str) -> None:
        # Best effort: the bucket's lifecycle rule for incomplete uploads is the backstop.
        with contextlib.suppress(Exception):
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=name, UploadId=upload_id)

    def open(self, key: str, *, chunk_size: int = 64 * 1024) -> Iterator[bytes]:
        name = self._key(key)
        answer = self._guard(lambda: self.client.get_object(Bucket=self.bucket, Key=name), key)
        return self._chunks(answer["Body"], key, chunk_size)

    def _chunks(self, body: Any, key: str, chunk_size: int) -> Iterator[bytes]:
        try:
            while chunk := body.read(chunk_size):
                yield bytes(chunk)
        except Exception as exc:
            if not _is_boto_error(exc):
                raise
            raise StoreUnavailable(f"S3 read of {key!r} was interrupted: {exc}") from exc
        finally:
            body.close()

    def exists(self, key: str) -> bool:
        name = self._key(key)
        try:
            self._guard(lambda: self.client.head_object(Bucket=self.bucket, Key=name), key)
        except BlobNotFound:
            return False
        return True

    def list(self, prefix: str = "") -> list[str]:
        keys: list[str] = []
        options: dict[str, Any] = {
            "Bucket": self.bucket,
            "Prefix": self.prefix + prefix,
            "MaxKeys": self.list_page_size,
        }
        while True:
            page = self._guard(lambda: self.client.list_objects_v2(**options), f"list {prefix!r}")
            keys.extend(item["Key"][len(self.prefix) :] for item in page.get("Contents", []))
            if not page.get("IsTruncated"):
                return sorted(keys)
            options["ContinuationToken"] = page["NextContinuationToken"]

    def delete(self, key: str) -> None:
        name = self._key(key)
        self._guard(lambda: self.client.delete_object(Bucket=self.bucket, Key=name), key)

    def put_if_absent(
        self, key: str, data: bytes, *, content_type: str = "application/octet-stream"
    ) -> bool:
        """A conditional write (``If-None-Match: *``): two racing writers, one winner."""
        name = self._key(key)
        try:
            self._guard(
                lambda: self.client.put_object(
                    Bucket=self.bucket,
                    Key=name,
                    Body=data,
                    ContentType=content_type,
                    IfNoneMatch="*",
                ),
                key,
            )
        except StoreUnavailable as exc:
            if _code(exc.__cause__) in _ALREADY_THERE:
                return False
            if _code(exc.__cause__) in {"NotImplemented", "501"}:
                # An S3-compatible store without conditional writes: check, then write.
                return super().put_if_absent(key, data, content_type=content_type)
            raise
        return True


def _is_boto_error(exc: BaseException) -> bool:
    module = type(exc).__module__
    return module.startswith(("botocore", "boto3", "urllib3")) or isinstance(exc, (OSError,))


def _code(exc: BaseException | None) -> str:
    """The S3 error code of a botocore ClientError ('' for anything else)."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return ""
    error = response.get("Error", {})
    code = str(error.get("Code", "")) if isinstance(error, dict) else ""
    if code:
        return code
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return str(status or "")
