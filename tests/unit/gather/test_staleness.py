"""Superseded failures: the branch moved on and its new head is green or running, or it is gone."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from github_routes import Routes, client, recorded

from functions.gather.staleness import record_stale, stale_reason
from healer.models import FailureDetected
from healer.stores.memory import MemoryStateStore

SHA1 = "3f786850e387550fdab836ed7e6dc881de23001b"
NEW = "c1dfd96eea8cc2b62785275bca38ac261256e278"
FAILURE = FailureDetected(
    repository="acme/widgets",
    event="workflow_job",
    run_id=7001,
    job_id=90001,
    workflow_name="CI",
    head_sha=SHA1,
    head_branch="feature/parser",
)


def moved(routes: Routes, *runs: dict[str, object]) -> None:
    branch = recorded("repos/acme/widgets/branches/feature/parser.json")
    branch["commit"]["sha"] = NEW
    routes.json("/repos/acme/widgets/branches/feature/parser", branch)
    template = recorded("repos/acme/widgets/actions/runs/7001.json")
    routes.json(
        "/repos/acme/widgets/actions/runs",
        {
            "total_count": len(runs) + 1,
            "workflow_runs": [*(dict(template, **r) for r in runs), template],
        },
    )


def test_a_branch_still_at_the_failing_commit_is_current() -> None:
    routes = Routes()
    assert stale_reason(client(routes), FAILURE) is None
    assert routes.paths() == ["/repos/acme/widgets/branches/feature/parser"]


def test_a_deleted_branch_makes_the_failure_stale() -> None:
    routes = Routes()
    routes.status("/repos/acme/widgets/branches/feature/parser", 404)
    assert stale_reason(client(routes), FAILURE) == "branch feature/parser no longer exists"


@pytest.mark.parametrize(
    ("status", "conclusion", "expected"),
    [
        ("completed", "success", "passed"),
        ("in_progress", None, "is still running"),
        ("queued", None, "is still running"),
    ],
)
def test_a_moved_branch_with_a_green_or_running_new_head_is_stale(
    status: str, conclusion: str | None, expected: str
) -> None:
    routes = Routes()
    moved(
        routes,
        {
            "id": 7100,
            "head_sha": NEW,
            "status": status,
            "conclusion": conclusion,
            "created_at": "2026-11-30T17:00:00Z",
        },
    )
    reason = stale_reason(client(routes), FAILURE)
    moved_text = f"feature/parser moved from {SHA1[:12]} to {NEW[:12]}"
    assert reason == f"{moved_text}; run 7100 for the new head {expected}"


@pytest.mark.parametrize(
    "runs",
    [
        [{"id": 7100, "head_sha": NEW, "status": "completed", "conclusion": "failure"}],
        [],
        [
            {
                "id": 7100,
                "head_sha": NEW,
                "name": "Docs",
                "status": "completed",
                "conclusion": "success",
            }
        ],
        [
            {
                "id": 7100,
                "head_sha": NEW,
                "conclusion": "success",
                "created_at": "2026-11-30T17:00:00Z",
            },
            {
                "id": 7101,
                "head_sha": NEW,
                "conclusion": "failure",
                "created_at": "2026-11-30T17:05:00Z",
            },
        ],
    ],
    ids=["new-head-failed", "no-run-yet", "only-another-workflow-passed", "newest-rerun-failed"],
)
def test_a_moved_branch_is_still_worth_fixing_unless_the_same_workflow_is_green(
    runs: list[dict[str, object]],
) -> None:
    routes = Routes()
    moved(routes, *runs)
    assert stale_reason(client(routes), FAILURE) is None


def test_a_failure_without_a_branch_is_never_stale() -> None:
    routes = Routes()
    assert stale_reason(client(routes), FAILURE.model_copy(update={"head_branch": ""})) is None
    assert routes.requests == []


def test_the_reason_is_recorded() -> None:
    state = MemoryStateStore()
    record_stale(state, "acme-widgets-7001", "branch gone", datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    assert json.loads(state.get("stale:acme-widgets-7001") or "") == {
        "reason": "branch gone",
        "at": "2026-12-01T09:00:00+00:00",
    }
