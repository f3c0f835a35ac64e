"""A small REST client for the Kubernetes API server, over httpx, for every backend that talks
to it (spawn's CodeRun launcher, completion-check's reader, the ConfigMap state store).

Not the official ``kubernetes`` client: importing it costs a cold process a few hundred ms
(its config loaders, their dependencies, the generated API classes), more than a whole
hello-world function starts in, for three verbs on two resources. This speaks the JSON REST
API directly: one ``httpx.Client`` per backend, reused.

Where the API server is, in this order: ``kube_api_url`` wins when set (tests, a proxy), so a
test can never reach a real cluster through a developer's kubeconfig; then in-cluster (the
service's environment variables, the service-account token, TLS verified against the
service account's ``ca.crt`` alone); then a kubeconfig, read through ``kubernetes.config``
(the ``k8s`` extra), imported on that path only: a laptop's cost, never a pod's.

``kube_timeout`` bounds a whole request (connect and its retries, TLS, every read), however
slowly the server drips its answer. Only connections that never reached the server are
retried (twice): a write that may have landed is not resent blindly (callers re-read, or the
broker's retry meets a 409). A 401 is the exception: the API server answers it before it
looks at the request, so after re-reading a rotated token the request is sent once more.
"""

from __future__ import annotations

import contextvars
import json
import os
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import httpcore
import httpx

from healer.errors import HealerError
from healer.settings import Settings

if TYPE_CHECKING:
    import ssl

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
TOKEN_PERIOD = 60.0  # bound tokens rotate; client-go re-reads the file every minute too
CONNECT_RETRIES = 2


class KubeUnconfigured(HealerError):
    """No Kubernetes API is configured or reachable by configuration."""


class KubeUnreachable(Exception):
    """No usable answer from the API server (refused, reset, timed out, TLS refused, no token,
    a body that does not decode).

    ``str()`` is the kind of failure only: a transport error's text can carry a URL."""


class KubeApiError(Exception):
    """The API server answered with a status outside 2xx."""

    def __init__(self, response: httpx.Response) -> None:
        self.status = response.status_code
        self.headers = response.headers
        self.body = response.content
        phrase = response.reason_phrase
        status = _json_object(self.body) or {}
        self.reason = str(status.get("reason") or phrase or "")
        self.message = str(status.get("message") or phrase or "")
        super().__init__(f"{self.status} {self.reason}: {self.message}")

    @property
    def retry_after(self) -> float | None:
        """Seconds the API server asked to wait (``Retry-After`` in whole seconds), if any."""
        value = self.headers.get("Retry-After")
        return float(value) if value and value.isdigit() else None


class Credentials(Protocol):
    """Where the ``Authorization`` header comes from."""

    def header(self) -> str | None:
        """The current value (re-read when it may have rotated)."""

    def renew(self) -> str | None:
        """The value after a 401: read afresh."""


class ServiceAccountToken:
    """The mounted service-account token, re-read every ``TOKEN_PERIOD`` s and after a 401.

    A read that fails keeps the token already held (the kubelet rewrites the file by rename;
    a failed read is retried on the next call), as client-go's cached file token source does.
    """

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.path = path
        self._clock = clock
        self._lock = threading.Lock()
        self._token = ""
        self._read_at = 0.0

    def header(self) -> str | None:
        with self._lock:
            if not self._token or self._clock() - self._read_at >= TOKEN_PERIOD:
                self._read()
            return f"Bearer {self._token}"

    def renew(self) -> str | None:
        with self._lock:
            self._read()
            return f"Bearer {self._token}"

    def _read(self) -> None:
        try:
            token = self.path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            if self._token:
                return
            raise KubeUnreachable(f"service-account token unreadable ({exc.strerror})") from exc
        if not token:
            if self._token:
                return
            raise KubeUnreachable("service-account token file is empty")
        self._token, self._read_at = token, self._clock()


