"""Healer's Kubernetes client (``healer.kube``) on each way it finds the API server, against
the local API server (strict CodeRun schema): an explicit URL without importing ``kubernetes``
or building a TLS context; in-cluster over TLS verified against the service account's CA
alone, with a token file that rotates; a kubeconfig with CA data, a client certificate and a
token."""

from __future__ import annotations

import base64
import json
import os
import socket
import ssl
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
import yaml
from contexts import coderun_manifest
from k8s_api import KubeApi

from functions.completion_check.coderuns import CodeRunsUnavailable, KubernetesCodeRuns
from functions.spawn.kube import KubernetesLauncher
from functions.spawn.launcher import LaunchUnavailable
from healer.kube import TOKEN_PERIOD, KubeClient, KubeUnconfigured, kube_client
from healer.settings import Settings
from healer.stores.configmap_api import ConfigMapApi
from healer.stores.exceptions import StoreUnavailable

pytestmark = pytest.mark.integration

NS = "cto"
ROOT = Path(__file__).resolve().parents[2]


def coderun(name: str) -> dict[str, Any]:
    return coderun_manifest(name, NS)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


@pytest.fixture
def tls_api(ca: trustme.CA) -> Iterator[KubeApi]:
    with KubeApi(ssl_context=server_context(ca), tokens={"token-1"}) as api:
        yield api


@pytest.fixture
def service_account(tmp_path: Path, ca: trustme.CA) -> Path:
    directory = tmp_path / "serviceaccount"
    directory.mkdir()
    (directory / "token").write_text("token-1\n")
    ca.cert_pem.write_to_path(str(directory / "ca.crt"))
    return directory


def in_cluster(api: KubeApi, directory: Path, clock: Clock | None = None) -> KubeClient:
    environ = {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(api.port)}
    settings = Settings(namespace=NS, kube_timeout=2)
    return kube_client(
        settings, service_account_dir=directory, environ=environ, clock=clock or Clock()
    )


def rotate(directory: Path, token: str) -> None:
    """As the kubelet does: a new file renamed over the old one."""
    fresh = directory / "token.new"
    fresh.write_text(token)
    fresh.replace(directory / "token")


# -- Explicit URL ----------------------------------------------------------------------------


