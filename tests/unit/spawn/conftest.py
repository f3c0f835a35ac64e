"""Fixtures: a context builder, and services with an outbox, a blob folder and recorded GitHub
(writes are kept, never sent)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from spawn_fixtures import RECORDED, ContextFactory, build_context

from healer.github.auth import TokenAuth
from healer.github.client import GitHubClient
from healer.github.recorded import RecordedTransport
from healer.services import Services
from healer.settings import Settings
from healer.stores.file import FileBlobStore
from healer.stores.memory import MemoryStateStore


@pytest.fixture
def make_context() -> ContextFactory:
    return build_context


@pytest.fixture
def transport() -> RecordedTransport:
    return RecordedTransport(RECORDED)


@pytest.fixture
def make_services(tmp_path: Path, transport: RecordedTransport) -> Callable[..., Services]:
    def build(**settings: Any) -> Services:
        github = GitHubClient(auth=TokenAuth("t0ken"), transport=transport, sleep=lambda _: None)
        return Services(
            Settings(coderun_outbox=str(tmp_path / "outbox"), **settings),
            state=MemoryStateStore(),
            blobs=FileBlobStore(tmp_path / "blobs"),
            github=github,
        )

    return build
