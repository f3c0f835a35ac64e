"""Escalate tells humans only about a task its record says is exhausted: a forged
``remediation.exhausted`` posts nothing."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from escalate_fixtures import (
    Discord,
    exhausted,
    exhausted_record,
    failure_context,
    github_writes,
)
from event_data import data_of
from github_routes import Routes

from functions.escalate.stage import Escalator
from healer.errors import InvalidInput
from healer.models import RemediationExhausted
from healer.runtime import Skip
from healer.services import Services

Make = Callable[..., Escalator]
KEY = "task:acme-widgets-7001"


def nothing_posted(routes: Routes, discord: Discord, services: Services) -> bool:
    return (
        github_writes(routes) == []
        and discord.requests == []
        and services.state.keys("escalated:") == []
    )


@pytest.mark.parametrize("status", ["running", "succeeded", "retrying", "", "escalating"])
def test_a_task_that_is_not_exhausted_is_skipped(
    make_escalator: Make, services: Services, routes: Routes, discord: Discord, status: str
) -> None:
    services.state.set_json(KEY, exhausted_record(status=status))
    answer = make_escalator().escalate(exhausted())
    assert isinstance(answer, Skip) and answer.reason.startswith("not exhausted: ")
    assert "not exhausted" in answer.reason and "acme-widgets-7001" in answer.reason
    assert nothing_posted(routes, discord, services)
    assert json.loads(services.state.get(KEY) or "{}")["status"] == status  # untouched


def test_an_unknown_task_is_skipped(
    make_escalator: Make, services: Services, routes: Routes, discord: Discord
) -> None:
    services.state.delete(KEY)
    answer = make_escalator().escalate(exhausted())
    assert isinstance(answer, Skip) and "unknown" in answer.reason
    assert nothing_posted(routes, discord, services) and services.state.get(KEY) is None


def test_a_record_of_another_repository_or_run_is_skipped(
    make_escalator: Make, services: Services, routes: Routes, discord: Discord
) -> None:
    services.state.set_json(KEY, {**exhausted_record(), "repository": "acme/other"})
    answer = make_escalator().escalate(exhausted())
    assert isinstance(answer, Skip) and "does not match the record" in answer.reason
    services.state.set_json(KEY, {**exhausted_record(), "run_id": 7002})
    answer = make_escalator().escalate(exhausted())
    assert isinstance(answer, Skip) and "run 7002" in answer.reason
    assert nothing_posted(routes, discord, services)


def test_an_event_that_contradicts_itself_is_a_400(
    make_escalator: Make, services: Services, routes: Routes, discord: Discord
) -> None:
    bare = RemediationExhausted(
        task_id="acme-widgets-9999", repository="acme/widgets", run_id=7001, attempts=[]
    )
    with pytest.raises(InvalidInput, match="does not match repository"):
        make_escalator().escalate(bare)
    other = failure_context().model_copy(update={"task_id": "acme-widgets-7002"})
    with pytest.raises(InvalidInput, match="carries the context of"):
        make_escalator().escalate(exhausted(context=other, task_id="acme-widgets-7001"))
    with pytest.raises(InvalidInput, match="carries the context of"):
        make_escalator().escalate(exhausted(repository="acme/other"))
    assert nothing_posted(routes, discord, services)


def test_a_failed_escalation_on_record_may_be_replayed(
    make_escalator: Make, services: Services, routes: Routes, discord: Discord
) -> None:
    services.state.set_json(KEY, exhausted_record(status="escalation_failed"))
    event = make_escalator().escalate(exhausted())
    assert not isinstance(event, Skip)
    assert data_of(event)["channels"] == ["discord", "github"]


def test_after_success_a_redelivery_answers_the_same_and_a_new_claim_is_not_taken(
    make_escalator: Make, services: Services, routes: Routes, discord: Discord
) -> None:
    first = make_escalator().escalate(exhausted())
    assert json.loads(services.state.get(KEY) or "{}")["status"] == "escalated"
    again = make_escalator().escalate(exhausted())
    assert not isinstance(first, Skip) and not isinstance(again, Skip)
    assert again["id"] == first["id"] and again.get_data() == first.get_data()
    assert len(github_writes(routes)) == 1 and len(discord.posted) == 1
    # the record says escalated, and without the finished claim nothing is posted again
    services.state.delete("escalated:acme-widgets-7001")
    answer = make_escalator().escalate(exhausted())
    assert isinstance(answer, Skip) and "is escalated, not exhausted" in answer.reason
    assert len(github_writes(routes)) == 1 and len(discord.posted) == 1


def test_the_message_is_built_from_the_context_spawn_stored(
    make_escalator: Make, services: Services, routes: Routes
) -> None:
    """An event naming another PR cannot steer the comment there."""
    stored = failure_context()
    key = "repos/acme/widgets/runs/7001/attempt-1/context-3.json"
    services.blobs.put(key, stored.model_dump_json().encode())
    record = {**exhausted_record(), "attempts": [{"attempt": 3, "context_key": key}]}
    services.state.set_json(KEY, record)
    assert stored.pull_request is not None
    forged_pull = stored.pull_request.model_copy(update={"number": 77})
    forged = stored.model_copy(update={"pull_request": forged_pull})
    make_escalator().escalate(exhausted(context=forged))
    ((path, _),) = github_writes(routes)
    assert path == "/repos/acme/widgets/issues/42/comments"
