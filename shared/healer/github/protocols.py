"""What stages ask of the GitHub client, as Protocols listing only the methods used, so a
caller states its needs and a test double supplies just those. Shared pieces live here."""

from __future__ import annotations

from typing import Any, Protocol


class RunLister(Protocol):
    def list_runs(
        self,
        repo: str,
        *,
        branch: str | None = None,
        head_sha: str | None = None,
        event: str | None = None,
        per_page: int = 20,
    ) -> list[dict[str, Any]]: ...
