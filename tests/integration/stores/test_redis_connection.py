"""The Redis store's connections (healer.stores.resp) against real redis-servers: AUTH, ACL
users, SELECT, TLS, unix sockets, outages and recovery, replies that stall or break off,
concurrency and error replies. Misbehaving servers are scripted sockets that speak RESP."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import hiredis
import pytest
import trustme

from healer.stores.exceptions import StoreError, StoreUnavailable
from healer.stores.redis import RedisStateStore
from healer.stores.resp import HEALTH_CHECK_TIMEOUT, Endpoint, RedisReplyError, RespClient

if TYPE_CHECKING:
    from tests.integration.conftest import DisposableRedis

pytestmark = pytest.mark.integration

PASSWORD = "s3cret-Pa55word"


@pytest.fixture
def store_factory() -> Iterator[Callable[..., RedisStateStore]]:
    stores: list[RedisStateStore] = []

    def build(url: str, **kwargs: object) -> RedisStateStore:
        store = RedisStateStore.from_url(url, **kwargs)  # type: ignore[arg-type]
        stores.append(store)
        return store

    yield build
    for store in stores:
        store.close()


def with_auth(server: DisposableRedis, userinfo: str, db: int = 0) -> str:
    return f"redis://{userinfo}@127.0.0.1:{server.port}/{db}"


# -- AUTH and SELECT ------------------------------------------------------------------------


def test_a_password_in_the_url_authenticates(
    redis_servers: Callable[..., DisposableRedis],
    store_factory: Callable[..., RedisStateStore],
) -> None:
    server = redis_servers("--requirepass", PASSWORD)
    store = store_factory(with_auth(server, f":{PASSWORD}"))
    store.set("task:t", "v")
    assert store.get("task:t") == "v"

    anonymous = store_factory(server.url)
    with pytest.raises(StoreUnavailable, match=r"requires a password.*NOAUTH"):
        anonymous.get("task:t")


def test_an_acl_user_authenticates_by_name(
    redis_servers: Callable[..., DisposableRedis],
    store_factory: Callable[..., RedisStateStore],
) -> None:
    server = redis_servers("--requirepass", PASSWORD)
    admin = RespClient.from_url(with_auth(server, f":{PASSWORD}"))
    admin.execute("ACL", "SETUSER", "healer", "on", ">user-Pa55", "~*", "+@all")
    admin.close()

    store = store_factory(with_auth(server, "healer:user-Pa55"))
    assert store.claim("dedup:delivery:d", "ingest", 60)
    assert store.client.execute("ACL", "WHOAMI") == "healer"


@pytest.mark.parametrize("userinfo", [":wrong-Pa55", "healer:wrong-Pa55", "nobody:wrong-Pa55"])
def test_wrong_credentials_are_a_clear_error_without_the_secret(
    redis_servers: Callable[..., DisposableRedis],
    store_factory: Callable[..., RedisStateStore],
    userinfo: str,
) -> None:
    server = redis_servers("--requirepass", PASSWORD)
    admin = RespClient.from_url(with_auth(server, f":{PASSWORD}"))
    admin.execute("ACL", "SETUSER", "healer", "on", ">user-Pa55", "~*", "+@all")
    admin.close()

    store = store_factory(with_auth(server, userinfo))
    with pytest.raises(StoreUnavailable) as caught:
        store.ping()
    message = str(caught.value)
    assert "AUTH failed" in message
    assert "WRONGPASS" in message
    assert "wrong-Pa55" not in message
    assert PASSWORD not in message


def test_select_keeps_databases_apart(
    disposable_redis: DisposableRedis, store_factory: Callable[..., RedisStateStore]
) -> None:
    base = f"redis://127.0.0.1:{disposable_redis.port}"
    one, two = store_factory(f"{base}/1"), store_factory(f"{base}/2")
    one.set("task:t", "in-one")
    two.set("task:t", "in-two")
    two.index_add("waiting:tasks", "t", 1.0)
    assert (one.get("task:t"), two.get("task:t")) == ("in-one", "in-two")
    assert one.keys("") == ["task:t"]
    assert two.keys("") == ["task:t", "waiting:tasks"]
    assert store_factory(f"{base}/0").keys("") == []

    with pytest.raises(StoreUnavailable, match="SELECT failed"):
        store_factory(f"{base}/99").ping()


def test_a_unix_socket(
    redis_servers: Callable[..., DisposableRedis],
    store_factory: Callable[..., RedisStateStore],
    tmp_path: Path,
) -> None:
    path = tmp_path / "redis.sock"
    redis_servers("--unixsocket", str(path))
    store = store_factory(f"unix://{path}?db=3")
    store.set("task:t", "over a unix socket")
    assert store.get("task:t") == "over a unix socket"
    assert store.client.execute("CLIENT", "INFO").split(" db=")[1].startswith("3 ")


# -- TLS --------------------------------------------------------------------------------------


@pytest.fixture
def tls_server(
    redis_servers: Callable[..., DisposableRedis], tmp_path: Path
) -> tuple[DisposableRedis, Path]:
    """A TLS-only redis-server whose certificate (for 127.0.0.1 only) a fresh trustme CA
    signed."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    cert.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    server = redis_servers(
        *("--tls-cert-file", str(tmp_path / "cert.pem")),
        *("--tls-key-file", str(tmp_path / "key.pem")),
        *("--tls-ca-cert-file", str(tmp_path / "ca.pem")),
        *("--tls-auth-clients", "no"),
        tls=True,
    )
    return server, tmp_path / "ca.pem"