class KubeClient:
    """JSON requests to one API server with one pooled ``httpx.Client``."""

    def __init__(
        self,
        http: httpx.Client,
        *,
        credentials: Credentials | None = None,
        sni_hostname: str | None = None,
    ) -> None:
        self.http = http
        self.credentials = credentials
        self._extensions = {"sni_hostname": sni_hostname} if sni_hostname else None
        # a backend dropped without close() (a stage keeps its own for the process's life)
        # still closes its pooled sockets, as urllib3's pools do
        self._finalizer = weakref.finalize(self, http.close)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
    ) -> httpx.Response:
        """The 2xx response; ``KubeApiError`` for any other answer, ``KubeUnreachable`` for
        none. ``path`` is absolute and already quoted."""
        headers = {"Accept": "application/json"}
        content = None
        if body is not None:
            content = json.dumps(body, separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
        sent = self.credentials.header() if self.credentials else None
        response = self._send(method, path, params, headers, content, sent)
        if response.status_code == 401 and self.credentials is not None:
            renewed = self.credentials.renew()
            if renewed != sent:
                response = self._send(method, path, params, headers, content, renewed)
        if not response.is_success:
            raise KubeApiError(response)
        return response

    def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        headers: dict[str, str],
        content: bytes | None,
        authorization: str | None,
    ) -> httpx.Response:
        if authorization:
            headers = {**headers, "Authorization": authorization}
        budget = self.http.timeout.read
        deadline = _DEADLINE.set(None if budget is None else time.monotonic() + budget)
        try:
            return self.http.request(
                method,
                path,
                params=params,
                headers=headers,
                content=content,
                extensions=self._extensions,
            )
        except (httpx.TransportError, httpx.DecodingError, OSError) as exc:
            raise KubeUnreachable(type(exc).__name__) from exc
        finally:
            _DEADLINE.reset(deadline)

    def close(self) -> None:
        self._finalizer()


def kube_client(
    settings: Settings,
    *,
    service_account_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> KubeClient:
    """The client for the API server the settings (or the pod, or the kubeconfig) name.

    ``service_account_dir`` (default ``SERVICE_ACCOUNT_DIR``), ``environ`` and ``clock`` are
    the pod's; tests give their own."""
    timeout = httpx.Timeout(settings.kube_timeout, connect=min(settings.kube_timeout, 3.0))
    if settings.kube_api_url:
        return for_url(settings.kube_api_url, timeout=timeout)
    directory = SERVICE_ACCOUNT_DIR if service_account_dir is None else service_account_dir
    environ = os.environ if environ is None else environ
    in_cluster = _in_cluster(directory, environ, timeout, clock)
    if in_cluster is not None:
        return in_cluster
    return _from_kubeconfig(environ.get("KUBECONFIG") or None, timeout)


def for_url(
    url: str,
    *,
    timeout: httpx.Timeout,
    verify: ssl.SSLContext | None = None,
    credentials: Credentials | None = None,
) -> KubeClient:
    """A client for ``url``: ``http://`` builds no TLS context at all; ``https://`` verifies
    against ``verify`` (default: httpx's, the public CAs)."""
    base = url.rstrip("/")
    transport: httpx.HTTPTransport
    if base.startswith("http://"):
        transport = _PlainTransport()
    elif verify is not None:
        transport = httpx.HTTPTransport(verify=verify, retries=CONNECT_RETRIES)
    else:
        transport = httpx.HTTPTransport(retries=CONNECT_RETRIES)
    _bound(transport)
    http = httpx.Client(base_url=base, transport=transport, timeout=timeout, trust_env=False)
    return KubeClient(http, credentials=credentials)


class _PlainTransport(httpx.HTTPTransport):
    """httpx's transport for ``http://`` without the TLS context ``HTTPTransport`` builds at
    init (certifi's bundle, tens of ms) that plain HTTP never uses."""

    def __init__(self) -> None:
        import httpcore

        self._pool = httpcore.ConnectionPool(ssl_context=None, retries=CONNECT_RETRIES)


# When the request on this thread must be over: httpx's timeouts bound each connect and each
# read, so an answer that drips a byte at a time, or a connect retried twice, could run on.
_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "kube_deadline", default=None
)


def _bound(transport: httpx.HTTPTransport) -> None:
    """Every socket operation of ``transport``'s pool (and its retries' pauses) ends by the
    request's deadline; httpx takes no network backend, so it is set on its pool."""
    pool: Any = transport._pool
    pool._network_backend = _DeadlineBackend(pool._network_backend)


