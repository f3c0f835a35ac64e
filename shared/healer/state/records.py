"""The records Healer keeps in the state store, as typed models.

Stored JSON is what these models dump with ``exclude_unset``: a field a writer never set is
not written, so a record reads back exactly as it was stored, and records written before a
field existed still read. Readers meet records written by other versions of other stages (a
rolling deploy), so:

- records rewritten by compare-and-set (:class:`TaskRecord`, :class:`Attempt`,
  :class:`EscalationClaim`) keep keys they do not know (``extra="allow"``): a stage that does
  not know a newer field must not erase it when it updates the record;
- records only read (the halves, markers, choices) ignore unknown keys (``extra="ignore"``).

A record that does not validate at all is *unreadable*: every reader treats it as absent.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from healer.vocabulary import Action, CommentKind


class TaskStatus(StrEnum):
    """Where a task stands (``task:<id>`` ``status``)."""

    RUNNING = "running"  # an attempt is under way
    WAITING = "waiting"  # a limit refused the attempt for now; see ``waiting``
    RETRYING = "retrying"  # an attempt failed; the next is on its way
    SUCCEEDED = "succeeded"
    EXHAUSTED = "exhausted"  # out of attempts; escalate tells people
    ESCALATED = "escalated"
    ESCALATION_FAILED = "escalation_failed"  # no channel took the escalation


class Outcome(StrEnum):
    """How an attempt ended."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"


class DecisionKind(StrEnum):
    """What completion-check decided after an attempt."""

    SUCCEEDED = "succeeded"
    RETRY = "retry"
    EXHAUSTED = "exhausted"


class Stored(BaseModel):
    """A record read from the store: unknown keys ignored."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    def stored(self) -> dict[str, Any]:
        """The JSON object as written: only the fields a writer set."""
        return self.model_dump(mode="json", exclude_unset=True)

    def without(self, *names: str) -> Self:
        """This record with ``names`` no longer set (so not written at all)."""
        data = self.stored()
        for name in names:
            data.pop(name, None)
        return self.model_validate(data)

    def filled_from(self, base: Stored, *, empty_too: bool = False) -> Self:
        """This record with every field ``base`` sets and this one lacks taken from ``base``
        (with ``empty_too``, also those this one holds empty: None, "" or [])."""
        data = self.stored()
        for name, value in base.stored().items():
            if name not in data or (empty_too and data[name] in (None, "", [])):
                data[name] = value
        return self.model_validate(data)


class Rewritten(Stored):
    """A record updated in place: unknown keys kept for the next writer."""

    model_config = ConfigDict(extra="allow")


class AgentResult(Stored):
    """The agent's half of an attempt: its CodeRun's end, and what GitHub says it pushed."""

    result: Literal["succeeded", "failed"]
    phase: str = ""
    summary: str = ""
    message: str = ""
    commits: list[str] | None = None  # None: not asked (a failed run)
    pull_request_url: str = ""
    finished_at: str = ""
    work_completed: bool | None = None
    at: str = ""


class CIResult(Stored):
    """CI's half of an attempt: a completed run (or check suite) on the branch."""

    conclusion: str = ""
    passed: bool = False
    head_sha: str = ""
    kind: str = ""  # workflow_run | check_suite
    id: int = 0
    url: str = ""
    at: str = ""


class AttemptDecision(Stored):
    """The decision recorded on its attempt, so a redelivery answers the same event."""

    kind: DecisionKind
    reason: str = ""
    next_agent: str = ""


class Attempt(Rewritten):
    """One attempt of a task: written by spawn, completed by completion-check."""

    attempt: int
    agent: str = ""
    action: Action | str = ""
    coderun_name: str = ""
    prompt_key: str = ""
    context_key: str = ""
    branch: str = ""
    start_sha: str = ""
    started_at: str = ""
    outcome: Outcome | Literal[""] = ""  # "": not decided yet
    agent_result: AgentResult | None = None
    ci: CIResult | None = None
    finished_at: str = ""
    error: str = ""
    summary: str = ""
    commits: list[str] = Field(default_factory=list)
    decision: AttemptDecision | None = None


class NextAgent(Stored):
    """The specialist completion-check chose for the next attempt."""

    attempt: int
    agent: str = ""


