"""What happened the last times this failure was seen: the state store, and OpenMemory if on.

The state store's ``history:<fingerprint>`` list is written by the stages that finish a
remediation (newest first, JSON ``HistoryEntry``). OpenMemory is optional and remote: one
query with a timeout, and any trouble with it is reported, never fatal.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from healer.models import HistoryEntry, Verdict
from healer.stores.keys import history_key
from healer.tls import http_client

__all__ = ["history_key", "memory_history", "state_history"]

if TYPE_CHECKING:
    import httpx

    from healer.stores.state import StateStore

log = logging.getLogger("healer.gather")

MAX_HISTORY = 10
MEMORY_RESULTS = 5
SUMMARY_CHARS = 500


def state_history(
    state: StateStore, fingerprint: str, *, exclude_task: str = ""
) -> list[HistoryEntry]:
    """Past remediations of ``fingerprint`` (not this task's own attempts), newest first."""
    if not fingerprint:
        return []
    entries = []
    for raw in state.items(history_key(fingerprint), limit=MAX_HISTORY + 1):
        try:
            entry = HistoryEntry.model_validate_json(raw)
        except ValueError:
            log.warning("skipping an unreadable entry in %s", history_key(fingerprint))
            continue
        if entry.task_id != exclude_task:
            entries.append(entry.model_copy(update={"summary": entry.summary[:SUMMARY_CHARS]}))
    return entries[:MAX_HISTORY]


def memory_query(verdict: Verdict, repository: str) -> dict[str, Any]:
    """One semantic query for OpenMemory: the failure in words, narrowed by Healer's tags."""
    first_line = next((line.strip() for line in verdict.excerpt.splitlines() if line.strip()), "")
    text = f"CI failure {verdict.failure_type.value} in {repository}"
    if verdict.failing_step:
        text += f", step {verdict.failing_step}"
    if first_line:
        text += f": {first_line[:200]}"
    tags = ["healer", f"fingerprint:{verdict.fingerprint}"] if verdict.fingerprint else ["healer"]
    return {"query": text, "k": MEMORY_RESULTS, "filters": {"tags": tags}}


def memory_history(
    base_url: str,
    verdict: Verdict,
    repository: str,
    *,
    timeout: float,
    transport: httpx.BaseTransport | None = None,
) -> tuple[list[HistoryEntry], str]:
    """Matches from OpenMemory's ``POST /memory/query``, and an error note ('' if fine)."""
    import httpx

    url = base_url.rstrip("/") + "/memory/query"
    try:
        with http_client(timeout=timeout, transport=transport) as client:
            response = client.post(url, json=memory_query(verdict, repository))
        response.raise_for_status()
        matches = response.json().get("matches", [])
    except httpx.TimeoutException:
        return [], f"history.memory: timed out after {timeout:g} s"
    except httpx.HTTPStatusError as exc:
        return [], f"history.memory: answered {exc.response.status_code}"
    except (httpx.HTTPError, ValueError, AttributeError) as exc:
        return [], f"history.memory: {type(exc).__name__}"
    return [entry for m in matches if isinstance(m, dict) and (entry := _from_match(m))], ""


def _from_match(match: dict[str, Any]) -> HistoryEntry | None:
    content = str(match.get("content") or "")
    raw_meta = match.get("metadata")
    meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
    task = str(meta.get("task_id") or match.get("id") or "")
    if not (task or content):
        return None
    return HistoryEntry(
        task_id=task,
        agent=str(meta.get("agent") or ""),
        outcome=str(meta.get("outcome") or ""),
        attempts=int(meta.get("attempts") or 0),
        finished_at=str(meta.get("finished_at") or match.get("last_seen_at") or ""),
        summary=content[:SUMMARY_CHARS],
        source="memory",
    )
