"""The completion-check stage: CodeRun updates, CI results and the sweep in; at most one of
``remediation.succeeded`` / ``.retry`` / ``.exhausted`` out.

Each input records its half of an attempt on the task record (compare-and-set), then
``settle`` decides once both halves are known. A redelivery finds the attempt decided and
answers the same event while the task has not moved on; side effects run once (see
``effects``). Store and blob outages propagate as 503s so the broker retries.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from cloudevents.http import CloudEvent

from functions.completion_check import decide as rules
from functions.completion_check import effects, emit, release
from functions.completion_check.coderuns import CodeRunReader, reader_for
from functions.completion_check.inputs import (
    AgentReport,
    CIReport,
    agent_report,
    ci_report,
    coderun_seen,
)
from functions.completion_check.pushed import pushed_commits
from functions.completion_check.sweep import LIMIT, Sweep
from healer.errors import InvalidInput
from healer.events import event_data
from healer.models import ContextGathered, HistoryEntry
from healer.runtime import Skip
from healer.state import clock as clocks
from healer.state.records import Attempt, Outcome, TaskRecord, TaskStatus
from healer.stores.keys import branch_key
from healer.vocabulary import EventType

if TYPE_CHECKING:
    from healer.roster import Roster
    from healer.services import Services

Answer = CloudEvent | Skip  # narrower than healer.runtime.Reply: never a JSON answer or None
Half = Literal["agent_result", "ci"]
log = logging.getLogger("healer.completion_check")
ACCEPTED = (EventType.APISERVER_UPDATE, EventType.GITHUB_WEBHOOK, EventType.PING)


@dataclass
class CompletionChecker:
    services: Services
    roster: Roster | None = None
    clock: Callable[[], datetime] = field(default=clocks.utcnow)
    forward: Callable[[CloudEvent], None] | None = None  # the sweep's extra events
    coderuns: CodeRunReader | None = None  # where CodeRuns are read back (from settings)

    def __call__(self, event: CloudEvent) -> Answer:
        kind = event["type"]
        if kind == EventType.APISERVER_UPDATE:
            return self.on_coderun(event_data(event))
        if kind == EventType.GITHUB_WEBHOOK:
            return self.on_webhook(event_data(event))
        if kind == EventType.PING:
            return Sweep(self).run(str(event["source"]), str(event["id"]))
        accepted = ", ".join(t.value for t in ACCEPTED)
        raise InvalidInput(
            f"event type {kind!r} is not handled here; completion-check accepts {accepted}"
        )

    def now(self) -> str:
        return clocks.stamp(self.clock())

    # The two halves.

    def on_coderun(self, obj: Any) -> Answer:
        """Count an update only for a CodeRun that exists where spawn created it, is Healer's,
        is in the phase the update says (when the backend knows), and runs an attempt Healer
        started under that name; anything else is skipped with the reason."""
        seen = coderun_seen(obj)
        if isinstance(seen, str):
            return Skip(seen)
        reader = self._coderuns()
        namespace = self.services.settings.namespace
        if reader.has_status and seen.namespace and seen.namespace != namespace:
            return Skip(f"CodeRun {seen.namespace}/{seen.name} is outside namespace {namespace}")
        stored = reader.read(seen.name)
        if stored is None:
            return Skip(f"CodeRun {seen.name} does not exist in {reader.where(seen.name)}")
        status = stored.get("status") if reader.has_status else seen.status
        status = status if isinstance(status, dict) else {}
        if reader.has_status and status.get("phase") != seen.phase:
            actual = status.get("phase") or "without a phase"
            return Skip(f"CodeRun {seen.name} is {actual}, not {seen.phase} as the update says")
        report = agent_report(stored, status)
        if isinstance(report, str):
            return Skip(report)
        refusal = self.not_started(report)
        if refusal is not None:
            return Skip(refusal)
        return self.record_half(report.task_id, report.attempt, "agent_result", report)

    def not_started(self, report: AgentReport) -> str | None:
        """Why ``report`` is not about an attempt Healer started (None: it is): the task record
        must have that attempt, running (or decided: a redelivery), under that CodeRun name."""
        record = effects.load_record(self.services.state, report.task_id)
        if record is None:
            return f"no task record {report.task_id}"
        entry = record.entry(report.attempt)
        if entry is None:
            return f"task {report.task_id} has no attempt {report.attempt}"
        expected = entry.coderun_name
        if expected != report.coderun_name:
            runs = f"CodeRun {expected}" if expected else "no CodeRun"
            return (
                f"task {report.task_id} attempt {report.attempt} runs {runs}, "
                f"not {report.coderun_name}"
            )
        if not entry.outcome and record.status != TaskStatus.RUNNING:
            return f"task {report.task_id} is {record.status or 'not running'}"
        return None

    def _coderuns(self) -> CodeRunReader:
        if self.coderuns is None:
            self.coderuns = reader_for(self.services.settings)
        return self.coderuns

    def with_pushed(self, record: TaskRecord, entry: Attempt, report: AgentReport) -> AgentReport:
        """A Succeeded run's report with the commits GitHub says its branch gained."""
        commits = pushed_commits(
            self.services.github,
            record.repository,
            entry.branch or record.branch,
            start_sha=entry.start_sha,
            started_at=entry.started_at,
        )
        return report.with_commits(commits)

    def on_webhook(self, data: dict[str, Any]) -> Answer:
        report = ci_report(data)
        if isinstance(report, str):
            return Skip(report)
        state = self.services.state
        task_id = state.get(branch_key(report.repository, report.branch))
        if task_id is None:
            return Skip(f"no Healer task on {report.repository} branch {report.branch}")
        record = effects.load_record(state, task_id)
        entry = rules.open_attempt(record) if record is not None else None
        if record is None or entry is None:
            return Skip(f"task {task_id} has no attempt running")
        attempt = entry.attempt
        started = entry.started_at
        if report.started_at and started and report.started_at < started:
            return Skip(f"{report.kind} {report.ident} started before attempt {attempt}")
        commits = entry.agent_result.commits if entry.agent_result is not None else None
        if commits and report.head_sha not in commits:
            return Skip(
                f"{report.kind} {report.ident} ran on {report.head_sha[:12]}, "
                "not on the agent's commits"
            )
        return self.record_half(task_id, attempt, "ci", report)

    def record_half(
        self, task_id: str, attempt: int, name: Half, report: AgentReport | CIReport
    ) -> Answer:
        if isinstance(report, AgentReport) and report.result == "succeeded":
            record = effects.load_record(self.services.state, task_id)
            entry = record.entry(attempt) if record is not None else None
            if record is not None and entry is not None and not entry.outcome:
                report = self.with_pushed(record, entry, report)
        stamp = self.now()

        def change(record: TaskRecord) -> TaskRecord | None:
            entry = record.entry(attempt)
            if entry is None or entry.outcome:
                return None  # unknown attempt, or decided already (a redelivery)
            half = report.as_record(stamp)
            if getattr(entry, name) == half:
                return None
            attempts = [
                a.model_copy(update={name: half}) if a.attempt == attempt else a
                for a in record.attempts
            ]
            return record.model_copy(update={"attempts": attempts, "updated_at": stamp})

        record = effects.update_record(self.services.state, task_id, change)
        if record is None:
            return Skip(f"no task record {task_id}")
        if record.entry(attempt) is None:
            return Skip(f"task {task_id} has no attempt {attempt}")
        return self.settle(task_id, attempt)

    # Deciding.

    def settle(
        self, task_id: str, attempt: int, forced: tuple[Outcome, str] | None = None
    ) -> Answer:
        """Decide the attempt if it can be; the event its decision leads to."""
        record = effects.load_record(self.services.state, task_id)
        entry = record.entry(attempt) if record is not None else None
        if record is None or entry is None:
            return Skip(f"task {task_id} has no attempt {attempt}")
        decision = rules.recorded_decision(entry)
        if decision is not None:
            if not rules.is_latest(record, attempt):
                return Skip(
                    f"{task_id} attempt {attempt} was decided ({decision.kind}); "
                    "the task has moved on"
                )
            context = self.context(entry)
        else:
            result = forced or rules.outcome_of(entry)
            if result is None:
                waiting = "CI on the branch" if entry.agent_result else "the agent's CodeRun"
                return Skip(f"{task_id} attempt {attempt}: recorded; waiting for {waiting}")
            context = self.context(entry)
            record, decision = self.write_decision(task_id, attempt, result, context)
            entry = record.entry(attempt) or entry
        self.after(task_id, record, entry, decision, context)
        return emit.build(record, decision, context)

    def write_decision(
        self,
        task_id: str,
        attempt: int,
        result: tuple[Outcome, str],
        context: ContextGathered | None,
    ) -> tuple[TaskRecord, rules.Decision]:
        settings = self.services.settings
        stamp = self.now()

        def change(record: TaskRecord) -> TaskRecord | None:
            entry = record.entry(attempt)
            if entry is None or entry.outcome:
                return None  # another delivery decided it first
            finished = rules.finish(record, attempt, result[0], result[1], stamp)
            decision = rules.decide(
                finished,
                attempt,
                result[0],
                result[1],
                max_attempts=settings.max_attempts,
                fallback=self._roster().fallback,
                alternate=settings.alternate_agent,
                can_retry=context is not None,
            )
            return rules.conclude(finished, decision, stamp)

        record = effects.update_record(self.services.state, task_id, change) or TaskRecord()
        entry = record.entry(attempt)
        decision = rules.recorded_decision(entry) if entry is not None else None
        if decision is None:
            raise InvalidInput(f"task {task_id} attempt {attempt} could not be decided")
        return record, decision

    def after(
        self,
        task_id: str,
        record: TaskRecord,
        entry: Attempt,
        decision: rules.Decision,
        context: ContextGathered | None,
    ) -> None:
        """Side effects, each once: the CodeRun slot, the breaker, the fingerprint history; a
        freed slot goes to the oldest waiting task at once (when events can be forwarded)."""
        state = self.services.state
        attempt = decision.attempt
        freed = bool(entry.coderun_name) and effects.release_slot(state, task_id, attempt)
        failed = decision.outcome != "succeeded"
        effects.count_for_breaker(state, self.services.settings, task_id, attempt, failed)
        if freed:
            self.release_waiting()
        if decision.kind in ("succeeded", "exhausted") and context is not None:
            history = HistoryEntry(
                task_id=task_id,
                agent=entry.agent,
                outcome=decision.kind.value,
                attempts=attempt,
                finished_at=record.finished_at or entry.finished_at,
                summary=(entry.summary or decision.reason)[:500],
            )
            fingerprint = context.classified.primary.fingerprint
            effects.record_history(state, task_id, attempt, fingerprint, history.model_dump_json())

    def release_waiting(self) -> int:
        """Send waiting tasks the freed slot allows to spawn now (the sweep would on its next
        tick); a release that cannot be sent is given back for the sweep. How many went."""
        forward = Sweep(self).forwarder()
        if forward is None:
            return 0
        sent = 0
        for item in release.choose(self.services, LIMIT):
            event = release.event_of(self.services, item)
            try:
                if event is None:
                    raise LookupError(f"no readable context at {item.context_key}")
                forward(event)
            except Exception as exc:  # the decision stands; the sweep releases it later
                release.give_back(self.services, item)
                log.warning("%s: release deferred to the sweep: %s", item.task_id, exc)
                continue
            sent += 1
        return sent

    def context(self, entry: Attempt) -> ContextGathered | None:
        """The context the attempt started from (spawn stored it); None if there is none."""
        from healer.stores.exceptions import BlobNotFound

        key = entry.context_key
        if not key:
            return None
        try:
            raw = self.services.blobs.get(key)
        except BlobNotFound:
            return None
        try:
            return ContextGathered.model_validate_json(raw)
        except ValueError:
            return None

    def _roster(self) -> Roster:
        if self.roster is None:
            from healer.roster import load_roster

            self.roster = load_roster()
        return self.roster
