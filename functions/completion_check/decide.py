"""When an attempt worked, and what comes next: pure functions over the task record.

An attempt has two halves, recorded on its entry as they arrive in either order: the agent's
(``agent_result``, from the CodeRun) and CI's (``ci``, from the fix branch). It **succeeded**
when the CodeRun Succeeded and CI on the branch passed; it **failed** when the CodeRun Failed,
when it Succeeded having pushed nothing, or when CI failed on the agent's last commit; it
**timed out** when the sweep finds it running past ``attempt_timeout_mins``. A re-run attempt
(no agent) has only the CI half. A failed attempt is retried until ``max_attempts``; the same
specialist failing twice hands over to ``alternate_agent`` (default: the roster's fallback).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["succeeded", "retry", "exhausted"]
Outcome = Literal["succeeded", "failed", "timed_out"]
TERMINAL = {"succeeded": "succeeded", "retry": "retrying", "exhausted": "exhausted"}


@dataclass(frozen=True)
class Decision:
    kind: Kind
    attempt: int
    outcome: Outcome
    reason: str
    next_agent: str = ""

    def as_record(self) -> dict[str, Any]:
        return {"kind": self.kind, "reason": self.reason, "next_agent": self.next_agent}


def attempts_of(record: dict[str, Any]) -> list[dict[str, Any]]:
    raw = record.get("attempts")
    return [a for a in raw if isinstance(a, dict)] if isinstance(raw, list) else []


def entry_of(record: dict[str, Any], attempt: int) -> dict[str, Any] | None:
    return next((a for a in attempts_of(record) if a.get("attempt") == attempt), None)


def open_attempt(record: dict[str, Any]) -> dict[str, Any] | None:
    """The newest attempt while the task runs and that attempt is undecided."""
    attempts = attempts_of(record)
    if record.get("status") != "running" or not attempts:
        return None
    last = max(attempts, key=lambda a: int(a.get("attempt") or 0))
    return None if last.get("outcome") else last


def is_latest(record: dict[str, Any], attempt: int) -> bool:
    return all(int(a.get("attempt") or 0) <= attempt for a in attempts_of(record))


def outcome_of(entry: dict[str, Any]) -> tuple[Outcome, str] | None:
    """The attempt's outcome once both halves are known (None: still waiting)."""
    agent = entry.get("agent_result") if isinstance(entry.get("agent_result"), dict) else None
    ci = entry.get("ci") if isinstance(entry.get("ci"), dict) else None
    rerun = entry.get("action") == "rerun"
    if agent is not None and agent.get("result") == "failed":
        why = agent.get("message") or agent.get("summary") or "no message"
        return "failed", f"the agent's CodeRun {agent.get('phase', 'Failed')}: {why}"
    commits = agent.get("commits") if agent is not None else None
    if agent is not None and commits == []:
        return "failed", "the agent finished without pushing a commit"
    if agent is None and not rerun:
        return None
    if ci is None:
        return None
    if isinstance(commits, list) and commits and ci.get("head_sha") != commits[-1]:
        return None  # CI of an earlier commit; wait for the agent's last one
    if ci.get("passed"):
        return "succeeded", f"CI {ci.get('conclusion')} on {str(ci.get('head_sha'))[:12]}"
    return "failed", f"CI concluded {ci.get('conclusion')} on {str(ci.get('head_sha'))[:12]}"


def next_agent(
    record: dict[str, Any], failed_agent: str, *, fallback: str, alternate: str = ""
) -> str:
    """The same specialist again, unless it has now failed twice on this task."""
    if not failed_agent:
        return ""  # a re-run: the refreshed verdict picks the specialist
    failures = sum(
        1
        for a in attempts_of(record)
        if a.get("agent") == failed_agent and a.get("outcome") in ("failed", "timed_out")
    )
    if failures < 2:
        return failed_agent
    for candidate in (alternate, fallback):
        if candidate and candidate != failed_agent:
            return candidate
    return failed_agent


def decide(
    record: dict[str, Any],
    attempt: int,
    outcome: Outcome,
    reason: str,
    *,
    max_attempts: int,
    fallback: str,
    alternate: str = "",
    can_retry: bool = True,
) -> Decision:
    """``record`` must already carry ``outcome`` on the attempt's entry."""
    if outcome == "succeeded":
        return Decision("succeeded", attempt, outcome, reason)
    if attempt >= max_attempts:
        return Decision(
            "exhausted", attempt, outcome, f"{reason} (attempt {attempt} of {max_attempts})"
        )
    if not can_retry:
        return Decision("exhausted", attempt, outcome, f"{reason}; no stored context to retry from")
    entry = entry_of(record, attempt) or {}
    agent = next_agent(
        record, str(entry.get("agent") or ""), fallback=fallback, alternate=alternate
    )
    return Decision("retry", attempt, outcome, reason, agent)


def finish(
    record: dict[str, Any], attempt: int, outcome: Outcome, reason: str, now: str
) -> dict[str, Any]:
    """``record`` with the attempt's outcome, error, summary and commits filled in."""
    out = dict(record)
    attempts = []
    for entry in attempts_of(record):
        if entry.get("attempt") == attempt:
            entry = dict(entry)
            agent_result = entry.get("agent_result")
            agent = agent_result if isinstance(agent_result, dict) else {}
            entry["outcome"] = outcome
            entry["finished_at"] = now
            entry["error"] = "" if outcome == "succeeded" else reason
            entry["summary"] = agent.get("summary") or entry.get("summary") or ""
            entry["commits"] = agent.get("commits") or entry.get("commits") or []
        attempts.append(entry)
    out["attempts"] = attempts
    out["updated_at"] = now
    return out


def conclude(record: dict[str, Any], decision: Decision, now: str) -> dict[str, Any]:
    """The record's status after ``decision`` (recorded on the attempt, for redeliveries)."""
    out = dict(record)
    out["attempts"] = [
        {**a, "decision": decision.as_record()} if a.get("attempt") == decision.attempt else a
        for a in attempts_of(record)
    ]
    out["status"] = TERMINAL[decision.kind]
    if decision.kind == "retry":
        out["next_agent"] = {"attempt": decision.attempt + 1, "agent": decision.next_agent}
    else:
        out["finished_at"] = now
        out["outcome"] = decision.kind
    out["updated_at"] = now
    return out


def recorded_decision(entry: dict[str, Any]) -> Decision | None:
    """The decision an earlier delivery made for this attempt, rebuilt for a redelivery."""
    raw = entry.get("decision")
    outcome = entry.get("outcome")
    if not isinstance(raw, dict) or outcome not in ("succeeded", "failed", "timed_out"):
        return None
    kind = raw.get("kind")
    if kind not in TERMINAL:
        return None
    return Decision(
        kind,
        int(entry.get("attempt") or 0),
        outcome,
        str(raw.get("reason") or ""),
        str(raw.get("next_agent") or ""),
    )
