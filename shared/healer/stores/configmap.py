"""State store in Kubernetes ConfigMaps: shared state with no infrastructure beyond the cluster.

Each key is one data entry of a ConfigMap in the function's namespace (optionally spread over
several ConfigMaps by key hash); each entry holds ``{"v": value, "exp": epoch seconds | null}``,
lists as JSON arrays, ordered indexes as ``{member: score}`` objects. Every write is an
optimistic read-modify-write: the PUT carries the ``resourceVersion`` that was read, a ``409``
means another writer won, and the operation is re-read and retried, so claims, compare-and-set
and counters stay atomic across processes. Expired entries read as absent and are pruned by the
next write to their ConfigMap.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import time
import zlib
from collections.abc import Callable
from typing import Any, TypeVar

from healer.settings import Settings
from healer.stores.configmap_api import ConfigMapApi, Conflict
from healer.stores.exceptions import StoreError, StoreUnavailable
from healer.stores.state import StateStore

R = TypeVar("R")

MAX_DATA_BYTES = 900 * 1024  # the API server refuses ConfigMaps over 1 MiB
MAX_FIELD_LEN = 253
_SAFE = re.compile(r"[-.a-zA-Z0-9]")
_ESCAPED = re.compile(r"((?:_[0-9A-F]{2})+)")
_HASHED = "__"  # "_" itself is always escaped, so no encoded key starts like this
KEEP = object()  # a decision that leaves the ConfigMap untouched
DELETE = object()  # a decision that removes the entry

Decision = tuple[Any, float | None, R]  # (new value | KEEP | DELETE, its expiry, the answer)
Decide = Callable[[Any, float | None, float], Decision[R]]  # (current, its expiry, now)


class StoreFull(StoreError):
    """The write would push a ConfigMap past what the API server accepts."""

    status = 507
    title = "state store full"


def encode_key(key: str) -> str:
    """A ConfigMap data key for ``key``: ``_XX`` escapes, a hash when too long."""
    out = []
    for i, char in enumerate(key):
        if _SAFE.fullmatch(char) and not (i == 0 and char == "."):
            out.append(char)
        else:
            out.extend(f"_{byte:02X}" for byte in char.encode())
    field = "".join(out)
    if not field or len(field) > MAX_FIELD_LEN:
        return _HASHED + hashlib.sha256(key.encode()).hexdigest()
    return field


def decode_key(field: str) -> str | None:
    """The key an escaped field stands for; None for hashed fields (their entry names it)."""
    if field.startswith(_HASHED):
        return None
    return _ESCAPED.sub(
        lambda m: bytes.fromhex(m.group(1).replace("_", "")).decode(errors="replace"), field
    )


def _parse(raw: str) -> tuple[Any, float | None, str | None]:
    """(value, expiry, original key) of an entry; a hand-written plain value stays a string."""
    try:
        entry = json.loads(raw)
    except ValueError:
        return raw, None, None
    if not isinstance(entry, dict) or "v" not in entry:
        return raw, None, None
    exp = entry.get("exp")
    return entry["v"], float(exp) if isinstance(exp, int | float) else None, entry.get("k")


def _expired(raw: str, now: float) -> bool:
    exp = _parse(raw)[1]
    return exp is not None and exp <= now


class ConfigMapStateStore(StateStore):
    """Keys as entries of ConfigMaps named ``name`` (or ``name-0`` … ``name-{shards-1}``)."""

    def __init__(
        self,
        api: ConfigMapApi,
        *,
        name: str = "healer-state",
        shards: int = 1,
        max_attempts: int = 60,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.api = api
        self.names = [name] if shards <= 1 else [f"{name}-{i}" for i in range(shards)]
        self.max_attempts = max_attempts
        self._clock = clock
        self._sleep = sleep

    @classmethod
    def from_settings(cls, settings: Settings) -> ConfigMapStateStore:
        return cls(
            ConfigMapApi.from_settings(settings),
            name=settings.configmap_name,
            shards=settings.configmap_shards,
        )

    def _shard(self, key: str) -> str:
        return self.names[zlib.crc32(key.encode()) % len(self.names)]

    @staticmethod
    def _live(data: dict[str, str], field: str, now: float) -> tuple[Any, float | None]:
        """(value, expiry) of a live entry; (None, None) when absent or expired."""
        raw = data.get(field)
        if raw is None:
            return None, None
        value, exp, _ = _parse(raw)
        return (None, None) if exp is not None and exp <= now else (value, exp)

    def _read(self, key: str) -> Any:
        obj = self.api.read(self._shard(key))
        data = (obj or {}).get("data") or {}
        return self._live(data, encode_key(key), self._clock())[0]

    def _update(self, key: str, decide: Decide[R]) -> R:
        """Apply ``decide(current, its expiry, now) -> (new value | KEEP | DELETE, expiry,
        result)`` with a conditional write, re-reading and retrying when another writer won."""
        name, field = self._shard(key), encode_key(key)
        for attempt in range(self.max_attempts):
            obj = self.api.read(name)
            data: dict[str, str] = dict((obj or {}).get("data") or {})
            now = self._clock()
            value, exp, result = decide(*self._live(data, field, now), now)
            if value is KEEP:
                return result
            new = {k: v for k, v in data.items() if not _expired(v, now)}
            if value is DELETE:
                new.pop(field, None)
            else:
                entry: dict[str, Any] = {"v": value, "exp": exp}
                if field.startswith(_HASHED):
                    entry["k"] = key
                new[field] = json.dumps(entry, separators=(",", ":"))
            if new == data:
                return result
            self._check_size(name, data, new)
            try:
                if obj is None:
                    self.api.create(name, new)
                else:
                    self.api.replace(obj, new)
                return result
            except Conflict:
                self._sleep(random.uniform(0, min(0.2, 0.004 * 2 ** min(attempt, 6))))
        raise StoreUnavailable(
            f"ConfigMap {name!r} kept changing under {self.max_attempts} attempts to write "
            f"{key!r}; too many concurrent writers"
        )

    @staticmethod
    def _check_size(name: str, old: dict[str, str], new: dict[str, str]) -> None:
        size = sum(len(k) + len(v.encode()) for k, v in new.items())
        if size > MAX_DATA_BYTES and size > sum(len(k) + len(v.encode()) for k, v in old.items()):
            raise StoreFull(
                f"ConfigMap {name!r} would hold {size} bytes, over the {MAX_DATA_BYTES}-byte "
                "budget (the API server refuses 1 MiB); raise configmap_shards or expire entries"
            )

    @staticmethod
    def _expiry(now: float, ttl_seconds: int | None) -> float | None:
        return None if ttl_seconds is None else now + max(1, int(ttl_seconds))

    def claim(self, key: str, value: str, ttl_seconds: int) -> bool:
        def decide(current: Any, _: float | None, now: float) -> Decision[bool]:
            if current is not None:
                return KEEP, None, False
            return value, self._expiry(now, ttl_seconds), True

        return self._update(key, decide)

    def get(self, key: str) -> str | None:
        value = self._read(key)
        return value if isinstance(value, str) else None

    def set(self, key: str, value: str, ttl_seconds: int | None = None) -> None:
        self._update(key, lambda _, __, now: (value, self._expiry(now, ttl_seconds), None))

    def compare_and_set(
        self, key: str, expected: str | None, value: str, ttl_seconds: int | None = None
    ) -> bool:
        def decide(current: Any, _: float | None, now: float) -> Decision[bool]:
            if current != expected:
                return KEEP, None, False
            return value, self._expiry(now, ttl_seconds), True

        return self._update(key, decide)

    def delete(self, key: str) -> None:
        self._update(key, lambda _, __, ___: (DELETE, None, None))

    def incr(self, key: str, amount: int = 1, ttl_seconds: int | None = None) -> int:
        def decide(current: Any, exp: float | None, now: float) -> Decision[int]:
            if current is None:
                return str(amount), self._expiry(now, ttl_seconds), amount
            try:
                new = int(current) + amount
            except (TypeError, ValueError):
                raise StoreError(f"the value at {key!r} is not an integer") from None
            return str(new), exp, new  # the first write alone sets the expiry

        return self._update(key, decide)

    def push(self, key: str, value: str, max_len: int) -> None:
        def decide(current: Any, _: float | None, __: float) -> Decision[None]:
            if max_len <= 0:
                return DELETE, None, None
            items = current if isinstance(current, list) else []
            return [value, *items][:max_len], None, None

        self._update(key, decide)

    def items(self, key: str, limit: int = 100) -> list[str]:
        value = self._read(key)
        if limit <= 0 or not isinstance(value, list):
            return []
        return [str(item) for item in value[:limit]]

    def index_add(self, key: str, member: str, score: float) -> bool:
        def decide(current: Any, _: float | None, __: float) -> Decision[bool]:
            index = current if isinstance(current, dict) else {}
            if member in index:
                return KEEP, None, False
            return {**index, member: float(score)}, None, True

        return self._update(key, decide)

    def index_remove(self, key: str, member: str) -> bool:
        def decide(current: Any, _: float | None, __: float) -> Decision[bool]:
            index = current if isinstance(current, dict) else {}
            if member not in index:
                return KEEP, None, False
            rest = {m: s for m, s in index.items() if m != member}
            return (rest if rest else DELETE), None, True

        return self._update(key, decide)

    def index_range(self, key: str, limit: int = 100) -> list[str]:
        value = self._read(key)
        if limit <= 0 or not isinstance(value, dict):
            return []
        ordered = sorted(value.items(), key=lambda kv: (float(kv[1]), str(kv[0])))
        return [str(member) for member, _ in ordered[:limit]]

    def keys(self, prefix: str) -> list[str]:
        now = self._clock()
        found: set[str] = set()
        for name in self.names:
            data = (self.api.read(name) or {}).get("data") or {}
            for field, raw in data.items():
                _, exp, original = _parse(raw)
                if exp is not None and exp <= now:
                    continue
                key = decode_key(field) if original is None else str(original)
                if key is not None and key.startswith(prefix):
                    found.add(key)
        return sorted(found)

    def ping(self) -> None:
        self.api.read(self.names[0])
