"""Blob store on any S3-compatible endpoint (AWS, MinIO, Ceph, moto), through obstore.

obstore (Rust's ``object_store`` behind a small extension module) costs a scaled-to-zero stage
about 30 ms to import and build, where botocore cost about 280 ms (parsing its service model
and endpoint rules on every cold start). Large blobs (job logs) stream in: up to ``part_size``
they go as one PUT; beyond it as a multipart upload of ``part_size`` parts (S3's minimum is
5 MiB), which obstore aborts if the source or a part fails, so no orphan parts are billed.
Reads stream out. The bucket is a deployment prerequisite: the store never creates it.

Credentials and options come from the environment as the AWS SDKs read them
(``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, web identity);
region, endpoint and prefix from the settings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, NoReturn

from healer.errors import InvalidInput
from healer.stores.blob import BlobStore
from healer.stores.exceptions import BlobNotFound, StoreUnavailable

if TYPE_CHECKING:
    from obstore.store import ObjectStore

    from healer.settings import Settings

MIN_PART_SIZE = 5 * 1024 * 1024
DEFAULT_PART_SIZE = 8 * 1024 * 1024
# Parts in flight at once: bounds a stage's memory to about this many parts per upload.
PART_CONCURRENCY = 2
_CODE = re.compile(r"<Code>([A-Za-z0-9]+)</Code>")
_STATUS = re.compile(r"\b(\d{3}) [A-Z][A-Za-z ]+:")


def validate_key(key: str) -> str:
    """The same key rules as the file backend, so keys move between backends unchanged."""
    if not key or key.startswith("/") or any(part in ("", ".", "..") for part in key.split("/")):
        raise InvalidInput(f"blob key {key!r} must be a relative path without '.' or '..' parts")
    return key


def make_store(
    bucket: str,
    endpoint: str = "",
    region: str = "us-east-1",
    *,
    connect_timeout: float = 3.0,
    read_timeout: float = 30.0,
    max_attempts: int = 3,
) -> ObjectStore:
    """An obstore ``S3Store`` with timeouts and bounded retries; path-style addressing, and
    plain HTTP allowed only when the endpoint itself is ``http://``."""
    from obstore.store import S3Store

    options: dict[str, object] = {"region": region}
    if endpoint:
        options["endpoint"] = endpoint
    return S3Store(
        bucket,
        virtual_hosted_style_request=False,
        client_options={
            "allow_http": endpoint.startswith("http://"),
            "connect_timeout": timedelta(seconds=connect_timeout),
            "read_timeout": timedelta(seconds=read_timeout),
        },
        retry_config={
            "max_retries": max(max_attempts - 1, 0),
            "retry_timeout": timedelta(seconds=max(read_timeout, connect_timeout) * max_attempts),
            "backoff": {
                "init_backoff": timedelta(milliseconds=100),
                "max_backoff": timedelta(seconds=2),
                "base": 2,
            },
        },
        **options,  # type: ignore[arg-type]
    )


