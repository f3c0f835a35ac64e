"""Which jobs of a failure to read: the one a ``workflow_job`` names, or a run's failed jobs.

A ``check_suite`` failure may arrive without a run id (ingest sends 0 and the suite id); it is
resolved here to the workflow run GitHub created for that suite and head commit. So may a
``check_run`` whose URL does not carry its run (ingest sends 0 and the check run's id as the
job id: an Actions check run's id is its job's): its job names the run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from healer.errors import InvalidInput
from healer.github.protocols import RunLister
from healer.models import FailureDetected
from healer_classifier.logs import FailedJob, first_failed_step

FAILED_CONCLUSIONS = frozenset({"failure", "timed_out"})
MAX_LOGS = 8
"""Failed jobs whose logs are fetched; a bigger matrix adds names-only verdicts for the rest."""


class RunSource(RunLister, Protocol):
    def get_job(self, repo: str, job_id: int | str) -> dict[str, Any]: ...

    def list_run_jobs(
        self, repo: str, run_id: int, attempt: int | None = None
    ) -> list[dict[str, Any]]: ...


def resolve_run(
    github: RunSource, failure: FailureDetected, check_suite_id: int | None = None
) -> FailureDetected:
    """The failure with a real run id: a suite-only failure becomes its workflow run's."""
    if failure.run_id:
        return failure
    if failure.event == "check_run" and failure.job_id:
        return _through_job(github, failure, failure.job_id)
    runs = [
        r
        for r in github.list_runs(failure.repository, head_sha=failure.head_sha)
        if r.get("head_sha") == failure.head_sha
    ]
    chosen = _match_suite(runs, check_suite_id) or _newest_failed(runs)
    if chosen is None:
        raise InvalidInput(
            f"no workflow run of {failure.repository} at {failure.head_sha} matches check suite "
            f"{check_suite_id}; nothing to classify"
        )
    return failure.model_copy(
        update={
            "run_id": int(chosen["id"]),
            "run_attempt": int(chosen.get("run_attempt") or 1),
            "workflow_name": failure.workflow_name or str(chosen.get("name") or ""),
            "head_branch": failure.head_branch or str(chosen.get("head_branch") or ""),
            "html_url": failure.html_url or str(chosen.get("html_url") or ""),
        }
    )


def _through_job(github: RunSource, failure: FailureDetected, job_id: int) -> FailureDetected:
    job = github.get_job(failure.repository, job_id)
    run_id = job.get("run_id")
    if not isinstance(run_id, int) or isinstance(run_id, bool) or run_id <= 0:
        raise InvalidInput(
            f"job {job_id} of {failure.repository} names no workflow run; nothing to classify"
        )
    return failure.model_copy(
        update={
            "run_id": run_id,
            "run_attempt": int(job.get("run_attempt") or 1),
            "workflow_name": failure.workflow_name or str(job.get("workflow_name") or ""),
            "head_branch": failure.head_branch or str(job.get("head_branch") or ""),
            "job_name": failure.job_name or str(job.get("name") or ""),
        }
    )


def _match_suite(
    runs: Sequence[Mapping[str, Any]], suite_id: int | None
) -> Mapping[str, Any] | None:
    if not suite_id:
        return None
    return next((r for r in runs if r.get("check_suite_id") == suite_id), None)


def _newest_failed(runs: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    failed = [r for r in runs if r.get("conclusion") in FAILED_CONCLUSIONS]
    return max(
        failed, key=lambda r: (str(r.get("created_at", "")), int(r.get("id", 0))), default=None
    )


def failed_jobs(github: RunSource, failure: FailureDetected) -> list[FailedJob]:
    """The jobs to classify, in the run's order."""
    if failure.job_id and failure.event in ("workflow_job", "check_run"):
        return [FailedJob(job_id=failure.job_id, name=failure.job_name)]
    jobs = github.list_run_jobs(failure.repository, failure.run_id, failure.run_attempt)
    return [
        FailedJob(
            job_id=int(job["id"]), name=str(job.get("name", "")), failed_step=first_failed_step(job)
        )
        for job in jobs
        if job.get("conclusion") in FAILED_CONCLUSIONS
    ]
