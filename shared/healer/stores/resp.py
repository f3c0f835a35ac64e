"""A small synchronous Redis connection pool on ``hiredis``: the protocol is the library's.

``hiredis.pack_command`` encodes commands and ``hiredis.Reader`` parses replies (RESP2, decoded
as UTF-8); this module only holds sockets. It exists because redis-py imports its asyncio
client, cluster and observability modules on ``import redis`` (50–70 ms inside a
functions-framework process), paid by every stage's cold start; hiredis imports in under 1 ms.

Rules that keep a connection honest:

- one command (or one ``MULTI``…``EXEC`` batch) per checkout; a connection goes back to the
  pool only after every reply it was owed has been read, so a half-read reply never reaches
  the next command. Any socket, timeout or protocol failure closes the connection;
- every command has a deadline of ``timeout`` seconds (connect, TLS handshake, AUTH/SELECT and
  each reply), however slowly the server drips bytes;
- nothing is resent after a failure: a write that may have landed is reported, not repeated.
  (The one exception is ``EVALSHA``'s ``NOSCRIPT``, which says the script did not run.)
- a connection idle for ``health_check_after`` seconds answers a ``PING`` (within at most
  ``HEALTH_CHECK_TIMEOUT``) before it carries a command: a load balancer or NAT that dropped an
  idle flow without closing it would otherwise cost the next command its whole timeout and a
  retryable 503, where a fresh connection would have answered.
"""

from __future__ import annotations

import os
import select
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qs, unquote, urlsplit

import hiredis

from healer.stores.exceptions import StoreError, StoreUnavailable

if TYPE_CHECKING:
    import ssl

Arg = str | int | float | bytes

# Error replies that say "not now" rather than "wrong command": retryable outages upstream.
_UNAVAILABLE = {
    "READONLY": "redis refused a write (read-only replica)",
    "LOADING": "redis is loading its dataset",
    "MASTERDOWN": "redis has lost its primary",
    "BUSY": "redis is busy running a script",
    "OOM": "redis is out of memory (maxmemory reached, nothing to evict)",
    "MISCONF": "redis cannot persist to disk and refuses writes",
    "NOREPLICAS": "redis has too few replicas to accept writes",
    "NOAUTH": "redis requires a password (none in the URL)",
    "WRONGPASS": "redis rejected the credentials in the URL",
}

_NOT_ENOUGH_DATA = object()

HEALTH_CHECK_AFTER = 30.0  # seconds idle before a pooled connection is PINGed (as redis-py)
HEALTH_CHECK_TIMEOUT = 1.0  # at most this long for its PONG, within the command's deadline

# hiredis's stub types the argument as a 1-tuple; it takes a tuple of any length.
_pack = cast(Callable[[tuple[Arg, ...]], bytes], hiredis.pack_command)


class RedisReplyError(StoreError):
    """The server answered a command with an error (``WRONGTYPE``…): a bug, not an outage."""

    title = "state store command failed"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.code = message.split(" ", 1)[0]


class _Broken(Exception):
    """The connection can no longer be trusted (closed, timed out, garbled)."""


class _NotText(Exception):
    """A reply held bytes that are not UTF-8 (someone else's value): the store deals in str."""


class _Refused(Exception):
    """The server refused AUTH or SELECT while connecting (its message names no secret)."""


@dataclass(frozen=True)
class Endpoint:
    """Where and how to connect, parsed from a ``redis://``, ``rediss://`` or ``unix://`` URL."""

    host: str = "localhost"
    port: int = 6379
    path: str | None = None  # a unix socket
    tls: bool = False
    username: str | None = None
    password: str | None = None
    db: int = 0

    def __repr__(self) -> str:  # never show the password
        where = self.path or f"{self.host}:{self.port}"
        return f"Endpoint({'rediss' if self.tls else 'redis'}://{where}/{self.db})"

    @classmethod
    def from_url(cls, url: str) -> Endpoint:
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss", "unix"):
            raise ValueError("a Redis URL starts with redis://, rediss:// or unix://")
        query = parse_qs(parts.query)
        username = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password is not None else None
        if password is None and query.get("password"):
            password = query["password"][0]
        db_text = parts.path.lstrip("/") if parts.scheme != "unix" else ""
        if not db_text and query.get("db"):
            db_text = query["db"][0]
        try:
            db = int(db_text or 0)
        except ValueError:
            raise ValueError("the Redis URL's database is not a number") from None
        if parts.scheme == "unix":
            if not parts.path:
                raise ValueError("a unix:// Redis URL needs a socket path")
            return cls(path=parts.path, username=username, password=password, db=db)
        try:
            port = parts.port or 6379
        except ValueError:
            raise ValueError("the Redis URL's port is not a number from 1 to 65535") from None
        return cls(
            host=parts.hostname or "localhost",
            port=port,
            tls=parts.scheme == "rediss",
            username=username or None,
            password=password,
            db=db,
        )


