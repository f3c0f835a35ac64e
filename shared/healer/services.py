"""Clients and stores built once per function instance from settings, and passed to logic.

Each is built lazily on first use, so a function that never touches GitHub never imports
httpx, and a stage's import stays cheap for scale-to-zero cold starts. The in-process broker
builds one ``Services`` and hands it to every stage so they share the memory state store.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from healer.settings import Settings

if TYPE_CHECKING:
    from healer.github.client import GitHubClient
    from healer.stores.blob import BlobStore
    from healer.stores.state import StateStore


class Services:
    """Lazy holder of the instance's state store, blob store and GitHub client."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        state: StateStore | None = None,
        blobs: BlobStore | None = None,
        github: GitHubClient | None = None,
    ) -> None:
        self.settings = settings or Settings.load()
        self._state = state
        self._blobs = blobs
        self._github = github
        self._lock = threading.Lock()

    @property
    def state(self) -> StateStore:
        with self._lock:
            if self._state is None:
                from healer.stores.factory import state_store

                self._state = state_store(self.settings)
            return self._state

    @property
    def blobs(self) -> BlobStore:
        with self._lock:
            if self._blobs is None:
                from healer.stores.factory import blob_store

                self._blobs = blob_store(self.settings)
            return self._blobs

    @property
    def github(self) -> GitHubClient:
        with self._lock:
            if self._github is None:
                from healer.github.client import GitHubClient

                self._github = GitHubClient.from_settings(self.settings)
            return self._github