def test_rediss_verifies_with_the_default_trust_store(
    tls_server: tuple[DisposableRedis, Path],
    store_factory: Callable[..., RedisStateStore],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, ca_file = tls_server
    assert server.url.startswith("rediss://")
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))  # OpenSSL's default store: this CA
    store = store_factory(server.url)
    store.set("task:t", "encrypted")
    assert store.get("task:t") == "encrypted"


def test_rediss_refuses_a_server_it_cannot_verify(
    tls_server: tuple[DisposableRedis, Path],
    store_factory: Callable[..., RedisStateStore],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    server, _ = tls_server
    other = trustme.CA()
    other.cert_pem.write_to_path(str(tmp_path / "other.pem"))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "other.pem"))
    with pytest.raises(StoreUnavailable, match="CERTIFICATE_VERIFY_FAILED"):
        store_factory(server.url, timeout=2).ping()


def test_rediss_checks_the_host_name(
    tls_server: tuple[DisposableRedis, Path], store_factory: Callable[..., RedisStateStore]
) -> None:
    server, ca_file = tls_server
    context = ssl.create_default_context(cafile=str(ca_file))
    store = store_factory(
        f"rediss://localhost:{server.port}/0", timeout=2, ssl_context=context
    )  # the same server, but the certificate names 127.0.0.1 only
    with pytest.raises(StoreUnavailable, match=r"CERTIFICATE_VERIFY_FAILED|mismatch"):
        store.ping()


def test_plain_redis_against_a_tls_port_fails_within_the_timeout(
    tls_server: tuple[DisposableRedis, Path], store_factory: Callable[..., RedisStateStore]
) -> None:
    server, _ = tls_server
    store = store_factory(f"redis://127.0.0.1:{server.port}/0", timeout=0.5)
    started = time.monotonic()
    with pytest.raises(StoreUnavailable):
        store.ping()
    assert time.monotonic() - started < 2


@pytest.fixture
def two_addresses(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, int]]:
    """``redis.test`` resolves to 127.0.0.1 and 127.0.0.2 (a Service name with two records);
    on both, the listen queue is full, so a connection attempt hangs as on a lost host."""
    first = socket.socket()
    first.bind(("127.0.0.1", 0))
    port = first.getsockname()[1]
    second = socket.socket()
    second.bind(("127.0.0.2", port))
    held = []
    for listener in (first, second):
        listener.listen(0)
        filler = socket.create_connection(listener.getsockname(), timeout=1)
        held.append(filler)
    resolve = socket.getaddrinfo

    def resolver(host: object, *args: object, **kwargs: object) -> object:
        if host == "redis.test":
            return [
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.2", port)),
            ]
        return resolve(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    yield "redis.test", port
    for sock in (*held, first, second):
        sock.close()


@pytest.mark.parametrize("scheme", ["redis", "rediss"])
def test_a_name_with_several_dead_addresses_fails_within_one_timeout(
    two_addresses: tuple[str, int], store_factory: Callable[..., RedisStateStore], scheme: str
) -> None:
    host, port = two_addresses
    store = store_factory(f"{scheme}://{host}:{port}/0", timeout=0.5)
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match="Timeout"):
        store.ping()
    assert time.monotonic() - started < 0.8  # not 0.5 s for each address