class Connection:
    """One socket and its reply parser; used by one thread at a time (the pool sees to it)."""

    def __init__(
        self, endpoint: Endpoint, timeout: float, ssl_context: ssl.SSLContext | None
    ) -> None:
        deadline = time.monotonic() + timeout
        self.sock = _open_socket(endpoint, deadline, ssl_context)
        self.reader = hiredis.Reader(
            encoding="utf-8", replyError=RedisReplyError, notEnoughData=_NOT_ENOUGH_DATA
        )
        self.pid = os.getpid()
        self.last_used = time.monotonic()
        try:
            self._handshake(endpoint, deadline)
        except BaseException:
            self.close()
            raise

    def _handshake(self, endpoint: Endpoint, deadline: float) -> None:
        commands: list[tuple[Arg, ...]] = []
        if endpoint.password is not None:
            auth: tuple[Arg, ...] = ("AUTH", endpoint.password)
            if endpoint.username:
                auth = ("AUTH", endpoint.username, endpoint.password)
            commands.append(auth)
        if endpoint.db:
            commands.append(("SELECT", endpoint.db))
        if commands:
            for command, reply in zip(commands, self.call(commands, deadline), strict=True):
                if isinstance(reply, RedisReplyError):
                    raise _Refused(f"{command[0]!s} failed: {reply}")

    def call(self, commands: Sequence[tuple[Arg, ...]], deadline: float) -> list[Any]:
        """Send ``commands`` in one write and read one reply each (error replies as values)."""
        self._send(b"".join(_pack(command) for command in commands), deadline)
        return [self._read(deadline) for _ in commands]

    def _send(self, data: bytes, deadline: float) -> None:
        self.sock.settimeout(_remaining(deadline))
        self.sock.sendall(data)

    def _read(self, deadline: float) -> Any:
        while True:
            try:
                reply = self.reader.gets()
            except hiredis.ProtocolError as exc:
                raise _Broken(f"malformed reply: {exc}") from exc
            except UnicodeDecodeError as exc:
                raise _NotText("redis returned a value that is not UTF-8 text") from exc
            if reply is not _NOT_ENOUGH_DATA:
                return reply  # error replies are RedisReplyError values, raised by the caller
            self.sock.settimeout(_remaining(deadline))
            data = self.sock.recv(65536)
            if not data:
                raise _Broken("the server closed the connection")
            self.reader.feed(data)

    def idle_and_open(self) -> bool:
        """Nothing to read on an idle connection, so the server has not closed it (a check
        without a round trip; anything readable, EOF or stray bytes, condemns it)."""
        if self.pid != os.getpid():
            return False  # inherited across fork: the parent owns the stream
        if self.reader.has_data():
            return False  # bytes that came with the last reply, owed to no command
        try:
            readable, _, _ = select.select([self.sock], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable

    def close(self) -> None:
        self.sock.close()

    def __del__(self) -> None:
        # A pool dropped without close() (a discarded store) lets its sockets go quietly.
        sock = getattr(self, "sock", None)
        if sock is not None:
            sock.close()


class RespClient:
    """A thread-safe pool of ``Connection``s to one endpoint; every call has the same deadline.

    Threads take a connection each (making one when none is idle) and give it back after a
    clean exchange; a connection that failed mid-command is closed, never returned.
    """

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        timeout: float = 5.0,
        ssl_context: ssl.SSLContext | None = None,
        max_idle: int = 16,
        health_check_after: float = HEALTH_CHECK_AFTER,
    ) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        self.max_idle = max_idle
        self.health_check_after = health_check_after
        if endpoint.tls and ssl_context is None:
            import ssl

            ssl_context = ssl.create_default_context()  # verifies against the system trust store
        self._ssl_context = ssl_context if endpoint.tls else None
        self._idle: list[Connection] = []
        self._lock = threading.Lock()

    @classmethod
    def from_url(
        cls, url: str, *, timeout: float = 5.0, ssl_context: ssl.SSLContext | None = None
    ) -> RespClient:
        return cls(Endpoint.from_url(url), timeout=timeout, ssl_context=ssl_context)

    def execute(self, *command: Arg) -> Any:
        """One command's reply; an error reply raises ``RedisReplyError`` or
        ``StoreUnavailable``."""
        (reply,) = self._exchange([command])
        return _raise_if_error(reply)

    def transaction(self, *commands: tuple[Arg, ...]) -> list[Any]:
        """``commands`` inside one ``MULTI``/``EXEC``, sent in one write: EXEC's replies."""
        replies = self._exchange([("MULTI",), *commands, ("EXEC",)])
        for reply in replies[:-1]:
            _raise_if_error(reply)
        result = _raise_if_error(replies[-1])
        if result is None:
            raise RedisReplyError("EXECABORT the transaction was discarded")
        return [_raise_if_error(reply) for reply in result]

    def idle_connections(self) -> int:
        with self._lock:
            return len(self._idle)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def _exchange(self, commands: Sequence[tuple[Arg, ...]]) -> list[Any]:
        deadline = time.monotonic() + self.timeout
        try:
            connection = self._checkout(deadline)
        except _Refused as exc:
            raise StoreUnavailable(f"redis refused the connection: {exc}") from exc
        except (OSError, _Broken) as exc:
            raise self._unreachable(exc) from exc
        try:
            replies = connection.call(commands, deadline)
        except (OSError, _Broken) as exc:
            connection.close()
            raise self._unreachable(exc) from exc
        except _NotText as exc:  # not an outage; the rest of the reply may be unread
            connection.close()
            raise StoreError(str(exc)) from exc
        except BaseException:
            connection.close()
            raise
        self._checkin(connection)
        return replies

    def _checkout(self, deadline: float) -> Connection:
        while True:
            with self._lock:
                connection = self._idle.pop() if self._idle else None
            if connection is None:
                return Connection(self.endpoint, self.timeout, self._ssl_context)
            if connection.idle_and_open() and self._answers(connection, deadline):
                return connection
            connection.close()

    def _answers(self, connection: Connection, deadline: float) -> bool:
        """True unless the connection sat idle long enough to be checked and failed the check."""
        if time.monotonic() - connection.last_used < self.health_check_after:
            return True
        check = min(deadline, time.monotonic() + HEALTH_CHECK_TIMEOUT)
        try:
            return bool(connection.call([("PING",)], check) == ["PONG"])
        except (OSError, _Broken, _NotText):
            return False

    def _checkin(self, connection: Connection) -> None:
        connection.last_used = time.monotonic()
        with self._lock:
            if len(self._idle) < self.max_idle:
                self._idle.append(connection)
                return
        connection.close()

    def _unreachable(self, exc: BaseException) -> StoreUnavailable:
        kind = "Timeout" if isinstance(exc, TimeoutError | socket.timeout) else type(exc).__name__
        where = self.endpoint.path or f"{self.endpoint.host}:{self.endpoint.port}"
        return StoreUnavailable(f"redis is unreachable: {kind} at {where}: {exc}")


