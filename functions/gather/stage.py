"""The gather stage: a classified failure (or a retry) in, ``context.gathered`` out.

First attempts check whether the failure is already superseded (see ``staleness``); retries
do not, because the previous attempt's own commits moved the branch on purpose. The event id
is keyed on (task id, attempt): one context per attempt of a remediation, whatever job or
redelivery brought it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cloudevents.http import CloudEvent

from functions.gather.context import ContextBuilder
from functions.gather.retry import previous_attempts, refresh_verdicts, stored_context
from functions.gather.staleness import record_stale, stale_reason
from healer import policy
from healer.errors import InvalidInput
from healer.events import build_event, parse_data, task_id
from healer.models import ContextGathered, FailureClassified, RemediationRetry
from healer.refs import alert_ref
from healer.runtime import Skip
from healer.vocabulary import EventType, Stage
from healer_classifier.logs import DefaultEngine, Engine

if TYPE_CHECKING:
    import httpx

    from healer.services import Services

ACCEPTED = (EventType.FAILURE_CLASSIFIED, EventType.REMEDIATION_RETRY)


def run_ref(classified: FailureClassified) -> tuple[str, int | str]:
    """(repository, run id or alert reference) naming the remediation task."""
    if classified.failure is not None:
        return classified.failure.repository, classified.failure.run_id
    if classified.alert is not None:
        return classified.alert.repository, alert_ref(classified.alert)
    raise InvalidInput("failure.classified carries neither a failure nor an alert")


def task_of(classified: FailureClassified) -> str:
    return task_id(*run_ref(classified))


@dataclass
class Gatherer:
    services: Services
    engine: Engine = field(default_factory=DefaultEngine)
    transport: httpx.BaseTransport | None = None

    def __post_init__(self) -> None:
        self.builder = ContextBuilder(self.services, transport=self.transport)

    def __call__(self, event: CloudEvent) -> CloudEvent | Skip:
        kind = event["type"]
        if kind == EventType.FAILURE_CLASSIFIED:
            return self.on_classified(parse_data(FailureClassified, event))
        if kind == EventType.REMEDIATION_RETRY:
            return self.on_retry(parse_data(RemediationRetry, event))
        accepted = ", ".join(t.value for t in ACCEPTED)
        raise InvalidInput(f"event type {kind!r} is not handled here; gather accepts {accepted}")

    def on_classified(self, classified: FailureClassified) -> CloudEvent | Skip:
        task = task_of(classified)
        if classified.failure is not None:
            reason = stale_reason(self.services.github, classified.failure)
            if reason is not None:
                record_stale(self.services.state, task, reason)
                return Skip(f"stale: {reason}")
        found = self.builder.essentials(classified)
        refusal = policy.fork_refusal(found.fork_head, self.services.settings)
        if refusal is not None:
            return Skip(refusal)
        context = self.builder.build(
            classified, task_id=task, attempt=classified.attempt, found=found
        )
        return emit(context)

    def on_retry(self, retry: RemediationRetry) -> CloudEvent:
        task = retry.task_id
        started_from = stored_context(self.services.blobs, retry)
        found = self.builder.essentials(started_from.classified)
        classified, notes = refresh_verdicts(
            self.services.github,
            self.services.blobs,
            self.engine,
            started_from.classified,
            attempt=retry.attempt,
            changed_paths=[f.filename for f in found.files],
        )
        previous = previous_attempts(self.services.state, task, retry)
        context = self.builder.build(
            classified,
            task_id=task,
            attempt=retry.attempt,
            found=found,
            previous=previous,
            notes=notes,
        )
        return emit(context)


def emit(context: ContextGathered) -> CloudEvent:
    repository, run = run_ref(context.classified)
    return build_event(
        EventType.CONTEXT_GATHERED,
        Stage.GATHER,
        context,
        key=(context.task_id, context.attempt),
        repository=repository,
        run_id=run,
        attempt=context.attempt,
    )
