"""Real servers for the integration tier: a moto S3 server and a redis-server, on free ports.

Both are started once per session. Without redis-server the Redis tests skip on a laptop but
fail in CI (``CI`` set), so a broken CI image cannot pass silently.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator

import pytest


def free_port() -> int:
    """A TCP port nobody listens on right now (also usable as a 'closed port')."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


@pytest.fixture
def closed_port() -> int:
    """A local port with no server behind it: connections are refused at once."""
    return free_port()


@pytest.fixture(scope="session")
def aws_env() -> Iterator[None]:
    """Fake credentials so boto3 never looks for (or finds) real ones."""
    with pytest.MonkeyPatch.context() as patch:
        for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
            patch.delenv(name, raising=False)
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        patch.setenv("AWS_SESSION_TOKEN", "testing")
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        patch.setenv("AWS_EC2_METADATA_DISABLED", "true")
        patch.setenv("NO_PROXY", "127.0.0.1,localhost")
        yield


@pytest.fixture(scope="session")
def s3_endpoint(aws_env: None) -> Iterator[str]:
    """moto's S3 as a real HTTP endpoint on 127.0.0.1."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    wait_for_port(port)
    yield f"http://127.0.0.1:{port}"
    server.stop()


def redis_server_binary() -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed, and CI requires the Redis tests to run")
        pytest.skip("redis-server is not installed")
    return binary


def start_redis(
    binary: str, *options: str, port: int | None = None, tls: bool = False
) -> tuple[subprocess.Popen[bytes], int]:
    """A redis-server on ``port`` (a free one by default), TLS only with ``tls`` (``options``
    then name the certificates); ``options`` are extra arguments, e.g. ``--requirepass``."""
    port = port or free_port()
    listen = ("--port", "0", "--tls-port", str(port)) if tls else ("--port", str(port))
    process = subprocess.Popen(
        [
            binary,
            *listen,
            *options,
            *("--bind", "127.0.0.1", "--save", "", "--appendonly", "no"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
    except RuntimeError:
        process.kill()
        raise
    return process, port


def stop_redis(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class DisposableRedis:
    """A redis-server of a test's own, which the test may stop to simulate an outage (and
    start again on the same port)."""

    def __init__(self, binary: str, *options: str, tls: bool = False) -> None:
        self.binary, self.options, self.tls = binary, options, tls
        self.process, self.port = start_redis(binary, *options, tls=tls)
        self.url = f"{'rediss' if tls else 'redis'}://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.process.poll() is None:
            stop_redis(self.process)

    def kill(self) -> None:
        """SIGKILL: no goodbye on the connections, as when a node dies."""
        self.process.kill()
        self.process.wait()

    def restart(self) -> None:
        self.stop()
        self.process, _ = start_redis(self.binary, *self.options, port=self.port, tls=self.tls)


@pytest.fixture
def disposable_redis() -> Iterator[DisposableRedis]:
    server = DisposableRedis(redis_server_binary())
    yield server
    server.stop()


@pytest.fixture
def redis_servers() -> Iterator[Callable[..., DisposableRedis]]:
    """Start redis-servers with options of a test's own (``--requirepass``, TLS…)."""
    servers: list[DisposableRedis] = []

    def start(*options: str, tls: bool = False) -> DisposableRedis:
        server = DisposableRedis(redis_server_binary(), *options, tls=tls)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """One redis-server for the session, without persistence."""
    process, port = start_redis(redis_server_binary())
    yield f"redis://127.0.0.1:{port}/0"
    stop_redis(process)
