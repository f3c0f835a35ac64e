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
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from healer.coderun import GROUP, PLURAL, collection_path
from healer.errors import InvalidInput, PermanentError, RetryableError
from healer.settings import Settings

if TYPE_CHECKING:
    from healer.kube import KubeClient


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


class KubernetesCodeRuns(CodeRunReader):
    """``get`` through the Kubernetes REST API (``healer.kube``, built only when chosen)."""

    has_status = True

    def __init__(self, kube: KubeClient, namespace: str) -> None:
        self.kube = kube
        self.namespace = namespace
        self.path = collection_path(namespace)

    @classmethod
    def from_settings(cls, settings: Settings) -> KubernetesCodeRuns:
        from healer.kube import KubeUnconfigured, kube_client

        try:
            kube = kube_client(settings)
        except KubeUnconfigured as exc:
            raise InvalidInput(
                f"no Kubernetes API to read CodeRuns from: {exc}; set coderun_backend=outbox"
            ) from exc
        return cls(kube, settings.namespace)

    def close(self) -> None:
        self.kube.close()

    def where(self, name: str) -> str:
        return f"namespace {self.namespace} of the Kubernetes API"

    def read(self, name: str) -> dict[str, Any] | None:
        from healer.kube import KubeApiError, KubeUnreachable

        if name in ("", ".", ".."):  # no object is called that; as a path segment, a parent
            return None
        try:
            # the name comes from an event: quoted, it can only ever name one object
            raw = self.kube.request("GET", f"{self.path}/{quote(name, safe='')}").content
        except KubeApiError as exc:
            if exc.status == 404:
                return None
            if exc.status == 403:
                raise CodeRunsForbidden(
                    f"forbidden to read CodeRun {self.namespace}/{name}: grant the service "
                    f"account the verb 'get' on {PLURAL} (apiGroups [{GROUP}])"
                ) from exc
            raise CodeRunsUnavailable(
                f"Kubernetes API answered {exc.status} to get CodeRun {self.namespace}/{name}"
            ) from exc
        except KubeUnreachable as exc:
            raise CodeRunsUnavailable(
                f"Kubernetes API unreachable (get CodeRun {self.namespace}/{name}): {exc}"
            ) from exc
        try:
            obj = json.loads(raw)
        except ValueError as exc:
            raise CodeRunsUnavailable(f"CodeRun {name}: the API answered no JSON") from exc
        return obj if isinstance(obj, dict) else None


def reader_for(settings: Settings) -> CodeRunReader:
    """Where spawn writes CodeRuns (``coderun_backend``) is where they are read back."""
    if settings.coderun_backend == "kubernetes":
        return KubernetesCodeRuns.from_settings(settings)
    if settings.coderun_backend == "outbox":
        return OutboxCodeRuns(settings.coderun_outbox)
    raise InvalidInput(f"coderun_backend {settings.coderun_backend!r} is not outbox or kubernetes")
