"""The blob store interface: job logs, archived raw deliveries, dead letters.

Backends implement a few primitives; key layout lives in :mod:`healer.stores.keys`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator


class BlobStore(ABC):
    """Bytes under string keys (``a/b/c``). Backends raise ``StoreUnavailable`` when unreachable
    and ``BlobNotFound`` for a missing key."""

    @abstractmethod
    def put_stream(
        self, key: str, chunks: Iterable[bytes], *, content_type: str = "application/octet-stream"
    ) -> int:
        """Store the chunks under ``key`` without holding them whole; return the size."""

    @abstractmethod
    def open(self, key: str, *, chunk_size: int = 64 * 1024) -> Iterator[bytes]:
        """Stream the blob's bytes."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def list(self, prefix: str = "") -> list[str]:
        """Keys under ``prefix``, sorted."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove ``key``; removing a missing key is not an error."""

    def put(self, key: str, data: bytes, *, content_type: str = "application/octet-stream") -> int:
        return self.put_stream(key, [data], content_type=content_type)

    def get(self, key: str) -> bytes:
        return b"".join(self.open(key))

    def put_if_absent(
        self, key: str, data: bytes, *, content_type: str = "application/octet-stream"
    ) -> bool:
        """Store once; a redelivery does not rewrite what was archived. True if written."""
        if self.exists(key):
            return False
        self.put(key, data, content_type=content_type)
        return True