def _left(timeout: float | None, expired: type[Exception]) -> float | None:
    deadline = _DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise expired("the request's time is up")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        left = _left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, left))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        left = _left(timeout, httpcore.ConnectTimeout)
        stream = self._backend.connect_tcp(host, port, left, local_address, socket_options)
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        left = _left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._backend.connect_unix_socket(path, left, socket_options))

    def sleep(self, seconds: float) -> None:
        left = _left(None, httpcore.ConnectTimeout)
        self._backend.sleep(seconds if left is None else min(seconds, left))


def _in_cluster(
    directory: Path, environ: Mapping[str, str], timeout: httpx.Timeout, clock: Callable[[], float]
) -> KubeClient | None:
    """As the pod sees it, or None when this is not a pod with a service account."""
    host = environ.get("KUBERNETES_SERVICE_HOST", "")
    port = environ.get("KUBERNETES_SERVICE_PORT", "")
    token, ca = directory / "token", directory / "ca.crt"
    if not host or not port or not _non_empty(token) or not _non_empty(ca):
        return None
    import ssl

    context = ssl.create_default_context(cafile=str(ca))  # this CA alone, never the public ones
    netloc = f"[{host}]" if ":" in host else host
    return for_url(
        f"https://{netloc}:{port}",
        timeout=timeout,
        verify=context,
        credentials=ServiceAccountToken(token, clock=clock),
    )


def _non_empty(path: Path) -> bool:
    try:
        return path.stat().st_size > 0
    except OSError:
        return False


def _from_kubeconfig(paths: str | None, timeout: httpx.Timeout) -> KubeClient:
    """``paths``: ``KUBECONFIG`` (files joined by the path separator), else ``~/.kube/config``."""
    try:
        from kubernetes import client, config
    except ImportError as exc:
        raise KubeUnconfigured(
            "not in a cluster and kube_api_url is empty; reading a kubeconfig needs the "
            "k8s extra (the kubernetes package)"
        ) from exc
    configuration = client.Configuration()
    try:
        config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=paths, client_configuration=configuration
        )
    except (config.ConfigException, OSError) as exc:
        raise KubeUnconfigured(
            f"not in a cluster, no usable kubeconfig ({exc}) and kube_api_url is empty"
        ) from exc
    return from_configuration(configuration, timeout)


def from_configuration(configuration: Any, timeout: httpx.Timeout) -> KubeClient:
    """A client for what a ``kubernetes.client.Configuration`` (loaded from a kubeconfig)
    describes: host, CA or no verification, client certificate, proxy, SNI name, and the
    bearer token with the refresh hook exec and OIDC plugins install."""
    import ssl
    from urllib.parse import urlsplit
    from urllib.request import proxy_bypass_environment  # type: ignore[attr-defined]

    host = str(configuration.host).rstrip("/")
    if configuration.verify_ssl:
        if configuration.ssl_ca_cert:
            context = ssl.create_default_context(cafile=configuration.ssl_ca_cert)
        else:
            context = httpx.create_ssl_context()
    else:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if configuration.cert_file:
        context.load_cert_chain(configuration.cert_file, configuration.key_file)
    proxy = getattr(configuration, "proxy", None)
    no_proxy = getattr(configuration, "no_proxy", None)
    hostname = urlsplit(host).hostname or ""
    if proxy and no_proxy and proxy_bypass_environment(hostname, {"no": no_proxy}):
        proxy = None
    transport = httpx.HTTPTransport(verify=context, retries=CONNECT_RETRIES, proxy=proxy)
    _bound(transport)
    http = httpx.Client(base_url=host, transport=transport, timeout=timeout, trust_env=False)
    credentials = _ConfigurationToken(configuration) if _has_token(configuration) else None
    sni = getattr(configuration, "tls_server_name", None)
    return KubeClient(http, credentials=credentials, sni_hostname=sni or None)


def _has_token(configuration: Any) -> bool:
    keys = configuration.api_key
    return bool(keys.get("BearerToken") or keys.get("authorization"))


class _ConfigurationToken:
    """The kubeconfig's token; its refresh hook (exec, OIDC) renews it once expired."""

    def __init__(self, configuration: Any) -> None:
        self.configuration = configuration

    def header(self) -> str | None:
        value = self.configuration.get_api_key_with_prefix("BearerToken", alias="authorization")
        return str(value) if value else None

    def renew(self) -> str | None:
        return self.header()


def _json_object(raw: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