def _open_socket(
    endpoint: Endpoint, deadline: float, ssl_context: ssl.SSLContext | None
) -> socket.socket:
    if endpoint.path is not None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(_remaining(deadline))
            sock.connect(endpoint.path)
        except BaseException:
            sock.close()
            raise
        return sock
    sock = _connect(endpoint.host, endpoint.port, deadline)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if ssl_context is not None:
            sock.settimeout(_remaining(deadline))
            return ssl_context.wrap_socket(sock, server_hostname=endpoint.host)
    except BaseException:
        sock.close()
        raise
    return sock


def _connect(host: str, port: int, deadline: float) -> socket.socket:
    """``socket.create_connection``, except that the addresses a name resolves to share one
    deadline (it gives each the whole timeout: three dead pods, three timeouts)."""
    error: OSError = OSError(f"{host} resolves to no address")
    for family, kind, proto, _, address in socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM):
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(_remaining(deadline))
            sock.connect(address)
        except OSError as exc:
            sock.close()
            error = exc
            continue
        except BaseException:
            sock.close()
            raise
        return sock
    raise error


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("timed out waiting for redis")
    return left


def _raise_if_error(reply: Any) -> Any:
    if isinstance(reply, RedisReplyError):
        raise _unavailable_or(reply)
    return reply


def _unavailable_or(error: RedisReplyError) -> StoreError | StoreUnavailable:
    meaning = _UNAVAILABLE.get(error.code)
    if meaning is None:
        return error
    unavailable = StoreUnavailable(f"{meaning}: {error}")
    unavailable.__cause__ = error
    return unavailable