class S3BlobStore(BlobStore):
    """Keys live under ``prefix`` in the store's bucket (``bucket`` names it in errors)."""

    def __init__(
        self,
        store: ObjectStore,
        bucket: str,
        *,
        prefix: str = "",
        part_size: int = DEFAULT_PART_SIZE,
    ) -> None:
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"part_size {part_size} is below S3's minimum of {MIN_PART_SIZE}")
        self.store = store
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.part_size = part_size

    @classmethod
    def from_settings(cls, settings: Settings) -> S3BlobStore:
        store = make_store(settings.s3_bucket, settings.s3_endpoint, settings.s3_region)
        return cls(store, settings.s3_bucket, prefix=settings.s3_prefix)

    def _key(self, key: str) -> str:
        return self.prefix + validate_key(key)

    def _fail(self, exc: BaseException, what: str, *, missing_key: bool = False) -> NoReturn:
        """A missing key (where one was named) is BlobNotFound; the rest, a missing bucket
        included, is unavailable."""
        code = _code(exc)
        if missing_key and _is_missing(exc) and code != "NoSuchBucket":
            raise BlobNotFound(what) from exc
        detail = code or type(exc).__name__
        raise StoreUnavailable(f"S3 bucket {self.bucket!r}: {what}: {detail}") from exc

    def put_stream(
        self, key: str, chunks: Iterable[bytes], *, content_type: str = "application/octet-stream"
    ) -> int:
        import obstore

        name = self._key(key)
        source = iter(chunks)
        head = bytearray()
        for chunk in source:
            head += chunk
            if len(head) > self.part_size:
                break
        else:
            try:
                obstore.put(
                    self.store,
                    name,
                    bytes(head),
                    use_multipart=False,
                    attributes={"Content-Type": content_type},
                )
            except Exception as exc:
                if not _is_store_error(exc):
                    raise
                self._fail(exc, key)
            return len(head)

        size = 0
        failure: list[BaseException] = []

        def parts() -> Iterator[bytes]:
            # The source's own failure must reach the caller as itself, not as a store error.
            nonlocal size
            try:
                size += len(head)
                yield bytes(head)
                del head[:]
                for chunk in source:
                    size += len(chunk)
                    yield chunk
            except BaseException as exc:
                failure.append(exc)
                raise

        try:
            obstore.put(
                self.store,
                name,
                parts(),
                use_multipart=True,
                chunk_size=self.part_size,
                max_concurrency=PART_CONCURRENCY,
                attributes={"Content-Type": content_type},
            )
        except Exception as exc:
            if failure:
                raise failure[0] from None
            if not _is_store_error(exc):
                raise
            self._fail(exc, key)
        return size

    def open(self, key: str, *, chunk_size: int = 64 * 1024) -> Iterator[bytes]:
        import obstore

        name = self._key(key)
        try:
            answer = obstore.get(self.store, name)
        except Exception as exc:
            if not _is_store_error(exc):
                raise
            self._fail(exc, key, missing_key=True)
        return self._chunks(answer.stream(min_chunk_size=chunk_size), key, chunk_size)

    def _chunks(self, stream: Iterable[object], key: str, chunk_size: int) -> Iterator[bytes]:
        try:
            for buffer in stream:
                view = memoryview(buffer)  # type: ignore[arg-type]
                for start in range(0, len(view), chunk_size):
                    yield bytes(view[start : start + chunk_size])
        except Exception as exc:
            if not _is_store_error(exc):
                raise
            raise StoreUnavailable(f"S3 read of {key!r} was interrupted: {exc}") from exc

    def exists(self, key: str) -> bool:
        import obstore

        name = self._key(key)
        try:
            obstore.head(self.store, name)
        except Exception as exc:
            if not _is_store_error(exc):
                raise
            if _is_missing(exc):
                return False
            self._fail(exc, key)
        return True

    def list(self, prefix: str = "") -> list[str]:
        """S3 lists by any string prefix, obstore by whole path segments: list the segments
        that hold ``prefix`` and keep what starts with it."""
        import obstore

        wanted = self.prefix + prefix
        folder = wanted[: wanted.rfind("/")] if "/" in wanted else None
        try:
            found = obstore.list(self.store, prefix=folder).collect()
        except Exception as exc:
            if not _is_store_error(exc):
                raise
            self._fail(exc, f"list {prefix!r}")
        return sorted(
            str(item["path"])[len(self.prefix) :]
            for item in found
            if str(item["path"]).startswith(wanted)
        )

    def delete(self, key: str) -> None:
        import obstore

        name = self._key(key)
        try:
            obstore.delete(self.store, name)
        except Exception as exc:
            if not _is_store_error(exc):
                raise
            if _is_missing(exc) and _code(exc) != "NoSuchBucket":
                return
            self._fail(exc, key)

    def put_if_absent(
        self, key: str, data: bytes, *, content_type: str = "application/octet-stream"
    ) -> bool:
        """A conditional write (``If-None-Match: *``): two racing writers, one winner."""
        import obstore
        from obstore.exceptions import AlreadyExistsError, PreconditionError

        name = self._key(key)
        try:
            obstore.put(
                self.store,
                name,
                data,
                mode="create",
                use_multipart=False,
                attributes={"Content-Type": content_type},
            )
        except (AlreadyExistsError, PreconditionError):
            return False
        except Exception as exc:
            if not _is_store_error(exc):
                raise
            if _code(exc) in {"ConditionalRequestConflict", "409"}:
                return False
            if _code(exc) in {"NotImplemented", "501"}:
                # An S3-compatible store without conditional writes: check, then write.
                return super().put_if_absent(key, data, content_type=content_type)
            self._fail(exc, key)
        return True


def _is_store_error(exc: BaseException) -> bool:
    from obstore.exceptions import BaseError

    return isinstance(exc, (BaseError, OSError))


def _is_missing(exc: BaseException) -> bool:
    from obstore.exceptions import NotFoundError

    return isinstance(exc, (NotFoundError, FileNotFoundError))


def _code(exc: BaseException) -> str:
    """The S3 error code in obstore's message (the XML body it quotes), else its HTTP status."""
    text = str(exc)
    match = _CODE.search(text)
    if match:
        return match.group(1)
    status = _STATUS.search(text)
    return status.group(1) if status else ""