def test_the_explicit_url_path_never_imports_kubernetes_nor_builds_a_tls_context() -> None:
    """spawn's launcher and completion-check's reader, built from settings as the stages
    build them, create and read a CodeRun in a fresh process."""
    script = textwrap.dedent(
        """
        import json, ssl, sys
        made = []
        new = ssl.SSLContext.__new__
        def counting(cls, *args, **kwargs):
            made.append(cls.__name__)
            return new(cls, *args, **kwargs)
        ssl.SSLContext.__new__ = counting
        from functions.completion_check.coderuns import reader_for
        from functions.spawn.launcher import launcher_for
        from healer.settings import Settings
        settings = Settings.load(config_path="/nonexistent.json")
        launcher, reader = launcher_for(settings), reader_for(settings)
        body = json.loads(sys.stdin.read())
        first, again = launcher.launch(body), launcher.launch(body)
        stored = reader.read(body["metadata"]["name"])
        launcher.close(); reader.close()
        print(json.dumps({
            "created": [first.created, again.created],
            "stored": stored["metadata"]["name"],
            "kubernetes": sorted(m for m in sys.modules if m.split(".")[0] == "kubernetes"),
            "ssl_contexts": made,
        }))
        """
    )
    with KubeApi() as api:
        env = {
            **os.environ,
            "HEALER_KUBE_API_URL": api.url,
            "HEALER_NAMESPACE": NS,
            "HEALER_CODERUN_BACKEND": "kubernetes",
        }
        body = coderun("healer-acme-widgets-7001-a1")
        out = subprocess.run(
            [sys.executable, "-c", script],
            input=json.dumps(body),
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        stored = api.coderuns.get(NS, "healer-acme-widgets-7001-a1")
        assert stored["spec"]["env"]["HEALER_TASK_ID"] == "acme-widgets-7001"
        assert api.coderun_requests["create"] == 2 and api.coderun_requests["get"] == 1
    result = json.loads(out.stdout)
    assert result == {
        "created": [True, False],  # the second create met 409 AlreadyExists
        "stored": "healer-acme-widgets-7001-a1",
        "kubernetes": [],
        "ssl_contexts": [],
    }


def test_a_503_carries_its_retry_after_to_the_broker() -> None:
    with KubeApi() as api:
        api.outage, api.retry_after = "unavailable", "7"
        settings = Settings(namespace=NS, kube_api_url=api.url, state_backend="configmap")
        launcher = KubernetesLauncher.from_settings(settings)
        store = ConfigMapApi.from_settings(settings)
        try:
            with pytest.raises(LaunchUnavailable) as launch:
                launcher.launch(coderun("healer-acme-widgets-7001-a1"))
            with pytest.raises(StoreUnavailable) as read:
                store.read("healer-state")
        finally:
            launcher.close()
            store.close()
    assert launch.value.retry_after == 7.0 and read.value.retry_after == 7.0
    assert "503" in str(launch.value) and "currently unable" in str(read.value)


def test_a_create_whose_connection_drops_is_not_resent() -> None:
    with KubeApi() as api:
        api.outage = "drop"
        launcher = KubernetesLauncher.from_settings(Settings(namespace=NS, kube_api_url=api.url))
        try:
            with pytest.raises(LaunchUnavailable, match="unreachable"):
                launcher.launch(coderun("healer-acme-widgets-7001-a1"))
        finally:
            launcher.close()
        assert api.coderun_requests["create"] == 1  # it may have landed: never sent twice


def test_an_answer_dripping_slower_than_the_timeout_is_cut_off() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def drip() -> None:  # every byte within the timeout; the whole answer, far beyond it
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}":
                if stop.wait(0.1):
                    return
                connection.sendall(bytes([byte]))

    thread = threading.Thread(target=drip, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    store = ConfigMapApi.from_settings(Settings(namespace=NS, kube_api_url=url, kube_timeout=0.3))
    started = time.monotonic()
    try:
        with pytest.raises(StoreUnavailable, match=r"unreachable.*Timeout"):
            store.read("healer-state")
        assert time.monotonic() - started < 0.6
    finally:
        stop.set()
        store.close()
        thread.join(2)
        listener.close()


def test_an_answer_that_does_not_decompress_is_retryable() -> None:
    listener = socket.create_server(("127.0.0.1", 0))

    def garble() -> None:  # a proxy that mangled a compressed answer
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\nnope"
            )

    thread = threading.Thread(target=garble, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    reader = KubernetesCodeRuns.from_settings(Settings(namespace=NS, kube_api_url=url))
    try:
        with pytest.raises(CodeRunsUnavailable, match="DecodingError"):
            reader.read("healer-acme-widgets-7001-a1")
    finally:
        reader.close()
        thread.join(2)
        listener.close()


@pytest.mark.parametrize("where", ["url", "in-cluster"])
def test_an_api_server_that_never_accepts_fails_within_the_timeout(
    where: str, service_account: Path
) -> None:
    listener = socket.socket()  # its listen queue full: connection attempts hang
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port))
    if where == "url":
        settings = Settings(namespace=NS, kube_api_url=f"http://127.0.0.1:{port}", kube_timeout=0.3)
        kube = kube_client(settings)
    else:
        environ = {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(port)}
        settings = Settings(namespace=NS, kube_timeout=0.3)
        kube = kube_client(settings, service_account_dir=service_account, environ=environ)
    reader = KubernetesCodeRuns(kube, NS)
    started = time.monotonic()
    try:
        with pytest.raises(CodeRunsUnavailable, match=r"unreachable.*Timeout"):
            reader.read("healer-acme-widgets-7001-a1")
        assert time.monotonic() - started < 0.6  # not a timeout per connection attempt
    finally:
        reader.close()
        filler.close()
        listener.close()


def test_names_from_events_cannot_leave_the_coderuns_collection() -> None:
    with KubeApi() as api:
        api.coderuns.create(NS, coderun("healer-acme-widgets-7001-a1"), "Strict")
        reader = KubernetesCodeRuns.from_settings(Settings(namespace=NS, kube_api_url=api.url))
        try:
            assert reader.read("..") is None and reader.read(".") is None
            assert reader.read("healer-acme-widgets-7001-a1/status") is None  # one quoted name
            assert reader.read("healer-acme-widgets-7001-a1") is not None
        finally:
            reader.close()
        assert api.coderun_requests["get"] == 2  # '.' and '..' were never sent


# -- In-cluster ------------------------------------------------------------------------------


def test_in_cluster_creates_and_reads_over_tls_with_the_service_account_token(
    tls_api: KubeApi, service_account: Path
) -> None:
    kube = in_cluster(tls_api, service_account)
    assert str(kube.http.base_url) == f"https://127.0.0.1:{tls_api.port}"
    launcher, reader = KubernetesLauncher(kube, NS), KubernetesCodeRuns(kube, NS)
    try:
        assert launcher.launch(coderun("healer-acme-widgets-7001-a1")).created
        stored = reader.read("healer-acme-widgets-7001-a1")
    finally:
        kube.close()
    assert stored is not None and stored["spec"]["service"] == "healer"
    assert tls_api.authorizations == ["Bearer token-1", "Bearer token-1"]


def test_the_token_is_re_read_once_a_minute(tls_api: KubeApi, service_account: Path) -> None:
    clock = Clock()
    kube = in_cluster(tls_api, service_account, clock)
    reader = KubernetesCodeRuns(kube, NS)
    try:
        assert reader.read("absent") is None
        tls_api.tokens = {"token-1", "token-2"}
        rotate(service_account, "token-2\n")
        clock.now += TOKEN_PERIOD - 1
        assert reader.read("absent") is None  # still the token read a moment ago
        clock.now += 1
        assert reader.read("absent") is None
    finally:
        kube.close()
    assert tls_api.authorizations == ["Bearer token-1", "Bearer token-1", "Bearer token-2"]


