"""The state store interface: dedup claims, JSON records, counters, bounded lists and ordered
indexes.

Backends supply atomic primitives (Redis ``SET NX``, ConfigMap ``resourceVersion``); policy
built on them (dedup windows, attempt records) lives in the stages, never read-then-write.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from typing import Any


class StateStore(ABC):
    """Keys are plain strings; values are strings (JSON where structured).

    Every method raises ``StoreUnavailable`` when the backend cannot be reached."""

    @abstractmethod
    def claim(self, key: str, value: str, ttl_seconds: int) -> bool:
        """Set ``key`` only if absent (atomically), expiring after ``ttl_seconds``."""

    @abstractmethod
    def get(self, key: str) -> str | None: ...

    @abstractmethod
    def set(self, key: str, value: str, ttl_seconds: int | None = None) -> None: ...

    @abstractmethod
    def compare_and_set(
        self, key: str, expected: str | None, value: str, ttl_seconds: int | None = None
    ) -> bool:
        """Write ``value`` only if the current value equals ``expected`` (None: absent)."""

    @abstractmethod
    def delete(self, key: str) -> None: ...

    @abstractmethod
    def incr(self, key: str, amount: int = 1, ttl_seconds: int | None = None) -> int:
        """Atomically add ``amount`` and return the new value."""

    @abstractmethod
    def push(self, key: str, value: str, max_len: int) -> None:
        """Prepend to a list kept at most ``max_len`` long (newest first)."""

    @abstractmethod
    def items(self, key: str, limit: int = 100) -> list[str]:
        """The list's newest ``limit`` values, newest first."""

    @abstractmethod
    def index_add(self, key: str, member: str, score: float) -> bool:
        """Add ``member`` to the ordered index at ``key`` with ``score``, only if absent (a
        member already there keeps its first score); True when it was added."""

    @abstractmethod
    def index_remove(self, key: str, member: str) -> bool:
        """Take ``member`` out of the index; True when it was there."""

    @abstractmethod
    def index_range(self, key: str, limit: int = 100) -> list[str]:
        """The index's first ``limit`` members, lowest score first (ties by member), so a
        reader finds what it needs without scanning every key."""

    @abstractmethod
    def keys(self, prefix: str) -> list[str]:
        """Keys (of any kind) starting with ``prefix``, sorted."""

    def ping(self) -> None:  # noqa: B027 - optional readiness probe
        """Raise ``StoreUnavailable`` if the backend is down."""

    def get_json(self, key: str) -> Any:
        raw = self.get(key)
        return None if raw is None else json.loads(raw)

    def set_json(self, key: str, value: Any, ttl_seconds: int | None = None) -> None:
        self.set(key, json.dumps(value, sort_keys=True), ttl_seconds)
