"""The policy for writing state safely, over the state store's primitives.

Like an idempotency persistence layer: the records are typed (:mod:`healer.state.records`),
this module owns the policy (read-modify-write by compare-and-set with a bounded number of lost
races; claims taken before a side effect and given back when it fails), and the backends
(:class:`~healer.stores.state.StateStore`) supply only atomic primitives (``get``, ``claim``,
``compare_and_set``, ``delete``). No stage writes a shared record any other way.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from healer.errors import StoreUnavailable
from healer.state.claims import give_back, once
from healer.state.records import Stored
from healer.stores.state import StateStore

__all__ = ["MAX_RACES", "dump", "give_back", "once", "parse", "read", "update", "write"]

MAX_RACES = 20  # lost compare-and-set races before an update gives up (a retryable 503)

R = TypeVar("R", bound=Stored)


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
