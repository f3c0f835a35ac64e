"""Fixtures: services with a memory state store, a blob folder and GitHub faked at the
transport; a fake Discord webhook; the stage built on them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from escalate_fixtures import Discord, record_exhausted
from github_routes import Routes, client

from functions.escalate.stage import Escalator
from healer.services import Services
from healer.settings import Settings
from healer.stores.file import FileBlobStore
from healer.stores.memory import MemoryStateStore


@pytest.fixture
def routes() -> Routes:
    return Routes()


@pytest.fixture
def discord() -> Discord:
    return Discord()


@pytest.fixture
def services(tmp_path: Path, routes: Routes) -> Services:
    """completion-check has recorded both example tasks as exhausted."""
    built = Services(
        Settings(),
        state=MemoryStateStore(),
        blobs=FileBlobStore(tmp_path / "blobs"),
        github=client(routes),
    )
    record_exhausted(built.state)
    return built


@pytest.fixture
def make_escalator(services: Services, discord: Discord) -> Callable[..., Escalator]:
    def build(with_discord: bool = True) -> Escalator:
        return Escalator(
            services,
            discord=discord.webhook() if with_discord else None,
            clock=lambda: "2026-01-02T03:04:05Z",
        )

    return build
