"""The few ConfigMap calls the ConfigMap state store makes, with errors sorted for the broker.

Talks to the Kubernetes REST API through ``healer.kube`` (built only when this backend is) and
keeps the raw JSON objects. Unreachable API, 401, 429 and 5xx → ``StoreUnavailable``; 403 →
``StoreForbidden`` naming the RBAC verb to grant; a lost optimistic write → ``Conflict``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote

from healer.settings import Settings
from healer.stores.exceptions import StoreError, StoreUnavailable

if TYPE_CHECKING:
    from healer.kube import KubeApiError, KubeClient

LABELS = {"app.kubernetes.io/name": "healer", "app.kubernetes.io/component": "state"}


class Conflict(Exception):
    """Another writer changed (or created) the ConfigMap first: re-read and retry."""


class StoreForbidden(StoreError):
    """The service account lacks an RBAC verb on configmaps; retrying cannot help."""

    title = "state store forbidden"


class ConfigMapApi:
    """Read, create and conditionally replace ConfigMaps in one namespace."""

    def __init__(self, kube: KubeClient, namespace: str) -> None:
        self.kube = kube
        self.namespace = namespace
        self.path = f"/api/v1/namespaces/{quote(namespace, safe='')}/configmaps"

    @classmethod
    def from_settings(cls, settings: Settings) -> ConfigMapApi:
        """``kube_api_url`` if set (tests, a proxy), else in-cluster, else kubeconfig."""
        from healer.kube import KubeUnconfigured, kube_client

        try:
            kube = kube_client(settings)
        except KubeUnconfigured as exc:
            raise StoreError(f"no Kubernetes API for the configmap state store: {exc}") from exc
        return cls(kube, settings.namespace)

    def close(self) -> None:
        self.kube.close()

    def read(self, name: str) -> dict[str, Any] | None:
        """The ConfigMap as JSON, or None when it does not exist (yet)."""
        try:
            return self._call("get", name, "GET", self._item(name))
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
            return self._call("create", name, "POST", self.path, body)
        except _NotFound as exc:
            raise StoreError(f"namespace {self.namespace!r} does not exist") from exc

    def replace(self, current: dict[str, Any], data: dict[str, str]) -> dict[str, Any]:
        """PUT ``current`` with new data; its ``metadata.resourceVersion`` is the precondition."""
        name = str(current["metadata"]["name"])
        body = {**current, "data": data}
        try:
            return self._call("update", name, "PUT", self._item(name), body)
        except _NotFound as exc:  # deleted since it was read: start over
            raise Conflict(name) from exc

    def _item(self, name: str) -> str:
        return f"{self.path}/{quote(name, safe='')}"

    def _call(
        self, verb: str, name: str, method: str, path: str, body: Any = None
    ) -> dict[str, Any]:
        from healer.kube import KubeApiError, KubeUnreachable

        where = f"ConfigMap {self.namespace}/{name}"
        try:
            payload = self.kube.request(method, path, body=body).content
            return cast(dict[str, Any], json.loads(payload))
        except KubeApiError as exc:
            raise _classify(exc, verb, where) from exc
        except KubeUnreachable as exc:
            raise StoreUnavailable(f"Kubernetes API unreachable ({verb} {where}): {exc}") from exc
        except ValueError as exc:
            raise StoreUnavailable(f"Kubernetes API sent a non-JSON answer for {where}") from exc


class _NotFound(Exception):
    pass


def _classify(exc: KubeApiError, verb: str, where: str) -> Exception:
    status, reason, message = exc.status, exc.reason, exc.message
    if status == 404:
        return _NotFound(where)
    if status == 409:
        return Conflict(f"{where}: {reason or 'Conflict'}")
    if status == 403:
        return StoreForbidden(
            f"forbidden to {verb} {where}: grant the service account the RBAC verb {verb!r} "
            f'on configmaps (apiGroups [""]) in that namespace; the API server said: {message}'
        )
    if status in (401, 429) or status >= 500:
        return StoreUnavailable(
            f"Kubernetes API answered {status} to {verb} {where}: {message}",
            retry_after=exc.retry_after,
        )
    return StoreError(f"Kubernetes API refused to {verb} {where} ({status} {reason}): {message}")
