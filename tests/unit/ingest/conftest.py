"""Fixtures for ingest's unit tests: the example deliveries, in-memory services, a handler."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from functions.ingest.handler import Ingest
from healer.services import Services
from healer.settings import Settings
from healer.stores.file import FileBlobStore
from healer.stores.memory import MemoryStateStore

DELIVERIES = Path(__file__).resolve().parents[3] / "examples" / "deliveries"


@pytest.fixture
def delivery() -> Callable[[str], dict[str, Any]]:
    """A fresh copy of an example delivery file (``{headers, body}``) by name."""
    cache: dict[str, dict[str, Any]] = {}

    def load(name: str) -> dict[str, Any]:
        if name not in cache:
            cache[name] = json.loads((DELIVERIES / f"{name}.json").read_text(encoding="utf-8"))
        return copy.deepcopy(cache[name])

    return load


@pytest.fixture
def services(tmp_path: Path) -> Services:
    return Services(Settings(), state=MemoryStateStore(), blobs=FileBlobStore(tmp_path / "blobs"))


@pytest.fixture
def make_ingest(services: Services) -> Callable[..., Ingest]:
    def build(emit: Any = None, **settings: Any) -> Ingest:
        configured = Services(Settings(**settings), state=services.state, blobs=services.blobs)
        return Ingest(configured, emit=emit)

    return build
