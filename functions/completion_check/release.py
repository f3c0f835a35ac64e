"""Releasing waiting tasks (see ``healer.state.waiting``): the oldest whose limit allows,
each sent back to spawn as the ``context.gathered`` it started from.

Read from the ordered index ``waiting:tasks``, never by scanning records. Nothing is released
while the breaker is open; a task waiting on its branch (window, busy) only once the branch is
free; fixes only into free CodeRun slots (``max_concurrent`` − ``active:count``), re-runs take
none. Each release holds the lease ``waiting:lease:<task>:<attempt>`` (a ``Claim``) so two
sweeps, or a sweep and a finished attempt, never send the same task twice; spawn drops the
lease when it refuses again or starts the attempt, and its dedup makes a repeated start a
no-op. The event id is keyed on the lease's token, so one release is one event.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cloudevents.http import CloudEvent

from functions.completion_check.effects import load_record
from healer.events import build_event
from healer.models import ContextGathered
from healer.state.limits import Limits
from healer.state.records import Waiting
from healer.state.waiting import lease
from healer.stores.keys import ACTIVE_KEY, WAITING_INDEX, window_key
from healer.target import target_of
from healer.vocabulary import Action, EventType, Stage

if TYPE_CHECKING:
    from healer.services import Services

log = logging.getLogger("healer.completion_check")

SCAN = 200  # waiting tasks looked at per release, oldest first


@dataclass(frozen=True)
class Release:
    """One waiting task sent back to spawn (kept by a sweep tick, so a redelivery resends)."""

    task_id: str
    attempt: int
    token: str
    context_key: str

    def as_tuple(self) -> tuple[str, int, str, str]:
        return (self.task_id, self.attempt, self.token, self.context_key)


def _active(services: Services) -> int:
    raw = services.state.get(ACTIVE_KEY)
    try:
        return int(raw or 0)
    except ValueError:
        return 0


def _branch_free(limits: Limits, task_id: str, waiting: Waiting) -> bool:
    if limits.branch_busy(waiting.repository, waiting.branch, task_id) is not None:
        return False
    if limits.window_seconds <= 0:
        return True
    holder = limits.state.get(window_key(waiting.repository, waiting.branch))
    return holder is None or holder == task_id


def choose(services: Services, budget: int) -> list[Release]:
    """Claim up to ``budget`` releases, oldest waiting first, for tasks whose limit allows."""
    state = services.state
    settings = services.settings
    limits = Limits.of(state, settings)
    if budget <= 0 or limits.breaker() is not None:
        return []
    slots = settings.max_concurrent - _active(services)
    out: list[Release] = []
    for task_id in state.index_range(WAITING_INDEX, SCAN):
        if len(out) >= budget:
            break
        record = load_record(state, task_id)
        waiting = record.waiting_entry() if record is not None else None
        if waiting is None:  # started, or the record is gone: out of line
            state.index_remove(WAITING_INDEX, task_id)
            continue
        fix = waiting.action == Action.FIX.value
        if (fix and slots <= 0) or not _branch_free(limits, task_id, waiting):
            continue
        token = secrets.token_hex(8)
        if not lease(state, task_id, waiting.attempt).take(token):
            continue  # released already; that release is on its way
        out.append(Release(task_id, waiting.attempt, token, waiting.context_key))
        slots -= 1 if fix else 0
    return out


def event_of(services: Services, release: Release) -> CloudEvent | None:
    """The ``context.gathered`` a release sends; None when its context is gone (the lease is
    given back, and the task stays waiting where status shows it)."""
    from healer.stores.exceptions import BlobNotFound

    try:
        raw = services.blobs.get(release.context_key)
        context = ContextGathered.model_validate_json(raw)
    except (BlobNotFound, ValueError) as exc:
        log.warning("%s: cannot release: context %s: %s", release.task_id, release.context_key, exc)
        return None
    target = target_of(context)
    return build_event(
        EventType.CONTEXT_GATHERED,
        Stage.COMPLETION_CHECK,
        context,
        key=(release.task_id, release.attempt, "released", release.token),
        repository=target.repository,
        run_id=target.run_ref,
        attempt=release.attempt,
    )


def give_back(services: Services, release: Release) -> None:
    """A release that could not be sent: its lease goes, so the next sweep sends it."""
    lease(services.state, release.task_id, release.attempt).give_back()
