"""Optional, type-aware context: Argo CD health, recent Loki errors, the security advisory.

Each source has a timeout and fails soft into an ``Extra`` whose status says what happened:
``ok`` with data, ``missing`` (the source has nothing for us), ``error`` (it failed or timed
out) or ``disabled`` (not configured). None of them can stop the context going out.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from healer.models import AlertDetected, Extra, FailureClassified
from healer.secrets import mask
from healer.tls import http_client
from healer.vocabulary import AlertKind, FailureType

if TYPE_CHECKING:
    import httpx

INFRA_TYPES = frozenset(
    {
        FailureType.HELM_TEMPLATE,
        FailureType.K8S_MANIFEST,
        FailureType.ARGOCD_SYNC,
        FailureType.DOCKER_BUILD,
        FailureType.YAML_SYNTAX,
    }
)
"""Types where the deployed application's state is worth reading (Argo CD and Loki)."""

LOKI_TYPES = INFRA_TYPES | {
    FailureType.RUST_TEST,
    FailureType.PYTHON_TEST,
    FailureType.FRONTEND_TEST,
}
"""Tests too: an integration test failing against a service shows up in that service's logs."""

LOKI_WINDOW_SECONDS = 3600
LOKI_LIMIT = 50
LINE_CHARS = 500
_ERRORS = "(?i)(error|exception|panic|fatal)"
_LABEL_UNSAFE = re.compile(r'["\\]')


class AdvisoryClient(Protocol):
    def get_global_advisory(self, ghsa_id: str) -> dict[str, Any]: ...


@dataclass
class ExtraSources:
    """Where the extras come from: URLs and tokens from settings, a transport for tests."""

    argocd_url: str = ""
    argocd_token: str = ""
    loki_url: str = ""
    timeout: float = 5.0
    transport: httpx.BaseTransport | None = None
    clock: Callable[[], float] = time.time

    def _client(self) -> httpx.Client:

        return http_client(timeout=self.timeout, transport=self.transport)

    def _soft(self, name: str, call: Callable[[], Extra]) -> Extra:
        """Run one source; turn timeouts and HTTP trouble into an ``error`` extra."""
        import httpx

        try:
            return call()
        except httpx.TimeoutException:
            return Extra(status="error", detail=f"{name}: timed out after {self.timeout:g} s")
        except httpx.HTTPError as exc:
            return Extra(status="error", detail=f"{name}: {type(exc).__name__}")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return Extra(status="error", detail=f"{name}: unreadable answer ({type(exc).__name__})")

    # -- Argo CD ----------------------------------------------------------------------------

    def argocd(self, app: str) -> Extra:
        if not self.argocd_url:
            return Extra(status="disabled", detail="argocd_url is not set")
        return self._soft("argocd", lambda: self._argocd(app))

    def _argocd(self, app: str) -> Extra:
        url = f"{self.argocd_url.rstrip('/')}/api/v1/applications/{app}"
        headers = {"Authorization": f"Bearer {self.argocd_token}"} if self.argocd_token else {}
        with self._client() as client:
            response = client.get(url, headers=headers)
        # Argo CD answers 403 for an application that does not exist (or is not visible).
        if response.status_code in (403, 404):
            return Extra(
                status="missing", detail=f"argocd: application {app!r} not found or not permitted"
            )
        if response.status_code >= 400:
            return Extra(status="error", detail=f"argocd: answered {response.status_code}")
        status = response.json().get("status") or {}
        health, sync = status.get("health") or {}, status.get("sync") or {}
        operation = status.get("operationState") or {}
        conditions = [
            f"{c.get('type', '')}: {str(c.get('message', ''))[:LINE_CHARS]}"
            for c in status.get("conditions") or []
            if isinstance(c, dict)
        ]
        data = {
            "application": app,
            "health": health.get("status", "Unknown"),
            "health_message": str(health.get("message") or "")[:LINE_CHARS],
            "sync": sync.get("status", "Unknown"),
            "revision": sync.get("revision", ""),
            "operation_phase": operation.get("phase", ""),
            "operation_message": str(operation.get("message") or "")[:LINE_CHARS],
            "conditions": conditions[:10],
        }
        return Extra(status="ok", detail=f"{data['health']}/{data['sync']}", data=data)

    # -- Loki -------------------------------------------------------------------------------

    def loki_params(self, service: str) -> dict[str, str]:
        """The ``query_range`` parameters: the last hour, in integer nanoseconds, newest first."""
        end = int(self.clock() * 1_000_000_000)
        start = end - LOKI_WINDOW_SECONDS * 1_000_000_000
        selector = '{app="' + _LABEL_UNSAFE.sub("", service) + '"}'
        return {
            "query": f'{selector} |~ "{_ERRORS}"',
            "start": str(start),
            "end": str(end),
            "limit": str(LOKI_LIMIT),
            "direction": "backward",
        }

    def loki(self, service: str) -> Extra:
        if not self.loki_url:
            return Extra(status="disabled", detail="loki_url is not set")
        return self._soft("loki", lambda: self._loki(service))

    def _loki(self, service: str) -> Extra:
        url = f"{self.loki_url.rstrip('/')}/loki/api/v1/query_range"
        with self._client() as client:
            response = client.get(url, params=self.loki_params(service))
        if response.status_code >= 400:
            return Extra(status="error", detail=f"loki: answered {response.status_code}")
        lines: list[tuple[int, str]] = []
        for stream in (response.json().get("data") or {}).get("result") or []:
            for ns, line in stream.get("values") or []:
                lines.append((int(ns), mask(str(line))[:LINE_CHARS]))
        if not lines:
            return Extra(
                status="missing", detail=f"loki: no error lines for {service} in the last hour"
            )
        lines.sort(key=lambda item: item[0], reverse=True)
        kept = [{"ts": str(ns), "line": text} for ns, text in lines[:LOKI_LIMIT]]
        return Extra(
            status="ok", detail=f"{len(kept)} error lines", data={"service": service, "lines": kept}
        )

    # -- advisories -------------------------------------------------------------------------

    def advisory(self, github: AdvisoryClient, ghsa_id: str) -> Extra:
        from healer.errors import UpstreamUnavailable
        from healer.github.exceptions import GitHubError, NotFound

        if not ghsa_id:
            return Extra(status="missing", detail="advisory: the alert names no GHSA id")
        try:
            raw = github.get_global_advisory(ghsa_id)
        except NotFound:
            return Extra(status="missing", detail=f"advisory: {ghsa_id} not found")
        except (GitHubError, UpstreamUnavailable) as exc:
            return Extra(status="error", detail=f"advisory: {type(exc).__name__}")
        return Extra(status="ok", detail=ghsa_id, data=advisory_data(raw))