def test_a_401_re_reads_a_rotated_token_and_sends_the_request_once_more(
    tls_api: KubeApi, service_account: Path
) -> None:
    kube = in_cluster(tls_api, service_account)
    launcher = KubernetesLauncher(kube, NS)
    try:
        assert launcher.launch(coderun("healer-acme-widgets-7001-a1")).created
        rotate(service_account, "token-2")
        tls_api.tokens = {"token-2"}  # the old token expired before the minute was up
        assert launcher.launch(coderun("healer-acme-widgets-7001-a2")).created
    finally:
        kube.close()
    assert tls_api.authorizations == ["Bearer token-1", "Bearer token-1", "Bearer token-2"]
    assert tls_api.coderun_requests["create"] == 2  # the refused request never reached it
    assert set(tls_api.coderuns.objects) == {
        (NS, "healer-acme-widgets-7001-a1"),
        (NS, "healer-acme-widgets-7001-a2"),
    }


def test_a_401_with_no_newer_token_is_retryable_and_not_resent(
    tls_api: KubeApi, service_account: Path
) -> None:
    tls_api.tokens = {"someone-else"}
    kube = in_cluster(tls_api, service_account)
    try:
        with pytest.raises(LaunchUnavailable, match="401") as caught:
            KubernetesLauncher(kube, NS).launch(coderun("healer-acme-widgets-7001-a1"))
    finally:
        kube.close()
    assert caught.value.status == 503
    assert tls_api.authorizations == ["Bearer token-1"]


def test_a_server_certificate_from_another_ca_is_refused(
    ca: trustme.CA, service_account: Path
) -> None:
    with KubeApi(ssl_context=server_context(trustme.CA()), tokens={"token-1"}) as api:
        kube = in_cluster(api, service_account)
        try:
            with pytest.raises(LaunchUnavailable, match="unreachable"):
                KubernetesLauncher(kube, NS).launch(coderun("healer-acme-widgets-7001-a1"))
        finally:
            kube.close()
        assert api.authorizations == []  # the token never left the client


def test_the_public_cas_are_not_trusted_for_the_cluster(service_account: Path) -> None:
    kube = in_cluster_for_port(443, service_account)
    try:
        transport_context = kube.http._transport._pool._ssl_context  # type: ignore[attr-defined]
        authorities = transport_context.get_ca_certs()
    finally:
        kube.close()
    assert len(authorities) == 1
    assert dict(x[0] for x in authorities[0]["subject"])["organizationName"].startswith("trustme")


def in_cluster_for_port(port: int, directory: Path) -> KubeClient:
    environ = {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(port)}
    return kube_client(Settings(namespace=NS), service_account_dir=directory, environ=environ)


def test_without_a_token_file_it_is_not_in_cluster(service_account: Path, tmp_path: Path) -> None:
    (service_account / "token").unlink()
    environ = {
        "KUBERNETES_SERVICE_HOST": "127.0.0.1",
        "KUBERNETES_SERVICE_PORT": "443",
        "KUBECONFIG": str(tmp_path / "absent"),
    }
    with pytest.raises(KubeUnconfigured, match="no usable kubeconfig"):
        kube_client(Settings(namespace=NS), service_account_dir=service_account, environ=environ)


# -- kubeconfig ------------------------------------------------------------------------------


def test_a_kubeconfig_with_ca_data_a_client_certificate_and_a_token(
    ca: trustme.CA, tmp_path: Path
) -> None:
    context = server_context(ca)
    context.verify_mode = ssl.CERT_REQUIRED  # no client certificate, no handshake
    ca.configure_trust(context)
    client_cert = ca.issue_cert("developer@example.com")

    def data(blob: trustme.Blob) -> str:
        return base64.b64encode(blob.bytes()).decode()

    with KubeApi(ssl_context=context, tokens={"dev-token"}) as api:
        kubeconfig = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "dev",
                    "cluster": {
                        "server": api.url,
                        "certificate-authority-data": data(ca.cert_pem),
                    },
                }
            ],
            "users": [
                {
                    "name": "dev",
                    "user": {
                        "client-certificate-data": data(client_cert.cert_chain_pems[0]),
                        "client-key-data": data(client_cert.private_key_pem),
                        "token": "dev-token",
                    },
                }
            ],
            "contexts": [{"name": "dev", "context": {"cluster": "dev", "user": "dev"}}],
            "current-context": "dev",
        }
        path = tmp_path / "config"
        path.write_text(yaml.safe_dump(kubeconfig))
        environ = {"KUBECONFIG": str(path)}
        kube = kube_client(Settings(namespace=NS), service_account_dir=tmp_path, environ=environ)
        try:
            assert KubernetesLauncher(kube, NS).launch(coderun("healer-acme-widgets-7001-a1"))
        finally:
            kube.close()
        assert api.authorizations == ["Bearer dev-token"]
        assert (NS, "healer-acme-widgets-7001-a1") in api.coderuns.objects
