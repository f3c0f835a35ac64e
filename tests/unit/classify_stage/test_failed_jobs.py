"""Which jobs are read: the named job, or a run's failed jobs; suite-only failures resolved."""

from __future__ import annotations

import pytest
from github_routes import Routes, client, recorded

from healer.errors import InvalidInput
from healer.models import FailureDetected
from healer_classifier.jobs import failed_jobs, resolve_run

SHA2 = "9fceb02d0ae598e95dc970b74767f19372d61af8"


def webapp(**fields: object) -> FailureDetected:
    base: dict[str, object] = {
        "repository": "acme/webapp",
        "event": "workflow_run",
        "run_id": 7002,
        "head_sha": SHA2,
    }
    return FailureDetected.model_validate({**base, **fields})


def test_a_workflow_job_names_its_one_job_without_asking_github() -> None:
    routes = Routes()
    failure = webapp(event="workflow_job", job_id=90002, job_name="lint")
    jobs = failed_jobs(client(routes), failure)
    assert [(j.job_id, j.name) for j in jobs] == [(90002, "lint")]
    assert routes.requests == []


def test_a_run_lists_the_attempts_failed_and_timed_out_jobs_with_their_failed_step() -> None:
    routes = Routes()
    jobs_doc = recorded("repos/acme/webapp/actions/runs/7002/attempts/1/jobs.json")
    timed_out = dict(jobs_doc["jobs"][1], id=90009, name="e2e", conclusion="timed_out")
    routes.json(
        "/repos/acme/webapp/actions/runs/7002/attempts/1/jobs",
        {"total_count": 3, "jobs": [*jobs_doc["jobs"], timed_out]},
    )
    jobs = failed_jobs(client(routes), webapp())
    assert [(j.job_id, j.name, j.failed_step) for j in jobs] == [
        (90002, "lint", "Run npm run lint"),
        (90009, "e2e", ""),
    ]


def test_a_check_suite_without_run_id_resolves_to_the_suites_run() -> None:
    routes = Routes()
    failure = webapp(event="check_suite", run_id=0, check_suite_id=5001)
    resolved = resolve_run(client(routes), failure, 5001)
    assert (resolved.run_id, resolved.run_attempt, resolved.workflow_name) == (7002, 1, "Frontend")
    assert resolved.head_branch == "fix/login-form"


def test_a_check_run_without_run_id_resolves_through_its_job() -> None:
    routes = Routes()
    failure = webapp(event="check_run", run_id=0, job_id=90002)
    resolved = resolve_run(client(routes), failure)
    assert (resolved.run_id, resolved.run_attempt, resolved.workflow_name) == (7002, 1, "Frontend")
    assert (resolved.head_branch, resolved.job_name, resolved.job_id) == (
        "fix/login-form",
        "lint",
        90002,
    )
    assert [r.url.path for r in routes.requests] == ["/repos/acme/webapp/actions/jobs/90002"]
    assert [j.job_id for j in failed_jobs(client(routes), resolved)] == [90002]


def test_a_check_runs_job_without_a_run_is_a_permanent_rejection() -> None:
    routes = Routes()
    routes.json("/repos/acme/webapp/actions/jobs/90077", {"id": 90077, "run_id": None})
    with pytest.raises(InvalidInput, match="job 90077 of acme/webapp names no workflow run"):
        resolve_run(client(routes), webapp(event="check_run", run_id=0, job_id=90077))


def test_without_a_matching_suite_the_newest_failed_run_of_the_commit_is_taken() -> None:
    routes = Routes()
    runs = recorded("repos/acme/webapp/actions/runs.json")["workflow_runs"]
    older = dict(runs[0], id=6990, created_at="2026-11-30T10:00:00Z", check_suite_id=1)
    green = dict(runs[0], id=7010, conclusion="success", created_at="2026-11-30T18:00:00Z")
    other_sha = dict(runs[0], id=7011, head_sha="0" * 40, created_at="2026-11-30T19:00:00Z")
    routes.json(
        "/repos/acme/webapp/actions/runs", {"workflow_runs": [other_sha, green, runs[0], older]}
    )
    resolved = resolve_run(client(routes), webapp(run_id=0), 999)
    assert resolved.run_id == 7002


def test_a_suite_with_no_run_at_all_is_a_permanent_rejection() -> None:
    routes = Routes()
    routes.json("/repos/acme/webapp/actions/runs", {"total_count": 0, "workflow_runs": []})
    with pytest.raises(InvalidInput, match="no workflow run"):
        resolve_run(client(routes), webapp(run_id=0), 5001)


def test_a_failure_with_a_run_id_is_not_resolved_again() -> None:
    routes = Routes()
    assert resolve_run(client(routes), webapp(), 5001).run_id == 7002
    assert routes.requests == []
