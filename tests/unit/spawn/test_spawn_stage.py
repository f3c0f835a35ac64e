"""The spawn stage's decisions: each action, redeliveries, limits, and giving claims back."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import yaml
from cloudevents.http import CloudEvent
from event_data import data_of
from spawn_fixtures import (
    ContextFactory,
    CountingLauncher,
    alert,
    failure,
    gathered,
    pull,
    verdict,
)

from functions.spawn.launcher import LaunchUnavailable
from functions.spawn.stage import Spawner
from healer.coderun import validate_coderun
from healer.errors import InvalidInput, StoreUnavailable
from healer.events import build_event
from healer.github.auth import TokenAuth
from healer.github.client import GitHubClient
from healer.github.exceptions import GitHubUnavailable
from healer.github.recorded import RecordedTransport
from healer.models import ContextGathered
from healer.services import Services
from healer.stores.keys import ACTIVE_KEY, BREAKER_KEY
from healer.stores.memory import MemoryStateStore
from healer.vocabulary import Action, Category, EventType, FailureType, Stage

Make = Callable[..., Services]
HEAD = "3f786850e387550fdab836ed7e6dc881de23001b"  # feature/parser's recorded head


@pytest.fixture
def launcher(tmp_path: Path) -> CountingLauncher:
    return CountingLauncher(tmp_path / "outbox")


def test_fix_creates_a_coderun_stores_the_prompt_and_records_the_attempt(
    make_services: Make, make_context: ContextFactory, launcher: CountingLauncher
) -> None:
    services = make_services()
    context = make_context(pull_request=pull())
    reply = Spawner(services, launcher=launcher, clock=lambda: "2025-01-02T03:04:05Z")(
        gathered(context)
    )
    assert reply["type"] == EventType.REMEDIATION_STARTED
    assert reply["source"] == "healer/spawn" and reply["subject"] == "acme/widgets#7001"
    data = data_of(reply)
    assert (data["agent"], data["action"], data["coderun_name"]) == (
        "rex",
        "fix",
        "healer-acme-widgets-7001-a1",
    )
    assert data["branch"] == "feature/parser" and data["base_branch"] == "main"
    manifest = yaml.safe_load(Path(data["launched_to"]).read_text())
    assert manifest["metadata"]["name"] == "healer-acme-widgets-7001-a1"
    prompt = services.blobs.get(data["prompt_key"]).decode()
    assert data["prompt_key"] == "repos/acme/widgets/runs/7001/attempt-1/prompt-1.md"
    assert prompt.startswith("You are Rex") and manifest["spec"]["promptModification"] == prompt
    assert validate_coderun(manifest).manifest() == manifest
    assert "test parser::nested ... FAILED" in prompt
    stored = ContextGathered.model_validate_json(services.blobs.get(data["context_key"]))
    assert stored == context
    record = json.loads(services.state.get("task:acme-widgets-7001") or "")
    assert record["status"] == "running" and record["repository"] == "acme/widgets"
    assert record["attempts"] == [
        {
            "attempt": 1,
            "agent": "rex",
            "action": "fix",
            "coderun_name": "healer-acme-widgets-7001-a1",
            "prompt_key": data["prompt_key"],
            "context_key": data["context_key"],
            "branch": "feature/parser",
            "start_sha": HEAD,  # the branch's head on GitHub when the attempt started
            "started_at": "2025-01-02T03:04:05Z",
            "outcome": "",
        }
    ]
    assert services.state.get(ACTIVE_KEY) == "1"
    # completion-check finds the task from a CI delivery on the branch
    assert services.state.get("branch:acme/widgets:feature/parser") == "acme-widgets-7001"


def test_a_redelivery_answers_the_same_event_and_starts_nothing(
    make_services: Make, make_context: ContextFactory, launcher: CountingLauncher
) -> None:
    services = make_services()
    spawner = Spawner(services, launcher=launcher)
    event = gathered(make_context())
    first, again = spawner(event), spawner(event)
    assert (again["id"], again["type"]) == (first["id"], first["type"])
    assert data_of(again) == data_of(first)
    assert launcher.created == 1 and services.state.get(ACTIVE_KEY) == "1"


def test_a_second_instance_finding_the_coderun_already_there_counts_it_as_launched(
    make_services: Make, make_context: ContextFactory, tmp_path: Path
) -> None:
    context = make_context()
    one, two = CountingLauncher(tmp_path / "o"), CountingLauncher(tmp_path / "o")
    Spawner(make_services(), launcher=one)(gathered(context))
    reply = Spawner(make_services(), launcher=two)(gathered(context))  # its own empty state
    assert reply["type"] == EventType.REMEDIATION_STARTED
    assert (one.created, two.created) == (1, 0)


def test_rerun_asks_github_and_starts_no_agent(
    make_services: Make,
    make_context: ContextFactory,
    launcher: CountingLauncher,
    transport: RecordedTransport,
) -> None:
    services = make_services()
    network = verdict(FailureType.INFRA_NETWORK, Action.RERUN, "bolt", Category.INFRA)
    reply = Spawner(services, launcher=launcher)(gathered(make_context(primary=network)))
    data = data_of(reply)
    assert reply["type"] == EventType.REMEDIATION_STARTED
    assert (data["action"], data["coderun_name"], data["prompt_key"]) == ("rerun", "", "")
    assert [(w.method, w.path) for w in transport.writes] == [
        ("POST", "/repos/acme/widgets/actions/runs/7001/rerun-failed-jobs")
    ]
    assert launcher.created == 0 and services.state.get(ACTIVE_KEY) is None
    record = json.loads(services.state.get("task:acme-widgets-7001") or "")
    assert record["attempts"][0]["action"] == "rerun"
    # the context is kept, so a failed re-run can be retried with an agent
    context_key = record["attempts"][0]["context_key"]
    assert ContextGathered.model_validate_json(services.blobs.get(context_key)).task_id


def test_ignore_is_skipped_with_the_reason(
    make_services: Make, make_context: ContextFactory, launcher: CountingLauncher
) -> None:
    services = make_services()
    quiet = verdict(FailureType.GENERAL, Action.IGNORE, "atlas", Category.GENERAL)
    reply = Spawner(services, launcher=launcher)(gathered(make_context(primary=quiet)))
    assert reply["type"] == EventType.REMEDIATION_SKIPPED
    assert data_of(reply)["code"] == "ignore" and "general" in data_of(reply)["reason"]
    assert launcher.created == 0 and services.state.keys("") == []


@pytest.mark.parametrize("action", [Action.FIX, Action.UNSURE])
def test_a_verdict_below_min_confidence_starts_no_agent(
    make_services: Make, make_context: ContextFactory, launcher: CountingLauncher, action: Action
) -> None:
    services = make_services()
    thin = verdict(FailureType.GENERAL, action, "atlas", Category.GENERAL)
    thin = thin.model_copy(update={"confidence": 0.1})
    reply = Spawner(services, launcher=launcher)(gathered(make_context(primary=thin)))
    assert reply["type"] == EventType.REMEDIATION_SKIPPED
    assert data_of(reply)["code"] == "unsure" and "0.1" in data_of(reply)["reason"]
    assert launcher.created == 0 and services.state.keys("") == []


def test_an_unsure_verdict_is_fixed_when_min_confidence_allows_it(
    make_services: Make, make_context: ContextFactory, launcher: CountingLauncher
) -> None:
    services = make_services(min_confidence=0.0)
    thin = verdict(FailureType.GENERAL, Action.UNSURE, "atlas", Category.GENERAL)
    thin = thin.model_copy(update={"confidence": 0.1})
    reply = Spawner(services, launcher=launcher)(gathered(make_context(primary=thin)))
    assert reply["type"] == EventType.REMEDIATION_STARTED
    assert data_of(reply)["action"] == "fix" and launcher.created == 1


def test_an_attempt_past_max_attempts_is_skipped(
    make_services: Make, make_context: ContextFactory, launcher: CountingLauncher
) -> None:
    reply = Spawner(make_services(max_attempts=2), launcher=launcher)(
        gathered(make_context(attempt=3))
    )
    assert reply["type"] == EventType.REMEDIATION_SKIPPED
    assert data_of(reply)["code"] == "max_attempts" and launcher.created == 0


def test_the_concurrency_limit_skips_and_gives_everything_back(
    make_services: Make, make_context: ContextFactory, launcher: CountingLauncher
) -> None:
    services = make_services(max_concurrent=1)
    spawner = Spawner(services, launcher=launcher)
    spawner(gathered(make_context()))
    other = make_context(
        detected=failure(run_id=7009, head_branch="b2"), task_id="acme-widgets-7009"
    )
    reply = spawner(gathered(other))
    assert reply["type"] == EventType.REMEDIATION_SKIPPED
    assert data_of(reply)["code"] == "concurrency"
    assert services.state.get(ACTIVE_KEY) == "1" and launcher.created == 1
    assert services.state.get("dedup:spawn:acme-widgets-7009:1") is None
    assert services.state.get("window:acme/widgets:b2") is None


def test_another_task_on_the_same_branch_within_the_window_is_skipped(
    make_services: Make, make_context: ContextFactory, launcher: CountingLauncher
) -> None:
    services = make_services()
    spawner = Spawner(services, launcher=launcher)
    spawner(gathered(make_context()))
    later = make_context(detected=failure(run_id=7010), task_id="acme-widgets-7010")
    reply = spawner(gathered(later))
    assert reply["type"] == EventType.REMEDIATION_SKIPPED
    data = data_of(reply)
    assert data["code"] == "busy" and "acme-widgets-7001" in data["reason"]
    # Once the first task has settled, the window still holds the branch for a while.
    record = json.loads(services.state.get("task:acme-widgets-7001") or "")
    services.state.set("task:acme-widgets-7001", json.dumps({**record, "status": "succeeded"}))
    again = make_context(detected=failure(run_id=7011), task_id="acme-widgets-7011")
    data = data_of(spawner(gathered(again)))
    assert data["code"] == "window" and "acme-widgets-7001" in data["reason"]
    services.state.set("task:acme-widgets-7001", json.dumps(record))
    retry = spawner(gathered(make_context(attempt=2)))  # the same task's next attempt passes
    assert retry["type"] == EventType.REMEDIATION_STARTED
    assert data_of(retry)["coderun_name"] == "healer-acme-widgets-7001-a2"
    record = json.loads(services.state.get("task:acme-widgets-7001") or "")
    assert [a["attempt"] for a in record["attempts"]] == [1, 2]


def test_an_open_breaker_skips(
    make_services: Make, make_context: ContextFactory, launcher: CountingLauncher
) -> None:
    services = make_services()
    services.state.set(BREAKER_KEY, "too many failures", 60)
    reply = Spawner(services, launcher=launcher)(gathered(make_context()))
    assert data_of(reply)["code"] == "breaker" and launcher.created == 0
    assert services.state.get("dedup:spawn:acme-widgets-7001:1") is None


def test_a_launch_outage_is_retryable_and_gives_the_claims_back(
    make_services: Make, make_context: ContextFactory, launcher: CountingLauncher
) -> None:
    services = make_services()
    spawner = Spawner(services, launcher=launcher)
    launcher.fail = LaunchUnavailable("API down")
    with pytest.raises(LaunchUnavailable) as caught:
        spawner(gathered(make_context()))
    assert caught.value.status == 503
    assert services.state.get(ACTIVE_KEY) == "0"
    assert services.state.keys("dedup:") == [] and services.state.keys("window:") == []
    launcher.fail = None
    assert spawner(gathered(make_context()))["type"] == EventType.REMEDIATION_STARTED


def test_a_branch_the_agent_will_create_starts_at_its_base_branchs_head(
    make_services: Make, make_context: ContextFactory, launcher: CountingLauncher
) -> None:
    services = make_services()
    context = make_context(detected=failure(head_branch="main"))  # → healer/<task>
    data = data_of(Spawner(services, launcher=launcher)(gathered(context)))
    assert data["branch"] == "healer/acme-widgets-7001"
    manifest = yaml.safe_load(Path(data["launched_to"]).read_text())
    main_head = "b6589fc6ab0dc82cf12099d1c2d40ab994e8410c"
    assert manifest["spec"]["env"]["HEALER_START_SHA"] == main_head
    assert manifest["metadata"]["annotations"]["healer.dev/start-sha"] == main_head
    record = json.loads(services.state.get("task:acme-widgets-7001") or "")
    assert record["attempts"][0]["start_sha"] == main_head


def test_without_either_branch_on_github_there_is_no_start_commit(
    make_services: Make, make_context: ContextFactory, launcher: CountingLauncher
) -> None:
    services = make_services()
    context = make_context(detected=failure(head_branch="topic/x", default_branch="trunk"))
    data = data_of(Spawner(services, launcher=launcher)(gathered(context)))
    manifest = yaml.safe_load(Path(data["launched_to"]).read_text())
    assert "HEALER_START_SHA" not in manifest["spec"]["env"]
    record = json.loads(services.state.get("task:acme-widgets-7001") or "")
    assert record["attempts"][0]["start_sha"] == ""


def test_a_github_outage_before_the_launch_is_retryable_and_gives_everything_back(
    make_services: Make, make_context: ContextFactory, launcher: CountingLauncher
) -> None:
    down = GitHubClient(
        auth=TokenAuth("t"),
        transport=httpx.MockTransport(lambda r: httpx.Response(502, json={})),
        sleep=lambda _: None,
    )
    services = make_services()
    services._github = down
    with pytest.raises(GitHubUnavailable) as caught:
        Spawner(services, launcher=launcher)(gathered(make_context()))
    assert caught.value.status == 503 and launcher.created == 0
    assert int(services.state.get(ACTIVE_KEY) or 0) == 0  # no slot held
    assert services.state.keys("dedup:") == []


class DownStore(MemoryStateStore):
    def claim(self, key: str, value: str, ttl_seconds: int) -> bool:
        raise StoreUnavailable("redis: connection refused")


def test_a_store_outage_is_retryable(
    make_services: Make, make_context: ContextFactory, launcher: CountingLauncher, tmp_path: Path
) -> None:
    services = make_services()
    down = Services(services.settings, state=DownStore(), blobs=services.blobs)
    with pytest.raises(StoreUnavailable) as caught:
        Spawner(down, launcher=launcher)(gathered(make_context()))
    assert caught.value.status == 503 and launcher.created == 0


def test_alert_starts_the_security_specialist_on_a_new_branch(
    make_services: Make, make_context: ContextFactory, launcher: CountingLauncher
) -> None:
    cipher = verdict(FailureType.SECURITY_DEPENDABOT, Action.FIX, "cipher", Category.SECURITY)
    context = make_context(detected=alert(), primary=cipher)
    event = build_event(
        EventType.CONTEXT_GATHERED,
        Stage.GATHER,
        context,
        key=(context.task_id, 1),
        repository="acme/widgets",
        run_id="dependabot-3",
    )
    reply = Spawner(make_services(), launcher=launcher)(event)
    data = data_of(reply)
    assert reply["subject"] == "acme/widgets#dependabot-3" and data["run_id"] == 0
    assert (data["agent"], data["branch"]) == ("cipher", "healer/acme-widgets-dependabot-3")
    assert data["prompt_key"] == "repos/acme/widgets/runs/dependabot-3/attempt-1/prompt-1.md"


def test_an_unknown_agent_falls_back_to_the_roster_fallback(
    make_services: Make, make_context: ContextFactory, launcher: CountingLauncher
) -> None:
    odd = verdict().model_copy(update={"agent": "nobody"})
    reply = Spawner(make_services(), launcher=launcher)(gathered(make_context(primary=odd)))
    assert data_of(reply)["agent"] == "atlas"


def test_a_retry_starts_the_specialist_completion_check_planned(
    make_services: Make, make_context: ContextFactory, launcher: CountingLauncher
) -> None:
    services = make_services()
    plan = {"task_id": "acme-widgets-7001", "next_agent": {"attempt": 3, "agent": "atlas"}}
    services.state.set_json("task:acme-widgets-7001", plan)
    second = Spawner(services, launcher=launcher)(gathered(make_context(attempt=2)))
    third = Spawner(services, launcher=launcher)(gathered(make_context(attempt=3)))
    assert data_of(second)["agent"] == "rex"  # planned for another attempt: the verdict's
    assert data_of(third)["agent"] == "atlas"


def test_bad_payloads_and_other_types_are_rejected(
    make_services: Make, launcher: CountingLauncher
) -> None:
    spawner = Spawner(make_services(), launcher=launcher)
    bad = CloudEvent(
        {"type": EventType.CONTEXT_GATHERED.value, "source": "healer/gather", "id": "x"},
        {"task_id": "t"},
    )
    with pytest.raises(InvalidInput, match="classified"):
        spawner(bad)
    other = CloudEvent({"type": "dev.healer.failure.detected", "source": "s", "id": "y"}, {})
    with pytest.raises(InvalidInput, match="spawn accepts"):
        spawner(other)
