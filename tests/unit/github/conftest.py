"""Fixtures for the GitHub client tests: a router transport, recorded sleeps, a client."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from github_fakes import TOKEN, Router

from healer.github.auth import Auth, TokenAuth
from healer.github.client import GitHubClient


@pytest.fixture
def router() -> Router:
    return Router()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make_client(router: Router, sleeps: list[float]) -> Callable[..., GitHubClient]:
    def build(auth: Auth | None = None, **options: Any) -> GitHubClient:
        options.setdefault("clock", lambda: 1_714_644_000.0)
        return GitHubClient(
            auth=auth or TokenAuth(TOKEN),
            transport=httpx.MockTransport(router),
            sleep=sleeps.append,
            **options,
        )

    return build


@pytest.fixture
def client(make_client: Callable[..., GitHubClient]) -> GitHubClient:
    return make_client()