def advisory_data(raw: dict[str, Any]) -> dict[str, Any]:
    vulns = [
        {
            "package": (v.get("package") or {}).get("name", ""),
            "ecosystem": (v.get("package") or {}).get("ecosystem", ""),
            "vulnerable_version_range": v.get("vulnerable_version_range", ""),
            "first_patched_version": v.get("first_patched_version") or "",
        }
        for v in raw.get("vulnerabilities") or []
        if isinstance(v, dict)
    ]
    return {
        "ghsa_id": raw.get("ghsa_id", ""),
        "cve_id": raw.get("cve_id") or "",
        "summary": str(raw.get("summary") or "")[:LINE_CHARS],
        "description": str(raw.get("description") or "")[:2000],
        "severity": raw.get("severity", ""),
        "cvss_score": (raw.get("cvss") or {}).get("score"),
        "cwes": [c.get("cwe_id", "") for c in raw.get("cwes") or [] if isinstance(c, dict)],
        "vulnerabilities": vulns[:10],
        "references": [str(r) for r in raw.get("references") or []][:5],
    }


def app_name(repository: str) -> str:
    return repository.rsplit("/", 1)[-1]


def gather_extras(
    sources: ExtraSources, github: AdvisoryClient, classified: FailureClassified
) -> dict[str, Extra]:
    """The extras that matter for this failure's type, keyed by source name."""
    alert: AlertDetected | None = classified.alert
    if alert is not None:
        if alert.kind is AlertKind.DEPENDABOT:
            return {"advisory": sources.advisory(github, alert.ghsa_id)}
        return {}
    repository = classified.failure.repository if classified.failure else ""
    failure_type = classified.primary.failure_type
    extras: dict[str, Extra] = {}
    if failure_type in INFRA_TYPES:
        extras["argocd"] = sources.argocd(app_name(repository))
    if failure_type in LOKI_TYPES:
        extras["loki"] = sources.loki(app_name(repository))
    return extras
