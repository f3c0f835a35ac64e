"""Spawn checks a context's identity and policy itself: a forged context starts nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from cloudevents.http import CloudEvent
from event_data import data_of
from spawn_fixtures import ContextFactory, alert, failure, pull, verdict

from functions.spawn.stage import Spawner
from healer.errors import InvalidInput
from healer.events import build_event
from healer.github.recorded import RecordedTransport
from healer.models import ContextGathered, PullRequestInfo
from healer.services import Services
from healer.vocabulary import Action, Category, EventType, FailureType, Stage

Make = Callable[..., Services]


def gathered(context: ContextGathered | dict[str, Any]) -> CloudEvent:
    data = context if isinstance(context, dict) else context.model_dump(mode="json")
    return build_event(
        EventType.CONTEXT_GATHERED,
        Stage.GATHER,
        data,
        key=(str(data["task_id"]), data.get("attempt", 1)),
        repository="acme/widgets",
        run_id=7001,
    )


def nothing_started(services: Services, transport: RecordedTransport, outbox: Path) -> bool:
    return (
        services.state.keys("") == []
        and transport.writes == []
        and not (outbox.exists() and any(outbox.iterdir()))
    )


@pytest.fixture
def outbox(tmp_path: Path) -> Path:
    return tmp_path / "outbox"


def skipped(reply: CloudEvent) -> dict[str, Any]:
    assert reply["type"] == EventType.REMEDIATION_SKIPPED
    data: dict[str, Any] = data_of(reply)
    return data


def test_a_repository_outside_the_allow_list_is_skipped(
    make_services: Make, transport: RecordedTransport, outbox: Path, make_context: ContextFactory
) -> None:
    services = make_services(repo_allow=("acme/*",))
    evil = make_context(detected=failure(repository="evil/backdoor"), task_id="evil-backdoor-7001")
    data = skipped(Spawner(services)(gathered(evil)))
    assert data["code"] == "repository"
    assert data["reason"] == "repository evil/backdoor is not in the allow-list"
    assert nothing_started(services, transport, outbox)
    # a re-run is an action on the repository too
    network = verdict(FailureType.INFRA_NETWORK, Action.RERUN, "bolt", Category.INFRA)
    rerun = make_context(
        detected=failure(repository="evil/backdoor"), task_id="evil-backdoor-7001", primary=network
    )
    assert skipped(Spawner(services)(gathered(rerun)))["code"] == "repository"
    assert nothing_started(services, transport, outbox)


@pytest.mark.parametrize(
    ("settings", "head", "pr_head"),
    [
        ({"branch_exclude": ("feature/*",)}, "feature/parser", "feature/parser"),
        ({"branch_include": ("release/*",)}, "feature/parser", "feature/parser"),
        # the branch the agent would push to is checked too, not only the run's
        ({"branch_exclude": ("deploy",)}, "feature/parser", "deploy"),
    ],
)
def test_branch_rules_apply_to_the_run_and_to_where_the_agent_pushes(
    make_services: Make,
    transport: RecordedTransport,
    outbox: Path,
    make_context: ContextFactory,
    settings: dict[str, Any],
    head: str,
    pr_head: str,
) -> None:
    services = make_services(**settings)
    context = make_context(detected=failure(head_branch=head), pull_request=pull(head=pr_head))
    data = skipped(Spawner(services)(gathered(context)))
    assert data["code"] == "branch" and "pattern" in data["reason"]
    assert nothing_started(services, transport, outbox)


def test_alerts_are_not_held_to_branch_rules(
    make_services: Make, make_context: ContextFactory
) -> None:
    cipher = verdict(FailureType.SECURITY_DEPENDABOT, Action.FIX, "cipher", Category.SECURITY)
    context = make_context(detected=alert(), primary=cipher)
    services = make_services(branch_include=("release/*",))
    reply = Spawner(services)(gathered(context))
    assert reply["type"] == EventType.REMEDIATION_STARTED


def test_a_fork_pull_request_is_skipped_unless_allowed(
    make_services: Make, transport: RecordedTransport, outbox: Path, make_context: ContextFactory
) -> None:
    fork = PullRequestInfo(
        number=42, head_ref="feature/parser", base_ref="main", head_repository="mallory/widgets"
    )
    services = make_services()
    data = skipped(Spawner(services)(gathered(make_context(pull_request=fork))))
    assert data["code"] == "fork" and "mallory/widgets is a fork" in data["reason"]
    assert nothing_started(services, transport, outbox)
    allowed = make_services(allow_fork_prs=True)
    reply = Spawner(allowed)(gathered(make_context(pull_request=fork)))
    assert reply["type"] == EventType.REMEDIATION_STARTED


def test_the_same_repository_in_another_case_is_not_a_fork(
    make_services: Make, make_context: ContextFactory
) -> None:
    same = PullRequestInfo(number=42, head_ref="feature/parser", head_repository="Acme/Widgets")
    reply = Spawner(make_services())(gathered(make_context(pull_request=same)))
    assert reply["type"] == EventType.REMEDIATION_STARTED


@pytest.mark.parametrize(
    ("task_id", "detected"),
    [
        ("acme-widgets-7002", failure()),  # another run's task
        ("acme-gadgets-7001", failure()),  # another repository's
        ("acme-widgets-7001", alert()),  # an alert's task is acme-widgets-dependabot-3
    ],
)
def test_a_task_id_that_is_not_derived_from_repository_and_run_is_a_400(
    make_services: Make,
    transport: RecordedTransport,
    outbox: Path,
    make_context: ContextFactory,
    task_id: str,
    detected: Any,
) -> None:
    services = make_services()
    with pytest.raises(InvalidInput, match="does not match repository") as caught:
        Spawner(services)(gathered(make_context(detected=detected, task_id=task_id)))
    assert caught.value.status == 400
    assert nothing_started(services, transport, outbox)


@pytest.mark.parametrize("attempt", [0, -1])
def test_attempts_below_one_are_a_400(
    make_services: Make,
    transport: RecordedTransport,
    outbox: Path,
    make_context: ContextFactory,
    attempt: int,
) -> None:
    services = make_services()
    data = make_context().model_dump(mode="json")
    data["attempt"] = attempt
    with pytest.raises(InvalidInput, match="attempt") as caught:
        Spawner(services)(gathered(data))
    assert caught.value.status == 400
    assert nothing_started(services, transport, outbox)


@pytest.mark.parametrize(
    "repository", ["evil", "evil/back/door", "evil/..", "-evil/x", "evil/bad name"]
)
def test_a_repository_that_is_not_owner_slash_name_is_a_400(
    make_services: Make, make_context: ContextFactory, repository: str
) -> None:
    data = make_context().model_dump(mode="json")
    data["classified"]["failure"]["repository"] = repository
    with pytest.raises(InvalidInput, match="repository"):
        Spawner(make_services())(gathered(data))


def test_past_max_attempts_stays_a_skip(
    make_services: Make, transport: RecordedTransport, outbox: Path, make_context: ContextFactory
) -> None:
    """Not malformed: max_attempts may have been lowered while a retry was on its way."""
    services = make_services(max_attempts=3)
    data = skipped(Spawner(services)(gathered(make_context(attempt=4))))
    assert data["code"] == "max_attempts"
    assert nothing_started(services, transport, outbox)


def test_a_context_that_passes_starts_as_before(
    make_services: Make, make_context: ContextFactory, outbox: Path
) -> None:
    services = make_services(
        repo_allow=("acme/*",), branch_include=("feature/*",), branch_exclude=("feature/wip*",)
    )
    reply = Spawner(services)(gathered(make_context(pull_request=pull())))
    assert reply["type"] == EventType.REMEDIATION_STARTED
    manifest = yaml.safe_load((outbox / "healer-acme-widgets-7001-a1.yaml").read_text())
    assert manifest["spec"]["env"]["HEALER_TARGET_BRANCH"] == "feature/parser"
    record = json.loads(services.state.get("task:acme-widgets-7001") or "{}")
    assert record["status"] == "running"
