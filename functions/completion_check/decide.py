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

from healer.state.records import (
    Attempt,
    AttemptDecision,
    DecisionKind,
    NextAgent,
    Outcome,
    TaskRecord,
    TaskStatus,
)

TERMINAL = {
    DecisionKind.SUCCEEDED: TaskStatus.SUCCEEDED,
    DecisionKind.RETRY: TaskStatus.RETRYING,
    DecisionKind.EXHAUSTED: TaskStatus.EXHAUSTED,
}
FAILED = (Outcome.FAILED, Outcome.TIMED_OUT)

__all__ = ["Decision", "Outcome", "decide", "next_agent", "outcome_of"]


@dataclass(frozen=True)
class Decision:
    kind: DecisionKind
    attempt: int
    outcome: Outcome
    reason: str
    next_agent: str = ""

    def as_record(self) -> AttemptDecision:
        return AttemptDecision(kind=self.kind, reason=self.reason, next_agent=self.next_agent)


def open_attempt(record: TaskRecord) -> Attempt | None:
    """The newest attempt while the task runs and that attempt is undecided."""
    last = record.latest()
    if record.status != TaskStatus.RUNNING or last is None:
        return None
    return None if last.outcome else last


def is_latest(record: TaskRecord, attempt: int) -> bool:
    return all(a.attempt <= attempt for a in record.attempts)


def outcome_of(entry: Attempt) -> tuple[Outcome, str] | None:
    """The attempt's outcome once both halves are known (None: still waiting)."""
    agent, ci = entry.agent_result, entry.ci
    rerun = entry.action == "rerun"
    if agent is not None and agent.result == "failed":
        why = agent.message or agent.summary or "no message"
        return Outcome.FAILED, f"the agent's CodeRun {agent.phase or 'Failed'}: {why}"
    commits = agent.commits if agent is not None else None
    if agent is not None and commits == []:
        return Outcome.FAILED, "the agent finished without pushing a commit"
    if agent is None and not rerun:
        return None
    if ci is None:
        return None
    if commits and ci.head_sha != commits[-1]:
        return None  # CI of an earlier commit; wait for the agent's last one
    if ci.passed:
        return Outcome.SUCCEEDED, f"CI {ci.conclusion} on {ci.head_sha[:12]}"
    return Outcome.FAILED, f"CI concluded {ci.conclusion} on {ci.head_sha[:12]}"


def next_agent(record: TaskRecord, failed_agent: str, *, fallback: str, alternate: str = "") -> str:
    """The same specialist again, unless it has now failed twice on this task."""
    if not failed_agent:
        return ""  # a re-run: the refreshed verdict picks the specialist
    failures = sum(1 for a in record.attempts if a.agent == failed_agent and a.outcome in FAILED)
    if failures < 2:
        return failed_agent
    for candidate in (alternate, fallback):
        if candidate and candidate != failed_agent:
            return candidate
    return failed_agent


def decide(
    record: TaskRecord,
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
    if outcome == Outcome.SUCCEEDED:
        return Decision(DecisionKind.SUCCEEDED, attempt, outcome, reason)
    if attempt >= max_attempts:
        return Decision(
            DecisionKind.EXHAUSTED,
            attempt,
            outcome,
            f"{reason} (attempt {attempt} of {max_attempts})",
        )
    if not can_retry:
        return Decision(
            DecisionKind.EXHAUSTED, attempt, outcome, f"{reason}; no stored context to retry from"
        )
    entry = record.entry(attempt)
    failed_agent = entry.agent if entry is not None else ""
    agent = next_agent(record, failed_agent, fallback=fallback, alternate=alternate)
    return Decision(DecisionKind.RETRY, attempt, outcome, reason, agent)


def _with_entry(record: TaskRecord, attempt: int, **fields: object) -> TaskRecord:
    attempts = [a.model_copy(update=fields) if a.attempt == attempt else a for a in record.attempts]
    return record.model_copy(update={"attempts": attempts})


def finish(record: TaskRecord, attempt: int, outcome: Outcome, reason: str, now: str) -> TaskRecord:
    """``record`` with the attempt's outcome, error, summary and commits filled in."""
    entry = record.entry(attempt)
    if entry is not None:
        agent = entry.agent_result
        record = _with_entry(
            record,
            attempt,
            outcome=outcome,
            finished_at=now,
            error="" if outcome == Outcome.SUCCEEDED else reason,
            summary=(agent.summary if agent else "") or entry.summary or "",
            commits=(agent.commits if agent else None) or entry.commits or [],
        )
    return record.model_copy(update={"updated_at": now})


def conclude(record: TaskRecord, decision: Decision, now: str) -> TaskRecord:
    """The record's status after ``decision`` (recorded on the attempt, for redeliveries)."""
    out = _with_entry(record, decision.attempt, decision=decision.as_record())
    update: dict[str, object] = {"status": TERMINAL[decision.kind], "updated_at": now}
    if decision.kind == DecisionKind.RETRY:
        update["next_agent"] = NextAgent(attempt=decision.attempt + 1, agent=decision.next_agent)
    else:
        update["finished_at"] = now
        update["outcome"] = decision.kind
    return out.model_copy(update=update)


def recorded_decision(entry: Attempt) -> Decision | None:
    """The decision an earlier delivery made for this attempt, rebuilt for a redelivery."""
    if entry.decision is None or not entry.outcome:
        return None
    raw = entry.decision
    return Decision(raw.kind, entry.attempt, Outcome(entry.outcome), raw.reason, raw.next_agent)
