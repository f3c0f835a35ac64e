"""Creating CodeRuns through the official ``kubernetes`` client (imported only when built).

Created with ``fieldValidation=Strict``: the API server refuses (400) a field the CRD does not
list instead of dropping it silently, so a manifest the contract missed fails loudly rather
than reaching the agent without it. 409 AlreadyExists is success (the same deterministic name
was created by an earlier delivery). Unreachable, 401, 429 and 5xx are retryable (503 to the
broker); 403 names the RBAC rule to grant; 404 means the CRD or namespace is missing.
"""

from __future__ import annotations

import json
from typing import Any, Protocol, cast

from functions.spawn.launcher import (
    Launched,
    Launcher,
    LaunchForbidden,
    LaunchRejected,
    LaunchUnavailable,
)
from healer.coderun import GROUP, PLURAL, VERSION
from healer.settings import Settings


class CustomObjectsProtocol(Protocol):
    """The ``kubernetes.client.CustomObjectsApi`` method used here."""

    def create_namespaced_custom_object(
        self, group: str, version: str, namespace: str, plural: str, body: Any, **kw: Any
    ) -> Any: ...


def _configuration(settings: Settings) -> Any:
    from healer.kube import KubeUnconfigured, kube_configuration

    try:
        return kube_configuration(settings)
    except KubeUnconfigured as exc:
        raise LaunchRejected(
            f"no Kubernetes API to create CodeRuns in: {exc}; set coderun_backend=outbox "
            "to write manifests instead"
        ) from exc


class KubernetesLauncher(Launcher):
    def __init__(
        self, api: CustomObjectsProtocol, namespace: str, *, timeout: float = 5.0, close: Any = None
    ) -> None:
        self.api = api
        self.namespace = namespace
        self.timeout = (min(timeout, 3.0), timeout)  # (connect, read)
        self._close = close

    @classmethod
    def from_settings(cls, settings: Settings) -> KubernetesLauncher:
        from kubernetes import client

        api_client = client.ApiClient(_configuration(settings))
        api = cast(CustomObjectsProtocol, client.CustomObjectsApi(api_client))
        return cls(api, settings.namespace, timeout=settings.kube_timeout, close=api_client)

    def close(self) -> None:
        if self._close is not None:
            self._close.close()

    def location(self, name: str) -> str:
        return f"kubernetes:{self.namespace}/{PLURAL}/{name}"

    def launch(self, manifest: dict[str, Any]) -> Launched:
        import urllib3.exceptions
        from kubernetes.client.exceptions import ApiException

        name = str(manifest["metadata"]["name"])
        body = {**manifest, "metadata": {**manifest["metadata"], "namespace": self.namespace}}
        where = f"CodeRun {self.namespace}/{name}"
        try:
            response = self.api.create_namespaced_custom_object(
                GROUP,
                VERSION,
                self.namespace,
                PLURAL,
                body,
                field_validation="Strict",
                _preload_content=False,
                _request_timeout=self.timeout,
            )
            try:
                response.data  # noqa: B018 - drain the body so the pooled connection is reusable
            finally:
                response.release_conn()
        except ApiException as exc:
            if int(exc.status or 0) == 409:
                return Launched(name=name, location=self.location(name), created=False)
            raise _classify(exc, where) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise LaunchUnavailable(
                f"Kubernetes API unreachable (create {where}): {type(exc).__name__}"
            ) from exc
        return Launched(name=name, location=self.location(name), created=True)


def _classify(exc: Any, where: str) -> Exception:
    status = int(exc.status or 0)
    message = _message(exc)
    if status == 403:
        return LaunchForbidden(
            f"forbidden to create {where}: grant the service account the verb 'create' on "
            f"{PLURAL} (apiGroups [{GROUP}]) in that namespace; the API server said: {message}"
        )
    if status == 0 or status in (401, 429) or status >= 500:
        retry_after = (exc.headers or {}).get("Retry-After") if exc.headers else None
        return LaunchUnavailable(
            f"Kubernetes API answered {status or 'nothing'} to create {where}: {message}",
            retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None,
        )
    if status == 404:
        return LaunchRejected(
            f"cannot create {where}: the {PLURAL}.{GROUP} CRD or the namespace does not exist "
            f"({message})"
        )
    return LaunchRejected(f"Kubernetes API refused {where} ({status}): {message}")


def _message(exc: Any) -> str:
    try:
        body = json.loads(exc.body or "{}")
    except (TypeError, ValueError):
        body = {}
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    return str(exc.reason or "")
