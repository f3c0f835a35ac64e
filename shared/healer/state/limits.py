"""Limits on starting work, on the state store's atomic primitives (claim, incr).

Shared by spawn (which takes them before starting an attempt) and completion-check (which asks
them before releasing a waiting task). State keys (docs/architecture.md):

- ``active:count``: CodeRuns started and not yet finished. Spawn adds one before creating a
  CodeRun (and takes it back if that fails); completion-check takes one off per finished
  attempt that has a ``coderun_name``.
- ``window:<repo>:<branch>``: the task that started on that branch in the last
  ``time_window_mins``; another task for the same branch is skipped, the same task's retries
  are not.
- ``breaker:open``: while set (by completion-check, with a TTL), nothing starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from healer.state import persistence
from healer.state.claims import Claim, Contended
from healer.state.records import TaskRecord, TaskStatus
from healer.stores.keys import ACTIVE_KEY, BREAKER_KEY, branch_key, task_key, window_key
from healer.stores.state import StateStore
from healer.vocabulary import SkipCode

if TYPE_CHECKING:
    from healer.settings import Settings

__all__ = ["ACTIVE_KEY", "BREAKER_KEY", "Claims", "Limits", "Refusal"]


@dataclass(frozen=True)
class Refusal:
    code: SkipCode
    reason: str


@dataclass
class Claims:
    """What one delivery holds, so a failure half-way gives all of it back."""

    dedup: str = ""
    pending: str = ""  # the exact value claimed, for the compare-and-set that completes it
    window: str = ""
    slot: bool = False


@dataclass(frozen=True)
class Limits:
    state: StateStore
    max_concurrent: int
    window_seconds: int

    @classmethod
    def of(cls, state: StateStore, settings: Settings) -> Limits:
        """The limits ``settings`` configure, over ``state``."""
        return cls(
            state,
            max_concurrent=settings.max_concurrent,
            window_seconds=max(0, settings.time_window_mins) * 60,
        )

    def breaker(self) -> Refusal | None:
        reason = self.state.get(BREAKER_KEY)
        if reason is None:
            return None
        why = f" ({reason})" if reason and reason not in ("1", "true") else ""
        return Refusal(SkipCode.BREAKER, f"circuit breaker is open{why}; no remediation starts")

    def take_window(
        self, repository: str, branch: str, task_id: str, claims: Claims
    ) -> Refusal | None:
        """Claim the branch for ``task_id``; a retry of the same task passes."""
        if self.window_seconds <= 0:
            return None
        window = Claim(self.state, window_key(repository, branch), self.window_seconds)
        try:
            holder = window.take_or_holder(task_id)
        except Contended:  # the window kept expiring under us: nothing holds it
            return None
        if holder is None:
            claims.window = window.key
            return None
        if holder == task_id:
            return None
        minutes = self.window_seconds // 60
        return Refusal(
            SkipCode.WINDOW,
            f"task {holder} started on {repository} branch {branch} within the last "
            f"{minutes} minutes",
        )

    def branch_busy(self, repository: str, branch: str, task_id: str) -> Refusal | None:
        """Another task still working on the branch: its own CI run is that agent's result,
        so a failure there is not a new task (completion-check decides it)."""
        holder = self.state.get(branch_key(repository, branch))
        if holder is None or holder == task_id:
            return None
        record = persistence.read(self.state, task_key(holder), TaskRecord)
        if record is not None and record.status == TaskStatus.RUNNING:
            return Refusal(
                SkipCode.BUSY,
                f"task {holder} is still remediating {repository} branch {branch}; "
                "its CI result there belongs to that task",
            )
        return None

    def take_slot(self, claims: Claims) -> Refusal | None:
        """One of ``max_concurrent`` CodeRun slots, or a refusal (the increment undone)."""
        count = self.state.incr(ACTIVE_KEY, 1)
        if count > self.max_concurrent:
            self.state.incr(ACTIVE_KEY, -1)
            return Refusal(
                SkipCode.CONCURRENCY,
                f"{count - 1} remediations are running; the limit is {self.max_concurrent}",
            )
        claims.slot = True
        return None

    def release(self, claims: Claims) -> None:
        """Give back everything ``claims`` holds (a failed or refused start)."""
        if claims.slot:
            self.state.incr(ACTIVE_KEY, -1)
            claims.slot = False
        if claims.window:
            Claim(self.state, claims.window, self.window_seconds).give_back()
            claims.window = ""
        if claims.dedup:
            Claim(self.state, claims.dedup, 0).give_back()
            claims.dedup = claims.pending = ""
