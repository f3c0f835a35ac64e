"""Claims around a side effect: taken before it runs, given back when it fails.

Kept free of pydantic so the cheapest stages (ingest) can claim without loading it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from healer.stores.state import StateStore

log = logging.getLogger("healer.state")

T = TypeVar("T")


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
