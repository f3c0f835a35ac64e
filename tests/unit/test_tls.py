"""Outbound HTTPS trust: the source chosen, and real handshakes against a local TLS server."""

from __future__ import annotations

import http.server
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import certifi
import httpx
import pytest
import trustme

from healer import tls
from healer.github.auth import TokenAuth
from healer.github.session import GitHubSession


class _Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def https_url(authority: trustme.CA) -> Iterator[str]:
    """A local HTTPS server whose certificate ``authority`` issued for ``localhost``."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    authority.issue_cert("localhost").configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://localhost:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def trusting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[tuple[pytest.MonkeyPatch, Path]]:
    """The process context rebuilt for each test, from the environment the test sets."""
    tls.tls_context.cache_clear()
    yield monkeypatch, tmp_path
    tls.tls_context.cache_clear()


def test_environment_wins(tmp_path: Path) -> None:
    env = {"SSL_CERT_FILE": "/x/ca.pem", "SSL_CERT_DIR": "/x/certs"}
    assert tls.trust_source(env, str(tmp_path)) == ("/x/ca.pem", "/x/certs")
    assert tls.trust_source({"SSL_CERT_DIR": "/x/certs"}, str(tmp_path)) == (None, "/x/certs")


def test_hashed_system_directory_is_used(tmp_path: Path) -> None:
    (tmp_path / "5ad8a5d6.0").write_text("")
    assert tls.trust_source({}, str(tmp_path)) == (None, str(tmp_path))


def test_certifi_when_the_system_has_no_hashed_directory(tmp_path: Path) -> None:
    (tmp_path / "ca-certificates.crt").write_text("")  # a bundle alone: no lookup by hash
    assert tls.trust_source({}, str(tmp_path)) == (certifi.where(), None)
    assert tls.trust_source({}, str(tmp_path / "absent")) == (certifi.where(), None)


def test_the_context_is_built_once_per_process(trusting: tuple[pytest.MonkeyPatch, Path]) -> None:
    assert tls.tls_context() is tls.tls_context()
    assert tls.tls_context().verify_mode == ssl.CERT_REQUIRED
    assert tls.tls_context().check_hostname


def test_no_context_is_built_for_a_given_transport(
    trusting: tuple[pytest.MonkeyPatch, Path],
) -> None:
    answer = httpx.MockTransport(lambda request: httpx.Response(200, json={"ok": True}))
    with tls.http_client(transport=answer) as client:
        assert client.get("https://example.invalid/").json() == {"ok": True}
    assert tls.tls_context.cache_info().currsize == 0


def test_a_trusted_server_answers(
    trusting: tuple[pytest.MonkeyPatch, Path], authority: trustme.CA, https_url: str
) -> None:
    _trust(authority, *trusting)
    with tls.http_client() as client:
        assert client.get(https_url).json() == {"ok": True}


def test_a_server_from_another_authority_is_refused(
    trusting: tuple[pytest.MonkeyPatch, Path], https_url: str
) -> None:
    monkeypatch, tmp_path = trusting
    other = tmp_path / "other.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    monkeypatch.setenv("SSL_CERT_FILE", str(other))
    with tls.http_client() as client, pytest.raises(httpx.ConnectError, match="CERTIFICATE"):
        client.get(https_url)


def test_the_system_directory_verifies_by_hash(
    trusting: tuple[pytest.MonkeyPatch, Path], authority: trustme.CA, https_url: str
) -> None:
    """The lookup OpenSSL does in a hashed directory finds the issuing CA by its name hash."""
    monkeypatch, tmp_path = trusting
    pem = authority.cert_pem.bytes()
    (tmp_path / f"{_openssl_subject_hash(pem)}.0").write_bytes(pem)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    with tls.http_client() as client:
        assert client.get(https_url).json() == {"ok": True}


def test_github_goes_through_the_shared_context(
    trusting: tuple[pytest.MonkeyPatch, Path], authority: trustme.CA, https_url: str
) -> None:
    _trust(authority, *trusting)
    with GitHubSession(base_url=https_url, auth=TokenAuth("t0ken-for-tests")) as session:
        assert session._get("/anything") == {"ok": True}


def _trust(authority: trustme.CA, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Outbound HTTPS trusts ``authority`` alone, through ``SSL_CERT_FILE``."""
    ca = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(ca))
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))


def _openssl_subject_hash(pem: bytes) -> str:
    """The name OpenSSL looks a CA up by in a hashed directory (``openssl x509 -subject_hash``)."""
    out = subprocess.run(
        ["openssl", "x509", "-noout", "-subject_hash"], input=pem, capture_output=True, check=True
    )
    return out.stdout.decode().strip()
