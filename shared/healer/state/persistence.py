"""The policy for writing state safely, over the state store's primitives.

Like an idempotency persistence layer: the records are typed (:mod:`healer.state.records`),
this module owns the policy (read-modify-write by compare-and-set with a bounded number of lost
races; claims taken before a side effect and given back when it fails), and the backends
(:class:`~healer.stores.state.StateStore`) supply only atomic primitives (``get``, ``claim``,
``compare_and_set``, ``delete``). No stage writes a shared record any other way.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from healer.errors import StoreUnavailable
from healer.state.records import Stored
from healer.stores.state import StateStore

log = logging.getLogger("healer.state")

MAX_RACES = 20  # lost compare-and-set races before an update gives up (a retryable 503)

R = TypeVar("R", bound=Stored)
T = TypeVar("T")


def dump(record: BaseModel) -> str:
    """A record as stored: sorted keys, only the fields a writer set."""
    if isinstance(record, Stored):
        return json.dumps(record.stored(), sort_keys=True)
    return json.dumps(record.model_dump(mode="json"), sort_keys=True)


def parse(model: type[R], raw: str | None) -> R | None:
    """``raw`` as a ``model``; None when absent or unreadable (not JSON, not that record)."""
    if raw is None:
        return None
    try:
        return model.model_validate_json(raw)
    except (ValidationError, ValueError):
        return None


def read(state: StateStore, key: str, model: type[R]) -> R | None:
    return parse(model, state.get(key))


def write(state: StateStore, key: str, record: Stored, ttl_seconds: int | None = None) -> None:
    state.set(key, dump(record), ttl_seconds)


def update(
    state: StateStore,
    key: str,
    model: type[R],
    change: Callable[[R | None], R | None],
    *,
    doing: str,
    ttl_seconds: int | None = None,
) -> R | None:
    """Apply ``change`` to the record at ``key`` atomically and return the record as it now
    stands. ``change`` gets the current record (None: absent or unreadable, which a write
    replaces) and returns the new one, or None to leave the record as it is. A lost race
    re-reads and re-applies; ``MAX_RACES`` lost races raise ``StoreUnavailable`` (retryable),
    naming what was being done."""
    for _ in range(MAX_RACES):
        raw = state.get(key)
        current = parse(model, raw)
        updated = change(current)
        if updated is None:
            return current
        if state.compare_and_set(key, raw, dump(updated), ttl_seconds):
            return updated
    raise StoreUnavailable(f"{key} changed {MAX_RACES} times while {doing}")


def once(
    state: StateStore,
    key: str,
    effect: Callable[[], T],
    *,
    ttl_seconds: int,
    value: str = "1",
) -> tuple[bool, T | None]:
    """Run ``effect`` only if this call claims ``key`` (it holds ``value`` until it expires).
    A failing effect gives the claim back, so a retry runs it; if giving it back fails too,
    the claim runs out on its own and the effect's error is the one raised. (ran, result)."""
    if not state.claim(key, value, ttl_seconds):
        return False, None
    try:
        result = effect()
    except BaseException:
        give_back(state, key)
        raise
    return True, result


def give_back(state: StateStore, key: str) -> None:
    """Drop a claim; a store that cannot is left to expire it."""
    try:
        state.delete(key)
    except Exception:  # the store is failing too; the claim expires on its own
        log.warning("could not release claim %s", key)
