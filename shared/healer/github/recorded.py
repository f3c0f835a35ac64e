"""Serve recorded GitHub API answers from a directory: the offline demo and replay need no token.

``GET /repos/acme/widgets/actions/runs/7001/jobs?filter=latest`` is answered from
``<root>/repos/acme/widgets/actions/runs/7001/jobs.json`` (the query string is ignored). A job
log (``/actions/jobs/{id}/logs``) answers 302 to a separate host, as GitHub does, which then
serves ``<root>/.../actions/jobs/{id}/logs.txt``. A missing file is a 404. Writes (POST, PATCH,
PUT, DELETE) never reach GitHub: they are kept in :attr:`RecordedTransport.writes` and
acknowledged with 201 so the pipeline can run to its end. With a :class:`PushLedger`, the
commits the offline tools pushed are answered first (branches, commits, compares, commit lists).
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from healer.github.pushes import PushLedger

LOG_HOST = "logs.recorded.invalid"
_NOT_FOUND = {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}


@dataclass(frozen=True)
class RecordedWrite:
    method: str
    path: str
    body: Any


class RecordedTransport(httpx.BaseTransport):
    """An httpx transport answering from files laid out by API path."""

    def __init__(self, root: str | Path, pushes: PushLedger | None = None) -> None:
        self.root = Path(root).resolve()
        self.pushes = pushes
        self.writes: list[RecordedWrite] = []
        self._lock = threading.Lock()

    def _recorded(self, path: str) -> Any:
        found = self._file(path, ".json")
        if found is None:
            return None
        try:
            return json.loads(found.read_bytes())
        except ValueError:
            return None

    def _file(self, path: str, suffix: str) -> Path | None:
        relative = path.strip("/")
        if not relative or any(part in ("", ".", "..") for part in relative.split("/")):
            return None
        candidate = (self.root / f"{relative}{suffix}").resolve()
        if not candidate.is_relative_to(self.root) or not candidate.is_file():
            return None
        return candidate

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.url.host == LOG_HOST:
            log_file = self._file(path, "")
            if request.method != "GET" or log_file is None:
                return _json(404, _NOT_FOUND)
            return httpx.Response(
                200, content=log_file.read_bytes(), headers={"Content-Type": "text/plain"}
            )
        if request.method != "GET":
            return self._write(request)
        if self.pushes is not None:
            pushed = self.pushes.answer(path, dict(request.url.params), self._recorded)
            if pushed is not None:
                return _json(*pushed)
        if path.endswith("/logs") and "/actions/jobs/" in path:
            if self._file(path, ".txt") is None:
                return _json(404, _NOT_FOUND)
            return httpx.Response(302, headers={"Location": f"https://{LOG_HOST}{path}.txt"})
        answer = self._file(path, ".json")
        if answer is None:
            return _json(404, _NOT_FOUND)
        return httpx.Response(
            200, content=answer.read_bytes(), headers={"Content-Type": "application/json"}
        )

    def _write(self, request: httpx.Request) -> httpx.Response:
        raw = request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        with self._lock:
            self.writes.append(RecordedWrite(request.method, request.url.path, body))
            number = len(self.writes)
        answer: dict[str, Any] = {"id": number}
        if isinstance(body, dict):
            answer.update(body)
        answer.update(_created(request.url.path, number))
        return _json(201, answer)


_ISSUES = re.compile(r"^/repos/([^/]+)/([^/]+)/issues(?:/(\d+)/comments)?$")


def _created(path: str, number: int) -> dict[str, Any]:
    """The links GitHub answers a new issue or comment with, so callers can show them."""
    match = _ISSUES.match(path)
    if match is None:
        return {}
    owner, repo, issue = match.groups()
    if issue is None:
        return {"number": number, "html_url": f"https://github.com/{owner}/{repo}/issues/{number}"}
    url = f"https://github.com/{owner}/{repo}/issues/{issue}#issuecomment-{number}"
    return {"html_url": url}


def _json(status: int, body: Any) -> httpx.Response:
    return httpx.Response(status, json=body)