def test_a_slow_connect_leaves_the_tls_handshake_only_the_rest_of_the_timeout(
    two_addresses: tuple[str, int],
    store_factory: Callable[..., RedisStateStore],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    host, port = two_addresses
    silent = socket.create_server(("127.0.0.3", port))  # connects, never speaks TLS
    resolve = socket.getaddrinfo

    def resolver(name: object, *args: object, **kwargs: object) -> object:
        if name == "redis.test":
            return [
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.3", port)),
            ]
        return resolve(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    with silent:
        store = store_factory(f"rediss://{host}:{port}/0", timeout=0.5)
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match="Timeout"):
            store.ping()
        assert time.monotonic() - started < 0.8


def test_plain_redis_builds_no_ssl_context() -> None:
    assert RespClient.from_url("redis://127.0.0.1:1/0")._ssl_context is None
    assert RespClient.from_url("rediss://127.0.0.1:1/0")._ssl_context is not None


# -- Outages ----------------------------------------------------------------------------------


def test_a_killed_server_is_unavailable_then_recovers_after_restart(
    disposable_redis: DisposableRedis, store_factory: Callable[..., RedisStateStore]
) -> None:
    store = store_factory(disposable_redis.url, timeout=0.5)
    barrier = threading.Barrier(6)

    def warm(n: int) -> None:  # several pooled connections, all idle when the server dies
        barrier.wait()
        store.set(f"task:{n}", "v")

    threads = [threading.Thread(target=warm, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert isinstance(store.client, RespClient)
    assert store.client.idle_connections() >= 2

    disposable_redis.kill()
    for _ in range(3):
        with pytest.raises(StoreUnavailable, match="redis is unreachable"):
            store.get("task:0")

    disposable_redis.restart()
    assert store.get("task:0") is None  # a new, empty server: no persistence
    store.set("task:0", "again")
    assert store.get("task:0") == "again"


def test_pooled_connections_a_restart_closed_are_not_used(
    disposable_redis: DisposableRedis, store_factory: Callable[..., RedisStateStore]
) -> None:
    store = store_factory(disposable_redis.url, timeout=0.5)
    store.set("task:t", "v")
    disposable_redis.restart()
    store.set("task:t", "after restart")  # the stale connection is dropped, not reported
    assert store.get("task:t") == "after restart"


def test_a_replica_refusing_writes_is_unavailable(
    disposable_redis: DisposableRedis,
    store_factory: Callable[..., RedisStateStore],
    closed_port: int,
) -> None:
    store = store_factory(disposable_redis.url, timeout=0.5)
    store.client.execute("REPLICAOF", "127.0.0.1", closed_port)
    with pytest.raises(StoreUnavailable, match=r"read-only replica.*READONLY"):
        store.set("task:t", "v")
    with pytest.raises(StoreUnavailable, match="read-only replica"):
        store.push("history:h", "v", 3)  # queued in MULTI, refused before EXEC
    assert store.get("task:t") is None  # reads still work


def test_a_full_server_is_unavailable_not_a_bug(
    disposable_redis: DisposableRedis, store_factory: Callable[..., RedisStateStore]
) -> None:
    store = store_factory(disposable_redis.url, timeout=0.5)
    store.client.execute("CONFIG", "SET", "maxmemory-policy", "noeviction")
    store.client.execute("CONFIG", "SET", "maxmemory", "1")
    with pytest.raises(StoreUnavailable, match=r"out of memory.*OOM"):
        store.set("task:t", "v")
    with pytest.raises(StoreUnavailable, match="OOM"):
        store.push("history:h", "v", 3)  # refused while queued, before EXEC
    assert store.get("task:t") is None


def test_a_primary_without_its_replicas_is_unavailable_not_a_bug(
    disposable_redis: DisposableRedis, store_factory: Callable[..., RedisStateStore]
) -> None:
    store = store_factory(disposable_redis.url, timeout=0.5)
    store.client.execute("CONFIG", "SET", "min-replicas-to-write", "1")
    with pytest.raises(StoreUnavailable, match=r"replicas.*NOREPLICAS"):
        store.claim("dedup:d", "v", 60)


def test_a_server_that_cannot_persist_is_unavailable_not_a_bug(
    redis_servers: Callable[..., DisposableRedis],
    store_factory: Callable[..., RedisStateStore],
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    server = redis_servers("--dir", str(data))
    store = store_factory(server.url, timeout=0.5)
    store.client.execute("CONFIG", "SET", "save", "3600 1")
    data.rmdir()  # the snapshot has nowhere to go (a lost volume)
    store.client.execute("BGSAVE")
    deadline = time.monotonic() + 5
    while "rdb_last_bgsave_status:err" not in store.client.execute("INFO", "persistence"):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    with pytest.raises(StoreUnavailable, match=r"persist.*MISCONF"):
        store.set("task:t", "v")


class Scripted:
    """A TCP server that parses each command with hiredis and answers per ``script``:
    ``script(connection_number, command)`` returns the raw bytes to send (``b""`` to say
    nothing), or ``None`` to close the connection. Each stage may sleep first."""

    def __init__(self, script: Callable[[int, list[bytes]], list[bytes | float] | None]) -> None:
        self.script = script
        self.commands: list[tuple[int, list[bytes]]] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.stopped = threading.Event()
        self.threads: list[threading.Thread] = []
        accept = threading.Thread(target=self._accept, daemon=True)
        accept.start()
        self.threads.append(accept)

    def _accept(self) -> None:
        n = 0
        self.listener.settimeout(0.05)
        while not self.stopped.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            n += 1
            thread = threading.Thread(target=self._serve, args=(conn, n), daemon=True)
            thread.start()
            self.threads.append(thread)

    def _serve(self, conn: socket.socket, n: int) -> None:
        reader = hiredis.Reader()
        conn.settimeout(0.05)
        with conn:
            while not self.stopped.is_set():
                command = reader.gets()
                if command is False:
                    try:
                        data = conn.recv(65536)
                    except TimeoutError:
                        continue
                    if not data:
                        return
                    reader.feed(data)
                    continue
                self.commands.append((n, command))
                steps = self.script(n, command)
                if steps is None:
                    return
                for step in steps:
                    if isinstance(step, float):
                        self.stopped.wait(step)
                        continue
                    try:
                        conn.sendall(step)
                    except OSError:  # the client gave up and closed
                        return

    def close(self) -> None:
        self.stopped.set()
        for thread in self.threads:
            thread.join(2)
        self.listener.close()


@pytest.fixture
def scripted() -> Iterator[Callable[..., Scripted]]:
    servers: list[Scripted] = []

    def start(script: Callable[[int, list[bytes]], list[bytes | float] | None]) -> Scripted:
        server = Scripted(script)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def test_a_server_that_never_answers_the_handshake_times_out(
    store_factory: Callable[..., RedisStateStore], scripted: Callable[..., Scripted]
) -> None:
    server = scripted(lambda n, command: [])  # reads AUTH and SELECT, says nothing
    store = store_factory(f"redis://:{PASSWORD}@127.0.0.1:{server.port}/2", timeout=0.3)
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match="Timeout"):
        store.ping()
    assert time.monotonic() - started < 1.0
    assert [c[0] for _, c in server.commands] == [b"AUTH", b"SELECT"]


def test_a_reply_dripping_slower_than_the_timeout_is_cut_off(
    store_factory: Callable[..., RedisStateStore], scripted: Callable[..., Scripted]
) -> None:
    drip: list[bytes | float] = [b"$40\r\n"]
    for _ in range(40):
        drip += [0.05, b"x"]
    server = scripted(lambda n, command: drip)
    store = store_factory(f"redis://127.0.0.1:{server.port}/0", timeout=0.4)
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match="Timeout"):
        store.get("task:t")  # every byte arrives within the timeout; the whole reply does not
    assert time.monotonic() - started < 1.0


def test_a_half_read_reply_never_reaches_the_next_command(
    store_factory: Callable[..., RedisStateStore], scripted: Callable[..., Scripted]
) -> None:
    def script(n: int, command: list[bytes]) -> list[bytes | float]:
        if n == 1:  # half a reply, the rest after the client gave up, then a stale answer
            return [b"$5\r\nhel", 0.5, b"lo\r\n$5\r\nstale\r\n"]
        return [b"$5\r\nfresh\r\n"]

    server = scripted(script)
    store = store_factory(f"redis://127.0.0.1:{server.port}/0", timeout=0.3)
    with pytest.raises(StoreUnavailable, match="Timeout"):
        store.get("task:t")
    time.sleep(0.4)  # the rest of the first reply has arrived on the first connection
    assert store.get("task:t") == "fresh"
    assert store.get("task:t") == "fresh"
    assert [n for n, _ in server.commands] == [1, 2, 2]


def test_a_reply_nobody_asked_for_never_answers_the_next_command(
    store_factory: Callable[..., RedisStateStore], scripted: Callable[..., Scripted]
) -> None:
    def script(n: int, command: list[bytes]) -> list[bytes | float]:
        if n == 1:  # one command, two replies in one segment: the second is owed to nobody
            return [b"+PONG\r\n$5\r\nstale\r\n"]
        return [b"$5\r\nfresh\r\n"]

    server = scripted(script)
    store = store_factory(f"redis://127.0.0.1:{server.port}/0", timeout=0.5)
    store.ping()
    assert store.get("task:t") == "fresh"
    assert [n for n, _ in server.commands] == [1, 2]


def test_a_write_whose_connection_breaks_is_not_sent_again(
    store_factory: Callable[..., RedisStateStore], scripted: Callable[..., Scripted]
) -> None:
    def script(n: int, command: list[bytes]) -> list[bytes | float] | None:
        answers = {b"PING": b"+PONG\r\n", b"MULTI": b"+OK\r\n", b"LPUSH": b"+QUEUED\r\n"}
        if command[0] in answers or command[0] == b"LTRIM":
            return [answers.get(command[0], b"+QUEUED\r\n")]
        return None  # the write was received; the answer is lost with the connection

    server = scripted(script)
    store = store_factory(f"redis://127.0.0.1:{server.port}/0", timeout=0.5)
    store.ping()  # a pooled connection, so a retry would have somewhere to go
    for write in (
        lambda: store.set("task:t", "v"),
        lambda: store.claim("dedup:d", "v", 60),
        lambda: store.incr("limits:running"),
        lambda: store.push("history:h", "v", 3),
    ):
        with pytest.raises(StoreUnavailable, match="closed the connection"):
            write()
    names = [command[0] for _, command in server.commands]
    assert names == [b"PING", b"SET", b"SET", b"EVALSHA", b"MULTI", b"LPUSH", b"LTRIM", b"EXEC"]


def test_a_garbled_reply_discards_the_connection(
    store_factory: Callable[..., RedisStateStore], scripted: Callable[..., Scripted]
) -> None:
    server = scripted(
        lambda n, command: [b"HTTP/1.1 400 Bad Request\r\n"] if n == 1 else [b"+PONG\r\n"]
    )
    store = store_factory(f"redis://127.0.0.1:{server.port}/0", timeout=0.5)
    with pytest.raises(StoreUnavailable, match="malformed reply"):
        store.ping()
    store.ping()
    assert [n for n, _ in server.commands] == [1, 2]


# -- Concurrency and error replies ------------------------------------------------------------


def test_many_threads_counting_by_compare_and_set_lose_nothing(
    redis_url: str, store_factory: Callable[..., RedisStateStore]
) -> None:
    store = store_factory(redis_url)
    store.delete("count:cas")
    store.set("count:cas", "0")
    workers, rounds = 16, 30
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []

    def bump() -> None:
        try:
            barrier.wait()
            for _ in range(rounds):
                while True:
                    current = store.get("count:cas")
                    assert current is not None
                    if store.compare_and_set("count:cas", current, str(int(current) + 1)):
                        break
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=bump) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert store.get("count:cas") == str(workers * rounds)
    assert isinstance(store.client, RespClient)
    assert 1 <= store.client.idle_connections() <= workers


def test_a_wrongtype_reply_is_a_store_error_and_the_connection_stays_in_step(
    redis_url: str, store_factory: Callable[..., RedisStateStore]
) -> None:
    store = store_factory(redis_url)
    store.delete("history:h")
    store.push("history:h", "e", 3)
    connection_id = store.client.execute("CLIENT", "ID")
    with pytest.raises(RedisReplyError, match="WRONGTYPE") as caught:
        store.get("history:h")
    assert isinstance(caught.value, StoreError)
    assert not isinstance(caught.value, StoreUnavailable)
    with pytest.raises(RedisReplyError, match="WRONGTYPE"):
        store.incr("history:h")  # inside a script
    store.set("task:s", "x")
    with pytest.raises(RedisReplyError, match="WRONGTYPE"):
        store.push("task:s", "e", 3)  # inside MULTI/EXEC
    assert store.client.execute("CLIENT", "ID") == connection_id  # the same, still in step
    assert store.items("history:h") == ["e"]


def test_a_value_that_is_not_text_is_a_store_error_not_an_outage(
    redis_url: str, store_factory: Callable[..., RedisStateStore]
) -> None:
    store = store_factory(redis_url)
    store.client.execute("SET", "task:bytes", b"\xff\xfe")
    with pytest.raises(StoreError, match="not UTF-8") as caught:
        store.get("task:bytes")
    assert not isinstance(caught.value, StoreUnavailable)
    store.set("task:bytes", "text again")
    assert store.get("task:bytes") == "text again"


def test_scripts_survive_a_script_cache_flush(
    redis_url: str, store_factory: Callable[..., RedisStateStore]
) -> None:
    store = store_factory(redis_url)
    store.delete("limits:flush")
    assert store.incr("limits:flush") == 1
    store.client.execute("SCRIPT", "FLUSH")
    assert store.incr("limits:flush") == 2
    assert store.compare_and_set("limits:flush", "2", "3")


def test_building_the_store_and_pinging_never_imports_redis_py(redis_url: str) -> None:
    code = (
        "import json, sys\n"
        "from healer.settings import Settings\n"
        "from healer.stores.factory import state_store\n"
        f"store = state_store(Settings(state_backend='redis', redis_url={redis_url!r}))\n"
        "store.ping()\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('redis', 'ssl'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


# -- Idle connections ---------------------------------------------------------------------------


def _silent_after_first(
    server: list[Scripted],
) -> Callable[[int, list[bytes]], list[bytes | float]]:
    """Connection 1 answers its first command, then goes silent without closing (a flow a NAT
    or load balancer dropped); later connections answer every command."""

    def script(n: int, command: list[bytes]) -> list[bytes | float]:
        seen = sum(1 for m, _ in server[0].commands if m == n)
        if n == 1 and seen > 1:
            return []
        return [b"+PONG\r\n"] if command[0] == b"PING" else [b"$5\r\nfresh\r\n"]

    return script


def test_an_idle_connection_gone_silent_is_replaced_not_waited_on(
    scripted: Callable[..., Scripted],
) -> None:
    holder: list[Scripted] = []
    holder.append(scripted(_silent_after_first(holder)))
    url = f"redis://127.0.0.1:{holder[0].port}/0"
    client = RespClient(Endpoint.from_url(url), timeout=4.0, health_check_after=0.05)
    assert client.execute("PING") == "PONG"
    time.sleep(0.1)
    started = time.monotonic()
    assert client.execute("GET", "task:t") == "fresh"
    assert time.monotonic() - started < HEALTH_CHECK_TIMEOUT + 1.0  # not the 4 s timeout
    assert [(n, c[0]) for n, c in holder[0].commands] == [(1, b"PING"), (1, b"PING"), (2, b"GET")]


def test_an_idle_connection_that_answers_is_kept(scripted: Callable[..., Scripted]) -> None:
    server = scripted(lambda n, c: [b"+PONG\r\n"] if c[0] == b"PING" else [b"$5\r\nfresh\r\n"])
    url = f"redis://127.0.0.1:{server.port}/0"
    client = RespClient(Endpoint.from_url(url), timeout=1.0, health_check_after=0.05)
    assert client.execute("GET", "task:t") == "fresh"
    time.sleep(0.1)
    assert client.execute("GET", "task:t") == "fresh"
    assert [(n, c[0]) for n, c in server.commands] == [(1, b"GET"), (1, b"PING"), (1, b"GET")]


def test_a_connection_in_steady_use_is_not_checked(scripted: Callable[..., Scripted]) -> None:
    server = scripted(lambda n, c: [b"$5\r\nfresh\r\n"])
    client = RespClient(Endpoint.from_url(f"redis://127.0.0.1:{server.port}/0"), timeout=1.0)
    for _ in range(3):
        assert client.execute("GET", "task:t") == "fresh"
    assert [(n, c[0]) for n, c in server.commands] == [(1, b"GET")] * 3
