"""Creating CodeRuns through the Kubernetes REST API (``healer.kube``, built only when chosen).

Created with ``fieldValidation=Strict``: the API server refuses (400) a field the CRD does not
list instead of dropping it silently, so a manifest the contract missed fails loudly rather
than reaching the agent without it. 409 AlreadyExists is success (the same deterministic name
was created by an earlier delivery). Unreachable, 401, 429 and 5xx are retryable (503 to the
broker); 403 names the RBAC rule to grant; 404 means the CRD or namespace is missing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from functions.spawn.launcher import (
    Launched,
    Launcher,
    LaunchForbidden,
    LaunchRejected,
    LaunchUnavailable,
)
from healer.coderun import GROUP, PLURAL, collection_path
from healer.settings import Settings

if TYPE_CHECKING:
    from healer.kube import KubeApiError, KubeClient


class KubernetesLauncher(Launcher):
    def __init__(self, kube: KubeClient, namespace: str) -> None:
        self.kube = kube
        self.namespace = namespace
        self.path = collection_path(namespace)

    @classmethod
    def from_settings(cls, settings: Settings) -> KubernetesLauncher:
        from healer.kube import KubeUnconfigured, kube_client

        try:
            kube = kube_client(settings)
        except KubeUnconfigured as exc:
            raise LaunchRejected(
                f"no Kubernetes API to create CodeRuns in: {exc}; set coderun_backend=outbox "
                "to write manifests instead"
            ) from exc
        return cls(kube, settings.namespace)

    def close(self) -> None:
        self.kube.close()

    def location(self, name: str) -> str:
        return f"kubernetes:{self.namespace}/{PLURAL}/{name}"

    def launch(self, manifest: dict[str, Any]) -> Launched:
        from healer.kube import KubeApiError, KubeUnreachable

        name = str(manifest["metadata"]["name"])
        body = {**manifest, "metadata": {**manifest["metadata"], "namespace": self.namespace}}
        where = f"CodeRun {self.namespace}/{name}"
        try:
            self.kube.request("POST", self.path, params={"fieldValidation": "Strict"}, body=body)
        except KubeApiError as exc:
            if exc.status == 409:
                return Launched(name=name, location=self.location(name), created=False)
            raise _classify(exc, where) from exc
        except KubeUnreachable as exc:
            raise LaunchUnavailable(f"Kubernetes API unreachable (create {where}): {exc}") from exc
        return Launched(name=name, location=self.location(name), created=True)


def _classify(exc: KubeApiError, where: str) -> Exception:
    status, message = exc.status, exc.message
    if status == 403:
        return LaunchForbidden(
            f"forbidden to create {where}: grant the service account the verb 'create' on "
            f"{PLURAL} (apiGroups [{GROUP}]) in that namespace; the API server said: {message}"
        )
    if status in (401, 429) or status >= 500:
        return LaunchUnavailable(
            f"Kubernetes API answered {status} to create {where}: {message}",
            retry_after=exc.retry_after,
        )
    if status == 404:
        return LaunchRejected(
            f"cannot create {where}: the {PLURAL}.{GROUP} CRD or the namespace does not exist "
            f"({message})"
        )
    return LaunchRejected(f"Kubernetes API refused {where} ({status}): {message}")
