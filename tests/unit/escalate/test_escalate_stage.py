"""The escalate stage: who is told, once, and what the task record says afterwards."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest
from escalate_fixtures import (
    Discord,
    alert_context,
    exhausted,
    failure_context,
    github_writes,
)
from event_data import data_of, emitted
from github_routes import Routes

from functions.escalate.progress import LEASE_SECONDS, EscalationInProgress, Progress
from functions.escalate.stage import EscalationFailed, Escalator
from healer.errors import InvalidInput, RetryableError
from healer.events import build_event
from healer.services import Services
from healer.vocabulary import EventType, Stage

COMMENTS = "/repos/acme/widgets/issues/42/comments"
ISSUES = "/repos/acme/widgets/issues"
Make = Callable[..., Escalator]


def task(services: Services, task_id: str = "acme-widgets-7001") -> dict[str, object]:
    raw = services.state.get(f"task:{task_id}")
    assert raw is not None
    return dict(json.loads(raw))


def test_a_pr_gets_a_comment_and_discord_a_message(
    make_escalator: Make, services: Services, routes: Routes, discord: Discord
) -> None:
    services.state.set_json(
        "task:acme-widgets-7001",
        {"task_id": "acme-widgets-7001", "status": "exhausted", "created_at": "2026-01-01"},
    )
    event = emitted(make_escalator().escalate(exhausted()))
    assert event["type"] == EventType.REMEDIATION_ESCALATED and event["source"] == "healer/escalate"
    assert event["subject"] == "acme/widgets#7001" and event["healerattempt"] == "3"
    data = data_of(event)
    assert data["channels"] == ["discord", "github"] and data["comment_kind"] == "comment"
    assert data["comment_url"] == "https://github.com/acme/widgets/issues/42#issuecomment-1"
    ((path, body),) = github_writes(routes)
    assert path == COMMENTS and "## Healer could not fix this failure" in body["body"]
    assert routes.requests[0].headers["authorization"].startswith("Bearer ")
    (message,) = discord.posted
    assert message["allowed_mentions"] == {"parse": []}
    record = task(services)
    assert record["status"] == "escalated" and record["created_at"] == "2026-01-01"
    assert record["comment_url"] == data["comment_url"]
    assert record["escalated_at"] == "2026-01-02T03:04:05Z"
    assert len(record["attempts"]) == 3  # type: ignore[arg-type]
    stored = services.blobs.get(data["message_key"]).decode()
    assert stored == body["body"]
    assert json.loads(services.blobs.get(data["discord_key"])) == message


def test_the_event_id_is_keyed_on_the_task(make_escalator: Make) -> None:
    first = emitted(make_escalator().escalate(exhausted()))
    again = emitted(make_escalator().escalate(exhausted(n=2)))
    assert first["id"] == again["id"]


def test_a_redelivery_posts_nothing_and_answers_the_same(
    make_escalator: Make, routes: Routes, discord: Discord
) -> None:
    escalator = make_escalator()
    first = emitted(escalator.escalate(exhausted()))
    second = emitted(escalator.escalate(exhausted()))
    assert second["id"] == first["id"] and data_of(second) == data_of(first)
    assert len(github_writes(routes)) == 1 and len(discord.posted) == 1


def test_without_a_pr_a_labelled_issue_is_opened(
    make_escalator: Make, routes: Routes, services: Services
) -> None:
    data = data_of(make_escalator().escalate(exhausted(failure_context(pull=False))))
    ((path, body),) = github_writes(routes)
    assert path == ISSUES and body["labels"] == ["healer"]
    assert body["title"] == "Healer could not fix rust_test in acme/widgets (run 7001)"
    assert data["comment_kind"] == "issue"
    assert data["comment_url"] == "https://github.com/acme/widgets/issues/1"
    assert task(services)["escalation"]["comment_kind"] == "issue"  # type: ignore[index]


def test_a_pr_that_refuses_comments_gets_an_issue_instead(
    make_escalator: Make, routes: Routes
) -> None:
    routes.status(COMMENTS, 403)  # a locked conversation
    data = data_of(make_escalator().escalate(exhausted()))
    assert [p for p, _ in github_writes(routes)] == [COMMENTS, ISSUES]
    assert data["comment_kind"] == "issue" and data["channels"] == ["discord", "github"]


def test_an_alert_escalates_with_its_own_subject(make_escalator: Make, routes: Routes) -> None:
    event = emitted(make_escalator().escalate(exhausted(alert_context())))
    assert event["subject"] == "acme/widgets#dependabot-3" and event["healerrun"] == "dependabot-3"
    ((path, body),) = github_writes(routes)
    assert path == ISSUES and "alert dependabot-3" in body["title"]


def test_no_webhook_url_means_discord_is_off_not_failed(
    make_escalator: Make, services: Services
) -> None:
    data = data_of(make_escalator(with_discord=False).escalate(exhausted()))
    assert data["channels"] == ["github"] and data["disabled"] == ["discord"]
    assert data["errors"] == {} and task(services)["status"] == "escalated"


def test_a_partial_failure_redoes_only_the_missing_channel(
    make_escalator: Make, services: Services, routes: Routes, discord: Discord
) -> None:
    routes.status(COMMENTS, 503)
    escalator = make_escalator()
    with pytest.raises(RetryableError):
        escalator.escalate(exhausted())
    assert len(discord.posted) == 1
    claim = json.loads(services.state.get("escalated:acme-widgets-7001") or "{}")
    assert claim["channels"]["discord"]["status"] == "sent" and claim["lease"] == ""
    assert task(services)["status"] == "exhausted"  # not escalated yet
    del routes.overrides[COMMENTS]
    data = data_of(escalator.escalate(exhausted()))
    assert data["channels"] == ["discord", "github"]
    assert len(discord.posted) == 1  # Discord was not told twice
    # A POST is not retried inside the client (it may have landed): the refused one, then one.
    assert [p for p, _ in github_writes(routes)] == [COMMENTS, COMMENTS]


def test_a_discord_rate_limit_is_answered_as_429_after_github_is_done(
    make_escalator: Make, routes: Routes, discord: Discord
) -> None:
    discord.answers = [httpx.Response(429, json={"retry_after": 20})]
    escalator = make_escalator()
    with pytest.raises(RetryableError) as caught:
        escalator.escalate(exhausted())
    assert caught.value.status == 429 and caught.value.retry_after == 20
    assert len(github_writes(routes)) == 1  # GitHub went ahead and is kept
    data = data_of(escalator.escalate(exhausted()))
    assert data["channels"] == ["discord", "github"] and len(github_writes(routes)) == 1


def test_a_permanent_discord_refusal_still_escalates_on_github(
    make_escalator: Make, discord: Discord, services: Services
) -> None:
    discord.answers = [httpx.Response(404, json={"message": "Unknown Webhook"})]
    data = data_of(make_escalator().escalate(exhausted()))
    assert data["channels"] == ["github"]
    assert "Unknown Webhook" in data["errors"]["discord"]
    assert task(services)["escalation"]["errors"] == data["errors"]  # type: ignore[index]


def test_reaching_nobody_is_a_permanent_failure_on_record(
    make_escalator: Make, routes: Routes, services: Services
) -> None:
    routes.status(COMMENTS, 403)
    routes.status(ISSUES, 410)  # issues are disabled on the repository
    with pytest.raises(EscalationFailed) as caught:
        make_escalator(with_discord=False).escalate(exhausted())
    assert caught.value.status == 422 and "github" in str(caught.value)
    assert task(services)["status"] == "escalation_failed"
    claim = json.loads(services.state.get("escalated:acme-widgets-7001") or "{}")
    assert claim["state"] == "pending" and claim["lease"] == ""  # a replay may try again


def test_a_delivery_in_flight_holds_off_a_duplicate(
    make_escalator: Make, services: Services, routes: Routes
) -> None:
    now = [1000.0]
    Progress(services.state, "acme-widgets-7001", "other", clock=lambda: now[0]).acquire()
    escalator = make_escalator()
    escalator.now = lambda: now[0] + 30
    with pytest.raises(EscalationInProgress) as caught:
        escalator.escalate(exhausted())
    assert caught.value.status == 503 and caught.value.retry_after == LEASE_SECONDS - 30
    assert github_writes(routes) == []
    # A delivery that died keeps its lease only so long.
    stale = Progress(services.state, "acme-widgets-7001", "mine", clock=lambda: 1e12)
    assert stale.acquire().lease == "mine"
    assert now[0] + LEASE_SECONDS < 1e12


def test_only_exhausted_events(make_escalator: Make) -> None:
    wrong = build_event(
        EventType.REMEDIATION_STARTED,
        Stage.SPAWN,
        {"task_id": "t"},
        key=("t",),
        repository="acme/widgets",
        run_id=1,
    )
    with pytest.raises(InvalidInput):
        make_escalator()(wrong)
    bad = build_event(
        EventType.REMEDIATION_EXHAUSTED,
        Stage.COMPLETION_CHECK,
        {"task_id": "t"},
        key=("t",),
        repository="acme/widgets",
        run_id=1,
    )
    with pytest.raises(InvalidInput, match="RemediationExhausted"):
        make_escalator()(bad)


def test_the_task_record_update_survives_a_racing_writer(services: Services) -> None:
    from functions.escalate.progress import update_task

    state = services.state
    state.set_json("task:t", {"task_id": "t", "status": "exhausted", "attempts": [{"attempt": 1}]})
    real = state.compare_and_set
    raced: list[str] = []

    def racing(key: str, expected: str | None, value: str, ttl_seconds: int | None = None) -> bool:
        if not raced:  # another stage writes between our read and our write
            raced.append(key)
            state.set_json(key, {**json.loads(expected or "{}"), "history_key": "h"})
        return real(key, expected, value, ttl_seconds)

    state.compare_and_set = racing  # type: ignore[method-assign]  # patched to interleave a writer
    from healer.state.records import TaskRecord, TaskStatus

    written = update_task(
        state,
        "t",
        TaskRecord(repository="acme/widgets"),
        TaskRecord(status=TaskStatus.ESCALATED),
        "now",
    )
    assert raced == ["task:t"]
    stored = json.loads(state.get("task:t") or "{}")
    assert stored == written.stored()
    assert stored["status"] == "escalated" and stored["history_key"] == "h"
    assert stored["attempts"] == [{"attempt": 1}] and stored["repository"] == "acme/widgets"
