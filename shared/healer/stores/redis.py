"""State store on Redis: the production backend shared by every function instance.

Each primitive is one atomic Redis operation: claims are ``SET NX EX``, compare-and-set and
counters are short Lua scripts (run atomically by the server), bounded lists are
``LPUSH`` + ``LTRIM`` in one ``MULTI``, ordered indexes are sorted sets (``ZADD NX``). The
redis package is imported only when this backend is built, and every connection or timeout
error becomes ``StoreUnavailable``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol, TypeVar, cast

from healer.stores.exceptions import StoreUnavailable
from healer.stores.state import StateStore

T = TypeVar("T")

# KEYS[1]; ARGV: expect_absent ('1'/'0'), expected, value, ttl seconds ('' for none).
_COMPARE_AND_SET = """
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if current then return 0 end
elseif current ~= ARGV[2] then
  return 0
end
if ARGV[4] ~= '' then
  redis.call('SET', KEYS[1], ARGV[3], 'EX', ARGV[4])
else
  redis.call('SET', KEYS[1], ARGV[3])
end
return 1
"""

# KEYS[1]; ARGV: amount, ttl seconds ('' for none). The expiry is set only by the first write.
_INCR = """
local existed = redis.call('EXISTS', KEYS[1])
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if existed == 0 and ARGV[2] ~= '' then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return value
"""

_GLOB_SPECIAL = str.maketrans({c: f"\\{c}" for c in "*?[]\\"})


class RedisPipelineProtocol(Protocol):
    def lpush(self, name: str, *values: str) -> Any: ...
    def ltrim(self, name: str, start: int, end: int) -> Any: ...
    def delete(self, *names: str) -> Any: ...
    def execute(self) -> list[Any]: ...


class RedisClientProtocol(Protocol):
    """The redis-py client methods this store uses (``decode_responses=True``)."""

    def set(
        self, name: str, value: str, ex: int | None = None, nx: bool = False
    ) -> bool | None: ...
    def get(self, name: str) -> str | None: ...
    def delete(self, *names: str) -> int: ...
    def eval(self, script: str, numkeys: int, *keys_and_args: str) -> Any: ...
    def lrange(self, name: str, start: int, end: int) -> list[str]: ...
    def zadd(self, name: str, mapping: dict[str, float], nx: bool = False) -> int: ...
    def zrem(self, name: str, *values: str) -> int: ...
    def zrange(self, name: str, start: int, end: int) -> list[str]: ...
    def scan_iter(self, match: str | None = None, count: int | None = None) -> Iterator[str]: ...
    def pipeline(self, transaction: bool = True) -> RedisPipelineProtocol: ...
    def ping(self) -> bool: ...


def _ttl(ttl_seconds: int | None) -> str:
    return "" if ttl_seconds is None else str(max(1, int(ttl_seconds)))


class RedisStateStore(StateStore):
    """Strings and lists in one Redis database; ``namespace`` prefixes every key."""

    def __init__(self, client: RedisClientProtocol, *, namespace: str = "") -> None:
        self.client = client
        self.namespace = namespace

    @classmethod
    def from_url(cls, url: str, *, timeout: float = 5.0, namespace: str = "") -> RedisStateStore:
        """A client for ``redis://`` / ``rediss://`` URLs, with connect and read timeouts."""
        import redis

        client = redis.Redis.from_url(
            url,
            decode_responses=True,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            health_check_interval=30,
        )
        return cls(cast(RedisClientProtocol, client), namespace=namespace)

    def _k(self, key: str) -> str:
        return self.namespace + key

    def _run(self, call: Callable[[], T]) -> T:
        import redis.exceptions as rex

        try:
            return call()
        except (rex.ConnectionError, rex.TimeoutError) as exc:
            raise StoreUnavailable(f"redis is unreachable: {type(exc).__name__}: {exc}") from exc
        except rex.ReadOnlyError as exc:
            raise StoreUnavailable(f"redis refused a write (read-only replica): {exc}") from exc

    def claim(self, key: str, value: str, ttl_seconds: int) -> bool:
        name = self._k(key)
        ttl = max(1, int(ttl_seconds))
        return bool(self._run(lambda: self.client.set(name, value, ex=ttl, nx=True)))

    def get(self, key: str) -> str | None:
        name = self._k(key)
        return self._run(lambda: self.client.get(name))

    def set(self, key: str, value: str, ttl_seconds: int | None = None) -> None:
        name = self._k(key)
        ttl = None if ttl_seconds is None else max(1, int(ttl_seconds))
        self._run(lambda: self.client.set(name, value, ex=ttl))

    def compare_and_set(
        self, key: str, expected: str | None, value: str, ttl_seconds: int | None = None
    ) -> bool:
        args = ("1" if expected is None else "0", expected or "", value, _ttl(ttl_seconds))
        name = self._k(key)
        answer = self._run(lambda: self.client.eval(_COMPARE_AND_SET, 1, name, *args))
        return int(answer) == 1

    def delete(self, key: str) -> None:
        name = self._k(key)
        self._run(lambda: self.client.delete(name))

    def incr(self, key: str, amount: int = 1, ttl_seconds: int | None = None) -> int:
        name = self._k(key)
        ttl = _ttl(ttl_seconds)
        return int(self._run(lambda: self.client.eval(_INCR, 1, name, str(amount), ttl)))

    def push(self, key: str, value: str, max_len: int) -> None:
        name = self._k(key)

        def push_and_trim() -> list[Any]:
            pipe = self.client.pipeline(transaction=True)
            pipe.lpush(name, value)
            if max_len > 0:
                pipe.ltrim(name, 0, max_len - 1)
            else:
                pipe.delete(name)
            return pipe.execute()

        self._run(push_and_trim)

    def items(self, key: str, limit: int = 100) -> list[str]:
        if limit <= 0:
            return []
        name = self._k(key)
        return list(self._run(lambda: self.client.lrange(name, 0, limit - 1)))

    def index_add(self, key: str, member: str, score: float) -> bool:
        name = self._k(key)
        added = self._run(lambda: self.client.zadd(name, {member: float(score)}, nx=True))
        return int(added) == 1

    def index_remove(self, key: str, member: str) -> bool:
        name = self._k(key)
        return int(self._run(lambda: self.client.zrem(name, member))) == 1

    def index_range(self, key: str, limit: int = 100) -> list[str]:
        if limit <= 0:
            return []
        name = self._k(key)
        return list(self._run(lambda: self.client.zrange(name, 0, limit - 1)))

    def keys(self, prefix: str) -> list[str]:
        pattern = self._k(prefix).translate(_GLOB_SPECIAL) + "*"
        start = len(self.namespace)
        found = self._run(
            lambda: {k[start:] for k in self.client.scan_iter(match=pattern, count=500)}
        )
        return sorted(found)

    def ping(self) -> None:
        self._run(self.client.ping)
