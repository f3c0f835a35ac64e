"""In-process state store: the embedded default for one process (demo, replay, unit tests)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from healer.stores.state import StateStore


class MemoryStateStore(StateStore):
    """A dict behind a lock; expiry is checked on read."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._values: dict[str, tuple[str, float | None]] = {}
        self._lists: dict[str, list[str]] = {}
        self._indexes: dict[str, dict[str, float]] = {}

    def _live(self, key: str) -> str | None:
        entry = self._values.get(key)
        if entry is None:
            return None
        value, expires = entry
        if expires is not None and expires <= self._clock():
            del self._values[key]
            return None
        return value

    def _expiry(self, ttl_seconds: int | None) -> float | None:
        return None if ttl_seconds is None else self._clock() + ttl_seconds

    def claim(self, key: str, value: str, ttl_seconds: int) -> bool:
        with self._lock:
            if self._live(key) is not None:
                return False
            self._values[key] = (value, self._expiry(ttl_seconds))
            return True

    def get(self, key: str) -> str | None:
        with self._lock:
            return self._live(key)

    def set(self, key: str, value: str, ttl_seconds: int | None = None) -> None:
        with self._lock:
            self._values[key] = (value, self._expiry(ttl_seconds))

    def compare_and_set(
        self, key: str, expected: str | None, value: str, ttl_seconds: int | None = None
    ) -> bool:
        with self._lock:
            if self._live(key) != expected:
                return False
            self._values[key] = (value, self._expiry(ttl_seconds))
            return True

    def delete(self, key: str) -> None:
        with self._lock:
            self._values.pop(key, None)
            self._lists.pop(key, None)
            self._indexes.pop(key, None)

    def incr(self, key: str, amount: int = 1, ttl_seconds: int | None = None) -> int:
        with self._lock:
            current = self._live(key)
            new = int(current or 0) + amount
            expires = self._values[key][1] if current is not None else self._expiry(ttl_seconds)
            self._values[key] = (str(new), expires)
            return new

    def push(self, key: str, value: str, max_len: int) -> None:
        with self._lock:
            items = self._lists.setdefault(key, [])
            items.insert(0, value)
            del items[max_len:]

    def items(self, key: str, limit: int = 100) -> list[str]:
        with self._lock:
            return list(self._lists.get(key, [])[:limit])

    def index_add(self, key: str, member: str, score: float) -> bool:
        with self._lock:
            index = self._indexes.setdefault(key, {})
            if member in index:
                return False
            index[member] = float(score)
            return True

    def index_remove(self, key: str, member: str) -> bool:
        with self._lock:
            index = self._indexes.get(key, {})
            if member not in index:
                return False
            del index[member]
            if not index:
                del self._indexes[key]
            return True

    def index_range(self, key: str, limit: int = 100) -> list[str]:
        with self._lock:
            ordered = sorted(self._indexes.get(key, {}).items(), key=lambda kv: (kv[1], kv[0]))
            return [member for member, _ in ordered[: max(0, limit)]]

    def keys(self, prefix: str) -> list[str]:
        with self._lock:
            live = [
                k for k in list(self._values) if k.startswith(prefix) and self._live(k) is not None
            ]
            other = [k for k in (*self._lists, *self._indexes) if k.startswith(prefix)]
            return sorted({*live, *other})
