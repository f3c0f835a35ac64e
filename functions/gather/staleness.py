"""Superseded failures: nobody needs a fix for a commit the branch has already left behind.

A failure is stale when its branch is gone, or when the branch head has moved past the
failing commit and the newest run of the same workflow for the new head is green or still
running. A new head whose run also failed is not stale (the failure is still real), and
neither is one with no run yet (CI may be filtered by paths, so we cannot tell).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from healer.github.protocols import RunLister
from healer.models import FailureDetected
from healer.state import clock, persistence
from healer.state.records import StaleMarker
from healer.stores.keys import stale_key

if TYPE_CHECKING:
    from healer.stores.state import StateStore

STALE_TTL_SECONDS = 30 * 24 * 3600
IN_PROGRESS = frozenset({"queued", "in_progress", "waiting", "requested", "pending"})


class BranchClient(RunLister, Protocol):
    def get_branch(self, repo: str, branch: str) -> dict[str, Any]: ...


def stale_reason(github: BranchClient, failure: FailureDetected) -> str | None:
    """Why the failure is superseded, or None when it still needs attention."""
    from healer.github.exceptions import NotFound

    if not failure.head_branch:
        return None
    repo, branch = failure.repository, failure.head_branch
    try:
        head = str((github.get_branch(repo, branch).get("commit") or {}).get("sha") or "")
    except NotFound:
        return f"branch {branch} no longer exists"
    if not head or head == failure.head_sha:
        return None
    runs = [
        r
        for r in github.list_runs(repo, branch=branch)
        if r.get("head_sha") == head
        and (not failure.workflow_name or r.get("name") == failure.workflow_name)
    ]
    if not runs:
        return None
    newest = max(runs, key=lambda r: (str(r.get("created_at", "")), int(r.get("id", 0))))
    moved = f"{branch} moved from {failure.head_sha[:12]} to {head[:12]}"
    if newest.get("status") in IN_PROGRESS:
        return f"{moved}; run {newest.get('id')} for the new head is still running"
    if newest.get("conclusion") == "success":
        return f"{moved}; run {newest.get('id')} for the new head passed"
    return None


def record_stale(state: StateStore, task_id: str, reason: str, now: datetime | None = None) -> None:
    at = (now or clock.utcnow()).isoformat(timespec="seconds")
    persistence.write(
        state, stale_key(task_id), StaleMarker(reason=reason, at=at), STALE_TTL_SECONDS
    )
