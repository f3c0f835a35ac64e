"""On a retry: read the logs of the CI run that followed the last attempt, and what it did.

The previous attempt's agent pushed commits, so CI ran again (a new run on the branch, or a
new attempt of the same run). Its failed jobs' logs are fetched again into the blob store and
re-classified, so the next agent sees today's error rather than the original one. The task
keeps its identity: the detected failure is not replaced, only the verdicts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from healer.errors import InvalidInput
from healer.models import (
    AttemptSummary,
    ContextGathered,
    FailureClassified,
    FailureDetected,
    RemediationRetry,
)
from healer.stores import keys
from healer.stores.keys import task_key
from healer_classifier.jobs import FAILED_CONCLUSIONS, MAX_LOGS, RunSource, failed_jobs
from healer_classifier.logs import Engine, LogSource, fetch_and_classify
from healer_classifier.primary import summarise

if TYPE_CHECKING:
    from healer.stores.blob import BlobStore
    from healer.stores.state import StateStore


class RetryClient(RunSource, LogSource, Protocol):
    def get_run(self, repo: str, run_id: int) -> dict[str, Any]: ...


def stored_context(blobs: BlobStore, retry: RemediationRetry) -> ContextGathered:
    """The context the last attempt started from, read back from the blob store. A key that
    names nothing, or names another task's context, is a 400 (redelivering cannot mend it); a
    store outage propagates as the store's retryable error."""
    from healer.stores.exceptions import BlobNotFound

    try:
        raw = blobs.get(retry.context_key)
    except BlobNotFound as exc:
        raise InvalidInput(
            f"remediation.retry names context {retry.context_key!r}, which is not in the blob store"
        ) from exc
    try:
        context = ContextGathered.model_validate_json(raw)
    except ValueError as exc:
        raise InvalidInput(
            f"remediation.retry names context {retry.context_key!r}, which is not a "
            "context.gathered"
        ) from exc
    if context.task_id != retry.task_id:
        raise InvalidInput(
            f"remediation.retry for task {retry.task_id!r} names the context of "
            f"task {context.task_id!r}"
        )
    return context


def latest_failed_run(github: RetryClient, failure: FailureDetected) -> dict[str, Any] | None:
    """The newest failed run of the same workflow on the branch (or the original run's
    latest attempt if that failed); None when CI has nothing failed to show."""
    candidates: list[dict[str, Any]] = []
    if failure.head_branch:
        candidates = [
            r
            for r in github.list_runs(failure.repository, branch=failure.head_branch)
            if (not failure.workflow_name or r.get("name") == failure.workflow_name)
        ]
    original = github.get_run(failure.repository, failure.run_id)
    if all(r.get("id") != original.get("id") for r in candidates):
        candidates.append(original)
    if not candidates:
        return None
    newest = max(candidates, key=lambda r: (str(r.get("created_at", "")), int(r.get("id", 0))))
    if newest.get("conclusion") in FAILED_CONCLUSIONS:
        return newest
    return original if original.get("conclusion") in FAILED_CONCLUSIONS else None


def refresh_verdicts(
    github: RetryClient,
    blobs: BlobStore,
    engine: Engine,
    classified: FailureClassified,
    *,
    attempt: int,
    changed_paths: Sequence[str] = (),
) -> tuple[FailureClassified, list[str]]:
    """The classification redone on the latest failed run, and notes on what could not be."""
    failure = classified.failure
    if failure is None:
        return classified.model_copy(update={"attempt": attempt}), []
    run = latest_failed_run(github, failure)
    if run is None:
        workflow = failure.workflow_name or "the workflow"
        note = f"logs: no failed run of {workflow} after the last attempt; kept the original logs"
        return classified.model_copy(update={"attempt": attempt}), [note]
    run_id, run_attempt = int(run["id"]), int(run.get("run_attempt") or 1)
    target = failure.model_copy(
        update={
            "run_id": run_id,
            "run_attempt": run_attempt,
            "event": "workflow_run",
            "job_id": None,
        }
    )
    jobs = failed_jobs(github, target)[:MAX_LOGS]
    if not jobs:
        return classified.model_copy(update={"attempt": attempt}), [
            f"logs: run {run_id} attempt {run_attempt} lists no failed job"
        ]
    refreshed = []
    for job in jobs:
        verdict = fetch_and_classify(
            github,
            blobs,
            engine,
            repository=failure.repository,
            job=job,
            log_key=keys.job_log_key(failure.repository, run_id, run_attempt, job.job_id),
            workflow_name=failure.workflow_name,
            changed_paths=changed_paths,
        )
        refreshed.append(
            verdict.model_copy(
                update={
                    "signals": [
                        f"refreshed from run {run_id} attempt {run_attempt}",
                        *verdict.signals,
                    ]
                }
            )
        )
    return summarise(refreshed, failure=failure, attempt=attempt), []


def previous_attempts(
    state: StateStore, task_id: str, retry: RemediationRetry
) -> list[AttemptSummary]:
    """Every earlier attempt: the task record's, completed by what the retry event says."""
    merged: dict[int, dict[str, Any]] = {}
    # Read field by field, not as a TaskRecord: a prompt is better served by what an attempt
    # entry does say than by nothing when one of its values is outside today's closed sets.
    record = state.get_json(task_key(task_id))
    recorded = record.get("attempts") if isinstance(record, dict) else None
    for raw in recorded if isinstance(recorded, list) else []:
        if isinstance(raw, dict) and isinstance(raw.get("attempt"), int):
            merged[raw["attempt"]] = {
                k: v
                for k, v in raw.items()
                if k in AttemptSummary.model_fields and v not in (None, "")
            }
    for summary in retry.previous_attempts:
        known = merged.setdefault(summary.attempt, {})
        for name, value in summary.model_dump().items():
            if value not in ("", [], None):
                known[name] = value
    attempts = []
    for number in sorted(merged):
        if number >= retry.attempt:
            continue
        fields = merged[number]
        fields.setdefault("attempt", number)
        fields.setdefault("agent", "")
        attempts.append(AttemptSummary.model_validate(fields))
    return attempts
