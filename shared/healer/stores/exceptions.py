"""Store errors. An unreachable store is retryable (the broker redelivers); a missing key is not."""

from __future__ import annotations

from healer.errors import HealerError, StoreUnavailable

__all__ = ["BlobNotFound", "StoreError", "StoreUnavailable"]


class StoreError(HealerError):
    """Base of store errors that are not about reachability."""


class BlobNotFound(StoreError, KeyError):
    """No blob under that key."""

    status = 404
    title = "blob not found"

    def __str__(self) -> str:
        return f"no blob under key {self.args[0]!r}" if self.args else "blob not found"
