"""Reading a CodeRun back from where spawn created it, so an update is checked, not believed.

A CodeRun update is only an event: anyone who can post to the broker can send one. Before it
counts, completion-check reads the CodeRun it names from the backend spawn wrote it to: the
Kubernetes API (the object as it is now, status included) or the outbox folder (the manifest
only: an outbox has no controller, so the phase is the update's). Not found is an answer
(``None``); an unreachable API is retryable (503); a forbidden read is permanent and names the
RBAC rule to grant.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Protocol, cast

from healer.coderun import GROUP, PLURAL, VERSION
from healer.errors import InvalidInput, PermanentError, RetryableError
from healer.settings import Settings


class CodeRunsUnavailable(RetryableError):
    title = "CodeRuns unavailable"


class CodeRunsForbidden(PermanentError):
    status = 403
    title = "CodeRun read forbidden"


class CodeRunReader(ABC):
    has_status: bool  # True: the stored object carries the controller's status

    @abstractmethod
    def read(self, name: str) -> dict[str, Any] | None:
        """The stored CodeRun called ``name``, or None when there is none."""

    @abstractmethod
    def where(self, name: str) -> str:
        """Where ``name`` was looked for, for skip reasons."""

    def close(self) -> None:
        return None


class OutboxCodeRuns(CodeRunReader):
    has_status = False

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def where(self, name: str) -> str:
        return f"the outbox ({self.directory / f'{name}.yaml'})"

    def read(self, name: str) -> dict[str, Any] | None:
        import yaml

        path = self.directory / f"{name}.yaml"
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise CodeRunsUnavailable(f"cannot read {path}: {exc}") from exc
        try:
            obj = yaml.safe_load(text)
        except yaml.YAMLError:
            return None
        return obj if isinstance(obj, dict) else None


class CustomObjectsReader(Protocol):
    def get_namespaced_custom_object(
        self, group: str, version: str, namespace: str, plural: str, name: str, **kw: Any
    ) -> Any: ...


class KubernetesCodeRuns(CodeRunReader):
    has_status = True

    def __init__(
        self, api: CustomObjectsReader, namespace: str, *, timeout: float = 5.0, close: Any = None
    ) -> None:
        self.api = api
        self.namespace = namespace
        self.timeout = (min(timeout, 3.0), timeout)
        self._close = close

    @classmethod
    def from_settings(cls, settings: Settings) -> KubernetesCodeRuns:
        from kubernetes import client

        from healer.kube import KubeUnconfigured, kube_configuration

        try:
            configuration = kube_configuration(settings)
        except KubeUnconfigured as exc:
            raise InvalidInput(
                f"no Kubernetes API to read CodeRuns from: {exc}; set coderun_backend=outbox"
            ) from exc
        api_client = client.ApiClient(configuration)
        api = cast(CustomObjectsReader, client.CustomObjectsApi(api_client))
        return cls(api, settings.namespace, timeout=settings.kube_timeout, close=api_client)

    def close(self) -> None:
        if self._close is not None:
            self._close.close()

    def where(self, name: str) -> str:
        return f"namespace {self.namespace} of the Kubernetes API"

    def read(self, name: str) -> dict[str, Any] | None:
        import urllib3.exceptions
        from kubernetes.client.exceptions import ApiException

        try:
            response = self.api.get_namespaced_custom_object(
                GROUP,
                VERSION,
                self.namespace,
                PLURAL,
                name,
                _preload_content=False,
                _request_timeout=self.timeout,
            )
            try:
                raw = response.data
            finally:
                response.release_conn()
        except ApiException as exc:
            status = int(exc.status or 0)
            if status == 404:
                return None
            if status == 403:
                raise CodeRunsForbidden(
                    f"forbidden to read CodeRun {self.namespace}/{name}: grant the service "
                    f"account the verb 'get' on {PLURAL} (apiGroups [{GROUP}])"
                ) from exc
            raise CodeRunsUnavailable(
                f"Kubernetes API answered {status or 'nothing'} to get CodeRun "
                f"{self.namespace}/{name}"
            ) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise CodeRunsUnavailable(
                f"Kubernetes API unreachable (get CodeRun {self.namespace}/{name}): "
                f"{type(exc).__name__}"
            ) from exc
        try:
            obj = json.loads(raw)
        except (TypeError, ValueError) as exc:
            raise CodeRunsUnavailable(f"CodeRun {name}: the API answered no JSON") from exc
        return obj if isinstance(obj, dict) else None


def reader_for(settings: Settings) -> CodeRunReader:
    """Where spawn writes CodeRuns (``coderun_backend``) is where they are read back."""
    if settings.coderun_backend == "kubernetes":
        return KubernetesCodeRuns.from_settings(settings)
    if settings.coderun_backend == "outbox":
        return OutboxCodeRuns(settings.coderun_outbox)
    raise InvalidInput(f"coderun_backend {settings.coderun_backend!r} is not outbox or kubernetes")
