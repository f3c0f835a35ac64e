"""State store on Redis: the production backend shared by every function instance.

Each primitive is one atomic Redis operation: claims are ``SET NX EX``, compare-and-set and
counters are short Lua scripts (run atomically by the server, by ``EVALSHA`` once cached),
bounded lists are ``LPUSH`` + ``LTRIM`` in one ``MULTI``, ordered indexes are sorted sets
(``ZADD NX``). Commands go through ``healer.stores.resp`` (hiredis's protocol, our sockets),
which turns connection trouble and timeouts into ``StoreUnavailable``.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any, Protocol

from healer.stores.resp import RedisReplyError
from healer.stores.state import StateStore

if TYPE_CHECKING:
    import ssl

    from healer.stores.resp import Arg

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

_COMPARE_AND_SET_SHA = hashlib.sha1(_COMPARE_AND_SET.encode()).hexdigest()
_INCR_SHA = hashlib.sha1(_INCR.encode()).hexdigest()

_GLOB_SPECIAL = str.maketrans({c: f"\\{c}" for c in "*?[]\\"})


class RespClientProtocol(Protocol):
    """What the store needs of a connection pool (``RespClient``): one command, or several
    in one ``MULTI``/``EXEC``; replies decoded as ``str``."""

    def execute(self, *command: Arg) -> Any: ...
    def transaction(self, *commands: tuple[Arg, ...]) -> list[Any]: ...
    def close(self) -> None: ...


def _ttl(ttl_seconds: int | None) -> str:
    return "" if ttl_seconds is None else str(max(1, int(ttl_seconds)))


class RedisStateStore(StateStore):
    """Strings and lists in one Redis database; ``namespace`` prefixes every key."""

    def __init__(self, client: RespClientProtocol, *, namespace: str = "") -> None:
        self.client = client
        self.namespace = namespace

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        timeout: float = 5.0,
        namespace: str = "",
        ssl_context: ssl.SSLContext | None = None,
    ) -> RedisStateStore:
        """A pool for ``redis://``, ``rediss://`` (TLS, system trust store unless
        ``ssl_context``) or ``unix://`` URLs; ``timeout`` bounds connecting and each reply."""
        from healer.stores.resp import RespClient

        client = RespClient.from_url(url, timeout=timeout, ssl_context=ssl_context)
        return cls(client, namespace=namespace)

    def close(self) -> None:
        self.client.close()

    def _k(self, key: str) -> str:
        return self.namespace + key

    def _script(self, script: str, sha: str, *keys_and_args: Arg) -> Any:
        """Run a script by digest; on ``NOSCRIPT`` (nothing ran) send its body once."""
        try:
            return self.client.execute("EVALSHA", sha, 1, *keys_and_args)
        except RedisReplyError as exc:
            if exc.code != "NOSCRIPT":
                raise
        return self.client.execute("EVAL", script, 1, *keys_and_args)

    def claim(self, key: str, value: str, ttl_seconds: int) -> bool:
        ttl = max(1, int(ttl_seconds))
        return self.client.execute("SET", self._k(key), value, "EX", ttl, "NX") is not None

    def get(self, key: str) -> str | None:
        value: str | None = self.client.execute("GET", self._k(key))
        return value

    def set(self, key: str, value: str, ttl_seconds: int | None = None) -> None:
        if ttl_seconds is None:
            self.client.execute("SET", self._k(key), value)
        else:
            self.client.execute("SET", self._k(key), value, "EX", max(1, int(ttl_seconds)))

    def compare_and_set(
        self, key: str, expected: str | None, value: str, ttl_seconds: int | None = None
    ) -> bool:
        args = ("1" if expected is None else "0", expected or "", value, _ttl(ttl_seconds))
        answer = self._script(_COMPARE_AND_SET, _COMPARE_AND_SET_SHA, self._k(key), *args)
        return int(answer) == 1

    def delete(self, key: str) -> None:
        self.client.execute("DEL", self._k(key))

    def incr(self, key: str, amount: int = 1, ttl_seconds: int | None = None) -> int:
        return int(self._script(_INCR, _INCR_SHA, self._k(key), amount, _ttl(ttl_seconds)))

    def push(self, key: str, value: str, max_len: int) -> None:
        name = self._k(key)
        bound: tuple[Arg, ...] = ("LTRIM", name, 0, max_len - 1) if max_len > 0 else ("DEL", name)
        self.client.transaction(("LPUSH", name, value), bound)

    def items(self, key: str, limit: int = 100) -> list[str]:
        if limit <= 0:
            return []
        return list(self.client.execute("LRANGE", self._k(key), 0, limit - 1))

    def index_add(self, key: str, member: str, score: float) -> bool:
        added = self.client.execute("ZADD", self._k(key), "NX", repr(float(score)), member)
        return int(added) == 1

    def index_remove(self, key: str, member: str) -> bool:
        return int(self.client.execute("ZREM", self._k(key), member)) == 1

    def index_range(self, key: str, limit: int = 100) -> list[str]:
        if limit <= 0:
            return []
        return list(self.client.execute("ZRANGE", self._k(key), 0, limit - 1))

    def keys(self, prefix: str) -> list[str]:
        pattern = self._k(prefix).translate(_GLOB_SPECIAL) + "*"
        start = len(self.namespace)
        found: set[str] = set()
        cursor = "0"
        while True:
            cursor, batch = self.client.execute("SCAN", cursor, "MATCH", pattern, "COUNT", 500)
            found.update(name[start:] for name in batch)
            if cursor == "0":
                return sorted(found)

    def ping(self) -> None:
        self.client.execute("PING")
