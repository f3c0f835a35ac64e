"""Readiness: can this instance do its work right now?

Knative routes no traffic to an instance whose readiness probe fails, and stops routing to one
that starts failing, so the probe says "not ready" while the shared state store (Redis in
production) cannot be reached or the settings cannot be loaded: every stage needs both. The
probe is cheap because it runs every few seconds on every instance: one ``PING`` with a short
timeout, its answer reused for ``ttl`` seconds, and nothing at all for the in-process memory
store. Liveness stays separate and never touches the network: a Redis outage must not get
healthy instances restarted.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from healer.settings import Settings

if TYPE_CHECKING:
    from healer.stores.state import StateStore

log = logging.getLogger("healer.readiness")

PROBE_TIMEOUT = 0.5  # seconds; Knative's probe itself gives up after 1 s by default
PROBE_TTL = 1.5  # seconds an answer is reused


class Readiness:
    """The readiness verdict of one instance: ``None`` when ready, else the reason why not."""

    def __init__(
        self,
        load_settings: Callable[[], Settings] = Settings.load,
        *,
        timeout: float = PROBE_TIMEOUT,
        ttl: float = PROBE_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load_settings = load_settings
        self._timeout = timeout
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._settings: Settings | None = None
        self._store: StateStore | None = None
        self._checked_at: float | None = None
        self._reason: str | None = None

    def reason(self) -> str | None:
        """Why the instance is not ready (``None``: ready); probed at most once per ``ttl``."""
        with self._lock:
            now = self._clock()
            if self._checked_at is not None and now - self._checked_at < self._ttl:
                return self._reason
            reason = self._probe()
            if reason != self._reason or self._checked_at is None:
                if reason is None:
                    log.info("ready")
                else:
                    log.warning("not ready: %s", reason)
            self._reason, self._checked_at = reason, self._clock()
            return reason

    def _probe(self) -> str | None:
        if self._settings is None:
            try:
                self._settings = self._load_settings()
            except Exception as exc:
                return f"settings cannot be loaded: {exc}"
        settings = self._settings
        if settings.state_backend == "memory":
            return None
        backend = settings.state_backend
        try:
            if self._store is None:
                from healer.stores.factory import state_store

                self._store = state_store(settings, timeout=self._timeout)
            self._store.ping()
        except Exception as exc:
            return f"state store ({backend}): {exc}"
        return None
