"""Claims around a side effect: taken before it runs, completed with its result, given back
when it fails.

One policy for every claim and lease in the project (spawn's dedup, a branch's window, the
release of a waiting task, a delivery's archive, completion-check's once-only effects), over the
state store's atomic primitives: ``claim`` (set if absent, with a TTL), ``get``,
``compare_and_set`` and ``delete``. The value a claim holds is the caller's (a token, a task id,
a JSON record), so the stored format of each key stays its own.

Kept free of pydantic so the cheapest stages (ingest) can claim without loading it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from healer.errors import RetryableError

if TYPE_CHECKING:
    from healer.stores.state import StateStore

log = logging.getLogger("healer.state")

T = TypeVar("T")

TAKE_TRIES = 3  # a holder that expires between ``claim`` and ``get`` is retried this often


class Contended(RetryableError):
    """The claim kept expiring between taking it and reading its holder (retryable)."""

    title = "claim contended"


@dataclass(frozen=True)
class Claim:
    """A key one owner holds until it expires (``ttl_seconds``) or is given back."""

    state: StateStore
    key: str
    ttl_seconds: int

    def take(self, value: str = "1") -> bool:
        """Hold the key with ``value``; False when someone else holds it."""
        return self.state.claim(self.key, value, self.ttl_seconds)

    def take_or_holder(self, value: str) -> str | None:
        """Hold the key (→ None), or the value its current holder stored. A holder that
        expires between the two reads is tried again; ``Contended`` when it keeps doing so."""
        for _ in range(TAKE_TRIES):
            if self.take(value):
                return None
            held = self.state.get(self.key)
            if held is not None:
                return held
        raise Contended(f"{self.key} kept changing hands", retry_after=5)

    def complete(self, taken: str, result: str, ttl_seconds: int | None) -> bool:
        """Replace the value this owner took with its ``result`` (kept ``ttl_seconds``); False
        when the claim expired and someone else holds it now."""
        return self.state.compare_and_set(self.key, taken, result, ttl_seconds)

    def give_back(self) -> None:
        """Drop the claim, so the next owner may take it at once."""
        self.state.delete(self.key)

    def give_back_quietly(self) -> None:
        """Drop the claim on a failure path; a store that cannot is left to expire it."""
        try:
            self.give_back()
        except Exception:  # the store is failing too; the claim expires on its own
            log.warning("could not release claim %s", self.key)

    def run_once(self, effect: Callable[[], T], value: str = "1") -> tuple[bool, T | None]:
        """Run ``effect`` only if this call takes the claim; a failing effect gives it back,
        so a retry runs it (if giving back fails too, the claim runs out on its own and the
        effect's error is the one raised). (ran, result)."""
        if not self.take(value):
            return False, None
        try:
            result = effect()
        except BaseException:
            self.give_back_quietly()
            raise
        return True, result


def once(
    state: StateStore,
    key: str,
    effect: Callable[[], T],
    *,
    ttl_seconds: int,
    value: str = "1",
) -> tuple[bool, T | None]:
    """Run ``effect`` only if this call claims ``key`` (see :meth:`Claim.run_once`)."""
    return Claim(state, key, ttl_seconds).run_once(effect, value)


def give_back(state: StateStore, key: str) -> None:
    """Drop a claim; a store that cannot is left to expire it."""
    Claim(state, key, 0).give_back_quietly()
