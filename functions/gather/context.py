"""Assemble ``ContextGathered``: essentials from GitHub, history, extras, previous attempts.

The event carries at most ``EVENT_FILES`` changed files; the whole list (up to GitHub's
3,000) goes to the blob store as JSON and the event carries its key and the total.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from functions.gather.extras import ExtraSources, gather_extras
from functions.gather.history import memory_history, state_history
from functions.gather.sources import Essentials, gather_essentials
from healer.models import AttemptSummary, ContextGathered, FailureClassified
from healer.stores import keys

if TYPE_CHECKING:
    import httpx

    from healer.services import Services

EVENT_FILES = 200


@dataclass
class ContextBuilder:
    services: Services
    transport: httpx.BaseTransport | None = None
    """For OpenMemory, Argo CD and Loki; tests inject a mock transport."""
    extra_sources: ExtraSources | None = field(default=None)

    def __post_init__(self) -> None:
        if self.extra_sources is None:
            s = self.services.settings
            self.extra_sources = ExtraSources(
                argocd_url=s.argocd_url,
                argocd_token=s.argocd_token,
                loki_url=s.loki_url,
                timeout=s.extras_timeout,
                transport=self.transport,
            )

    def essentials(self, classified: FailureClassified) -> Essentials:
        if classified.failure is None:
            return Essentials()
        return gather_essentials(self.services.github, classified.failure)

    def build(
        self,
        classified: FailureClassified,
        *,
        task_id: str,
        attempt: int,
        found: Essentials,
        previous: list[AttemptSummary] | None = None,
        notes: list[str] | None = None,
    ) -> ContextGathered:
        missing = [*found.missing, *(notes or [])]
        files_key = self._store_files(classified, found)
        history = state_history(
            self.services.state, classified.primary.fingerprint, exclude_task=task_id
        )
        settings = self.services.settings
        if settings.memory_enabled and settings.memory_url:
            repository = (
                classified.failure.repository
                if classified.failure
                else (classified.alert.repository if classified.alert else "")
            )
            remembered, error = memory_history(
                settings.memory_url,
                classified.primary,
                repository,
                timeout=settings.extras_timeout,
                transport=self.transport,
            )
            history.extend(remembered)
            if error:
                missing.append(error)
        assert self.extra_sources is not None
        extras = gather_extras(self.extra_sources, self.services.github, classified)
        return ContextGathered(
            classified=classified,
            attempt=attempt,
            task_id=task_id,
            pull_request=found.pull_request,
            changed_files=found.files[:EVENT_FILES],
            changed_files_total=len(found.files),
            changed_files_key=files_key,
            recent_commits=found.commits,
            history=history,
            extras=extras,
            previous_attempts=previous or [],
            missing=missing,
        )

    def _store_files(self, classified: FailureClassified, found: Essentials) -> str:
        failure = classified.failure
        if failure is None or not found.files:
            return ""
        key = keys.changed_files_key(failure.repository, failure.run_id, failure.run_attempt)
        body = json.dumps([f.model_dump(mode="json") for f in found.files], separators=(",", ":"))
        self.services.blobs.put(key, body.encode(), content_type="application/json")
        return key