class Waiting(Stored):
    """What a waiting task waits for: the refusal that will lift, and where its context is."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    attempt: int
    code: str
    reason: str
    context_key: str
    action: str
    repository: str
    branch: str
    since: str


class Escalation(Stored):
    """Who heard about an exhausted task, and where the message is kept."""

    channels: list[str] = Field(default_factory=list)
    comment_url: str = ""
    comment_kind: CommentKind | Literal[""] = ""
    errors: dict[str, str] = Field(default_factory=dict)
    disabled: list[str] = Field(default_factory=list)
    message_key: str = ""
    at: str = ""


class TaskRecord(Rewritten):
    """``task:<id>``: a remediation task and its attempts.

    Spawn creates it and records each attempt (or the wait a limit imposed); completion-check
    records each attempt's halves and decision; escalate records who heard about it."""

    task_id: str = ""
    repository: str = ""
    run_id: int | str | None = None  # a run id, or an alert reference (``dependabot-3``)
    branch: str = ""
    failure_type: str = ""
    status: TaskStatus | None = None
    attempts: list[Attempt] = Field(default_factory=list)
    next_agent: NextAgent | None = None
    waiting: Waiting | None = None
    escalation: Escalation | None = None
    outcome: DecisionKind | None = None  # set with ``finished_at`` when the task is over
    created_at: str = ""
    updated_at: str = ""
    finished_at: str = ""
    escalated_at: str = ""
    comment_url: str = ""

    def entry(self, attempt: int) -> Attempt | None:
        return next((a for a in self.attempts if a.attempt == attempt), None)

    def latest(self) -> Attempt | None:
        return max(self.attempts, key=lambda a: a.attempt, default=None)

    def based_on(self, base: TaskRecord, now: str, *, empty_too: bool = False) -> Self:
        """This record with what ``base`` sets filled in (see ``filled_from``) and
        ``created_at`` stamped ``now`` when it has none: how every writer starts a change."""
        out = self.filled_from(base, empty_too=empty_too)
        if "created_at" in out.model_fields_set:
            return out
        return out.model_copy(update={"created_at": now})

    def waiting_entry(self) -> Waiting | None:
        """The ``waiting`` entry, when the record says the task is waiting."""
        return self.waiting if self.status == TaskStatus.WAITING else None


class SpawnClaim(Stored):
    """``dedup:spawn:<task>:<attempt>``: ``pending`` while a delivery starts the attempt, then
    ``done`` with the ``remediation.started`` payload a redelivery answers with."""

    state: Literal["pending", "done"]
    token: str = ""
    data: dict[str, Any] | None = None


class ChannelResult(Rewritten):
    """One channel's answer to an escalation (``sent`` with where, or ``failed`` with why)."""

    status: Literal["sent", "failed"]
    at: str = ""
    error: str = ""
    kind: CommentKind | Literal[""] = ""  # GitHub
    url: str = ""
    number: int | None = None
    message_id: str = ""  # Discord
    note: str = ""


class Leased(Rewritten):
    """Work one delivery does at a time (:class:`healer.state.leases.Lease`): ``pending``
    while leased (``lease`` names the delivery, until ``lease_until``), then ``done`` with the
    ``payload`` a redelivery answers with."""

    state: Literal["pending", "done"] = "pending"
    lease: str = ""
    lease_until: int | float = 0  # an int stays an int, so a rewrite stores it unchanged
    payload: dict[str, Any] | None = None


class EscalationClaim(Leased):
    """``escalated:<task>``: the escalation's progress, leased to one delivery at a time."""

    channels: dict[str, ChannelResult] = Field(default_factory=dict)


class StaleMarker(Stored):
    """``stale:<task>``: why the failure was found superseded, and when."""

    reason: str
    at: str


class SweepChoice(Stored):
    """``sweep:<source>:<id>``: what one sweep tick chose, so a redelivered tick resends it.
    ``timed_out`` holds ``[task, attempt]``, ``released`` ``[task, attempt, token, key]``."""

    timed_out: list[tuple[str, int]] = Field(default_factory=list)
    released: list[tuple[str, int, str, str]] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _bare_list(cls, value: Any) -> Any:
        """Ticks kept a bare list of timed-out attempts before releases existed."""
        return {"timed_out": value} if isinstance(value, list) else value
