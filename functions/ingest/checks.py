"""What ingest emits keeps the detected models' identity rules, checked without pydantic.

Ingest builds its events from plain dicts so a cold start does not pay for the models; the next
stage validates them with ``FailureDetected`` / ``AlertDetected``. A delivery whose ids, SHA,
branch or URL those models would refuse is refused here instead (400), where it entered, rather
than emitted and dead-lettered one hop later. The checks are ``healer.identity``'s, the ones the
models wrap.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from healer.errors import InvalidInput
from healer.identity import (
    MAX_ATTEMPT,
    MAX_ID,
    check_optional_ref,
    check_sha,
    check_url,
)

_IDS = ("job_id", "installation_id", "check_suite_id", "alert_number")
_BRANCHES = ("head_branch", "default_branch", "ref")


def _whole(name: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(f"{name} must be an integer from {low} to {high}, got {value!r:.40}")


def _text(name: str, value: Any, check: Callable[[str], str]) -> None:
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be a string, got {type(value).__name__}")
    try:
        check(value)
    except ValueError as exc:
        raise InvalidInput(f"{name} {exc}") from None


def check_detected(data: Mapping[str, Any]) -> None:
    """Raise ``InvalidInput`` naming the first field the detected models would refuse."""
    for name in _IDS:
        if data.get(name) is not None:
            _whole(name, data[name], 1, MAX_ID)
    if "run_id" in data:
        _whole("run_id", data["run_id"], 0, MAX_ID)
    if "run_attempt" in data:
        _whole("run_attempt", data["run_attempt"], 1, MAX_ATTEMPT)
    for number in data.get("pull_requests") or ():
        _whole("pull_requests[]", number, 1, MAX_ID)
    if "head_sha" in data:
        _text("head_sha", data["head_sha"], check_sha)
    for name in _BRANCHES:
        if name in data:
            _text(name, data[name], check_optional_ref)
    if "html_url" in data:
        _text("html_url", data["html_url"], check_url)
