"""GitHub faked at the transport for stage tests: recorded example answers plus overrides."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from healer.github.auth import TokenAuth
from healer.github.client import GitHubClient
from healer.github.recorded import RecordedTransport
from healer.services import Services
from healer.settings import Settings
from healer.stores.file import FileBlobStore
from healer.stores.memory import MemoryStateStore

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "github"
TOKEN = "ghs_unit0test0token0value0000000000000"

Answer = httpx.Response | Callable[[httpx.Request], httpx.Response]


class Routes:
    """Answers from ``overrides`` by path, else from the recorded examples; keeps every request."""

    def __init__(self, root: Path = EXAMPLES) -> None:
        self.recorded = RecordedTransport(root)
        self.overrides: dict[str, Answer] = {}
        self.requests: list[httpx.Request] = []

    def json(self, path: str, body: Any, status: int = 200) -> None:
        self.overrides[path] = httpx.Response(status, json=body)

    def status(self, path: str, status: int, **headers: str) -> None:
        self.overrides[path] = httpx.Response(status, json={"message": "x"}, headers=headers)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.overrides.get(request.url.path)
        if answer is None:
            return self.recorded.handle_request(request)
        return answer(request) if callable(answer) else answer

    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]


def recorded(path: str) -> Any:
    return json.loads((EXAMPLES / path).read_text())


def client(routes: Routes) -> GitHubClient:
    return GitHubClient(
        auth=TokenAuth(TOKEN), transport=httpx.MockTransport(routes), sleep=lambda _: None
    )


def services(routes: Routes, tmp: Path, **settings: Any) -> Services:
    return Services(
        Settings(blob_dir=str(tmp), **settings),
        state=MemoryStateStore(),
        blobs=FileBlobStore(tmp),
        github=client(routes),
    )


def paged(
    path: str, items: list[Any], per_page: int = 100
) -> Callable[[httpx.Request], httpx.Response]:
    """An answer that pages ``items`` with GitHub's ``Link: rel="next"`` header."""

    def answer(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("page", "1"))
        chunk = items[(page - 1) * per_page : page * per_page]
        headers = {}
        if page * per_page < len(items):
            headers["Link"] = (
                f'<https://api.github.com{path}?per_page={per_page}&page={page + 1}>; rel="next"'
            )
        return httpx.Response(200, json=chunk, headers=headers)

    return answer
