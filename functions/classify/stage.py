"""The classify stage: a detected failure or alert in, one ``failure.classified`` out.

For a CI failure every failed job's log is streamed into the blob store and through the
engine at once; the event carries the verdicts and the log references, never the logs.
The event id is keyed on (repository, run id, run attempt), plus the job id when the input
was one ``workflow_job``: the jobs of one run arrive as separate deliveries, and each must
produce its own event, while a redelivery of the same job produces the same id again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cloudevents.http import CloudEvent

from functions.classify.alerts import classify_alert
from healer.errors import InvalidInput
from healer.events import build_event, parse_data
from healer.models import AlertDetected, FailureClassified, FailureDetected, Verdict
from healer.refs import alert_ref
from healer.secrets import mask
from healer.stores import keys
from healer.vocabulary import EventType, Stage
from healer_classifier.jobs import MAX_LOGS, failed_jobs, resolve_run
from healer_classifier.logs import DefaultEngine, Engine, fetch_and_classify, names_only
from healer_classifier.primary import summarise

if TYPE_CHECKING:
    from healer.services import Services

ACCEPTED = (EventType.FAILURE_DETECTED, EventType.ALERT_DETECTED)


@dataclass
class Classifier:
    """The stage's handler with its collaborators; ``services`` supplies GitHub and the stores."""

    services: Services
    engine: Engine = field(default_factory=DefaultEngine)

    def __call__(self, event: CloudEvent) -> CloudEvent:
        kind = event["type"]
        if kind == EventType.FAILURE_DETECTED:
            return self.on_failure(parse_data(FailureDetected, event))
        if kind == EventType.ALERT_DETECTED:
            return self.on_alert(parse_data(AlertDetected, event))
        accepted = ", ".join(t.value for t in ACCEPTED)
        raise InvalidInput(f"event type {kind!r} is not handled here; classify accepts {accepted}")

    def on_failure(self, failure: FailureDetected) -> CloudEvent:
        github = self.services.github
        failure = resolve_run(github, failure, failure.check_suite_id)
        verdicts = self.classify_run(failure)
        classified = summarise(verdicts, failure=failure)
        key: tuple[object, ...] = (failure.repository, failure.run_id, failure.run_attempt)
        if failure.event == "workflow_job" and failure.job_id:
            key = (*key, failure.job_id)
        return build_event(
            EventType.FAILURE_CLASSIFIED,
            Stage.CLASSIFY,
            classified,
            key=key,
            repository=failure.repository,
            run_id=failure.run_id,
            attempt=failure.run_attempt,
        )

    def classify_run(self, failure: FailureDetected) -> list[Verdict]:
        """One verdict per failed job of the failure's run attempt."""
        github, blobs = self.services.github, self.services.blobs
        jobs = failed_jobs(github, failure)
        if not jobs:
            verdict = self.engine.classify_names(
                job_name=failure.job_name, workflow_name=failure.workflow_name
            )
            note = (
                f"run {failure.run_id} attempt {failure.run_attempt} lists no failed job; "
                "classified from names"
            )
            return [
                verdict.model_copy(
                    update={
                        "confidence": min(verdict.confidence, 0.2),
                        "signals": [note, *verdict.signals],
                    }
                )
            ]
        verdicts = []
        for index, job in enumerate(jobs):
            if index >= MAX_LOGS:
                verdicts.append(
                    names_only(
                        github,
                        self.engine,
                        repository=failure.repository,
                        job=job,
                        workflow_name=failure.workflow_name,
                        why=f"only the first {MAX_LOGS} failed jobs' logs are read",
                    )
                )
                continue
            log_key = keys.job_log_key(
                failure.repository, failure.run_id, failure.run_attempt, job.job_id
            )
            verdicts.append(
                fetch_and_classify(
                    github,
                    blobs,
                    self.engine,
                    repository=failure.repository,
                    job=job,
                    log_key=log_key,
                    workflow_name=failure.workflow_name,
                )
            )
        return verdicts

    def on_alert(self, alert: AlertDetected) -> CloudEvent:
        # Free text is masked again on the way out: a summary must never carry a credential.
        alert = alert.model_copy(update={"summary": mask(alert.summary)})
        verdict = classify_alert(alert)
        classified = FailureClassified(alert=alert, verdicts=[verdict], primary=verdict)
        return build_event(
            EventType.FAILURE_CLASSIFIED,
            Stage.CLASSIFY,
            classified,
            key=(alert.repository, alert.kind.value, alert.alert_number, alert.action),
            repository=alert.repository,
            run_id=alert_ref(alert),
        )
