"""GitHub faked at the transport: a router of canned answers that records every request."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

RECORDED = Path(__file__).resolve().parents[1] / "unit" / "github" / "recorded"
TOKEN = "ghp_unit0test0token0never0logged0000000000"

Answer = httpx.Response | Callable[[httpx.Request], httpx.Response] | Exception


def recorded(name: str) -> Any:
    return json.loads((RECORDED / name).read_text(encoding="utf-8"))


class Router:
    """Answers by (method, host, path) from queues; the last answer of a queue repeats."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str, str], deque[Answer]] = {}
        self.requests: list[httpx.Request] = []

    def add(self, method: str, url: str, *answers: Answer) -> None:
        parsed = httpx.URL(url)
        key = (method, parsed.host or "api.github.com", parsed.path)
        self.routes.setdefault(key, deque()).extend(answers)

    def sent(self, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == path]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        queue = self.routes.get((request.method, request.url.host, request.url.path))
        if not queue:
            return httpx.Response(404, json=recorded("not_found.json"))
        answer = queue.popleft() if len(queue) > 1 else queue[0]
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return answer(request)
        return answer
