"""The few ConfigMap calls the ConfigMap state store makes, with errors sorted for the broker.

Talks through the official ``kubernetes`` client (imported only when built) but asks for raw
JSON (``_preload_content=False``): decoding into the client's models costs tens of
milliseconds per read. Unreachable API, 429 and 5xx → ``StoreUnavailable``; 403 →
``StoreForbidden`` naming the RBAC verb to grant; a lost optimistic write → ``Conflict``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Protocol, cast

from healer.settings import Settings
from healer.stores.exceptions import StoreError, StoreUnavailable

LABELS = {"app.kubernetes.io/name": "healer", "app.kubernetes.io/component": "state"}


class Conflict(Exception):
    """Another writer changed (or created) the ConfigMap first: re-read and retry."""


class StoreForbidden(StoreError):
    """The service account lacks an RBAC verb on configmaps; retrying cannot help."""

    title = "state store forbidden"


class CoreV1Protocol(Protocol):
    """The ``kubernetes.client.CoreV1Api`` methods used here."""

    def read_namespaced_config_map(self, name: str, namespace: str, **kw: Any) -> Any: ...
    def create_namespaced_config_map(self, namespace: str, body: Any, **kw: Any) -> Any: ...
    def replace_namespaced_config_map(
        self, name: str, namespace: str, body: Any, **kw: Any
    ) -> Any: ...


class ConfigMapApi:
    """Read, create and conditionally replace ConfigMaps in one namespace."""

    def __init__(
        self, core: CoreV1Protocol, namespace: str, *, timeout: float = 5.0, close: Any = None
    ) -> None:
        self.core = core
        self.namespace = namespace
        self.timeout = (min(timeout, 3.0), timeout)  # (connect, read)
        self._close = close

    @classmethod
    def from_settings(cls, settings: Settings) -> ConfigMapApi:
        """``kube_api_url`` if set (tests, a proxy), else in-cluster, else kubeconfig."""
        from kubernetes import client

        from healer.kube import KubeUnconfigured, kube_configuration

        try:
            configuration = kube_configuration(settings)
        except KubeUnconfigured as exc:
            raise StoreError(f"no Kubernetes API for the configmap state store: {exc}") from exc
        api_client = client.ApiClient(configuration)
        core = cast(CoreV1Protocol, client.CoreV1Api(api_client))
        return cls(core, settings.namespace, timeout=settings.kube_timeout, close=api_client)

    def close(self) -> None:
        if self._close is not None:
            self._close.close()

    def read(self, name: str) -> dict[str, Any] | None:
        """The ConfigMap as JSON, or None when it does not exist (yet)."""
        try:
            return self._call(
                "get",
                name,
                lambda **kw: self.core.read_namespaced_config_map(name, self.namespace, **kw),
            )
        except _NotFound:
            return None

    def create(self, name: str, data: dict[str, str]) -> dict[str, Any]:
        body = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": self.namespace, "labels": dict(LABELS)},
            "data": data,
        }
        try:
            return self._call(
                "create",
                name,
                lambda **kw: self.core.create_namespaced_config_map(self.namespace, body, **kw),
            )
        except _NotFound as exc:
            raise StoreError(f"namespace {self.namespace!r} does not exist") from exc

    def replace(self, current: dict[str, Any], data: dict[str, str]) -> dict[str, Any]:
        """PUT ``current`` with new data; its ``metadata.resourceVersion`` is the precondition."""
        name = str(current["metadata"]["name"])
        body = {**current, "data": data}
        try:
            return self._call(
                "update",
                name,
                lambda **kw: self.core.replace_namespaced_config_map(
                    name, self.namespace, body, **kw
                ),
            )
        except _NotFound as exc:  # deleted since it was read: start over
            raise Conflict(name) from exc

    def _call(self, verb: str, name: str, send: Callable[..., Any]) -> dict[str, Any]:
        import urllib3.exceptions
        from kubernetes.client.exceptions import ApiException

        where = f"ConfigMap {self.namespace}/{name}"
        try:
            response = send(_preload_content=False, _request_timeout=self.timeout)
            try:
                payload = response.data
            finally:
                response.release_conn()
            return cast(dict[str, Any], json.loads(payload))
        except ApiException as exc:
            raise _classify(exc, verb, where) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise StoreUnavailable(
                f"Kubernetes API unreachable ({verb} {where}): {type(exc).__name__}"
            ) from exc
        except ValueError as exc:
            raise StoreUnavailable(f"Kubernetes API sent a non-JSON answer for {where}") from exc


class _NotFound(Exception):
    pass


def _classify(exc: Any, verb: str, where: str) -> Exception:
    status = int(exc.status or 0)
    reason, message = _status_of(exc)
    if status == 404:
        return _NotFound(where)
    if status == 409:
        return Conflict(f"{where}: {reason or 'Conflict'}")
    if status == 403:
        return StoreForbidden(
            f"forbidden to {verb} {where}: grant the service account the RBAC verb {verb!r} "
            f'on configmaps (apiGroups [""]) in that namespace; the API server said: {message}'
        )
    if status == 0 or status in (401, 429) or status >= 500:
        retry_after = (exc.headers or {}).get("Retry-After") if exc.headers else None
        return StoreUnavailable(
            f"Kubernetes API answered {status or 'nothing'} to {verb} {where}: {message}",
            retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None,
        )
    return StoreError(f"Kubernetes API refused to {verb} {where} ({status} {reason}): {message}")


def _status_of(exc: Any) -> tuple[str, str]:
    """(reason, message) from the ``Status`` body the API server sends with errors."""
    try:
        body = json.loads(exc.body or "{}")
    except (TypeError, ValueError):
        body = {}
    if not isinstance(body, dict):
        body = {}
    return str(body.get("reason") or exc.reason or ""), str(body.get("message") or exc.reason)
