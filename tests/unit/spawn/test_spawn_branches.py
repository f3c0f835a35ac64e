"""The agent never pushes to the default branch or a protected one unless configured to: it
works on a new ``healer/<task>`` branch instead, and GitHub (not the context) says which
branch is which."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from cloudevents.http import CloudEvent
from event_data import data_of
from github_routes import Routes, recorded
from github_routes import services as routed_services
from spawn_fixtures import build_context as make_context
from spawn_fixtures import failure, pull

from functions.spawn.stage import Spawner
from healer.errors import RetryableError
from healer.events import build_event
from healer.models import ContextGathered
from healer.services import Services
from healer.stores.keys import ACTIVE_KEY
from healer.vocabulary import EventType, Stage

REPO = "/repos/acme/widgets"
FIX_BRANCH = "healer/acme-widgets-7001"


def gathered(context: ContextGathered) -> CloudEvent:
    return build_event(
        EventType.CONTEXT_GATHERED,
        Stage.GATHER,
        context,
        key=(context.task_id, context.attempt),
        repository="acme/widgets",
        run_id=7001,
    )


@pytest.fixture
def routes() -> Routes:
    return Routes()


def make(routes: Routes, tmp_path: Path, **settings: Any) -> Services:
    return routed_services(routes, tmp_path, coderun_outbox=str(tmp_path / "outbox"), **settings)


def started(services: Services, context: ContextGathered) -> dict[str, Any]:
    reply = Spawner(services)(gathered(context))
    assert reply["type"] == EventType.REMEDIATION_STARTED
    data: dict[str, Any] = data_of(reply)
    return data


def manifest(tmp_path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(
        (tmp_path / "outbox" / "healer-acme-widgets-7001-a1.yaml").read_text()
    )
    return loaded


def prompt(services: Services, data: dict[str, Any]) -> str:
    return services.blobs.get(data["prompt_key"]).decode()


def test_a_pr_whose_head_is_the_default_branch_gets_a_branch_of_its_own(
    routes: Routes, tmp_path: Path
) -> None:
    services = make(routes, tmp_path)
    context = make_context(
        detected=failure(head_branch="main"), pull_request=pull(head="main", base="main")
    )
    data = started(services, context)
    assert (data["branch"], data["base_branch"]) == (FIX_BRANCH, "main")
    env = manifest(tmp_path)["spec"]["env"]
    assert env["HEALER_TARGET_BRANCH"] == FIX_BRANCH and env["HEALER_BASE_BRANCH"] == "main"
    assert "HEALER_PULL_REQUEST" not in env  # the fix comes as a new PR, not pushed into #42
    text = prompt(services, data)
    assert f"Push to the branch `{FIX_BRANCH}`" in text and "branch `main`" not in text
    # completion-check matches CI on the new branch, and the window holds it
    assert services.state.get(f"branch:acme/widgets:{FIX_BRANCH}") == "acme-widgets-7001"
    assert services.state.get("branch:acme/widgets:main") is None


def test_a_context_lying_about_the_default_branch_is_caught_by_github(
    routes: Routes, tmp_path: Path
) -> None:
    """The context says the default is ``main``; GitHub says ``trunk``, unprotected."""
    routes.json(REPO, {**recorded("repos/acme/widgets.json"), "default_branch": "trunk"})
    routes.json(f"{REPO}/branches/trunk", {"name": "trunk", "protected": False})
    services = make(routes, tmp_path)
    context = make_context(
        detected=failure(head_branch="trunk", default_branch="main"),
        pull_request=pull(head="trunk", base="release"),
    )
    data = started(services, context)
    assert (data["branch"], data["base_branch"]) == (FIX_BRANCH, "trunk")
    # settled by the default branch: no protection lookup, only the start commit's (the new
    # branch does not exist yet, so its base's head)
    assert routes.paths() == [REPO, f"{REPO}/branches/{FIX_BRANCH}", f"{REPO}/branches/trunk"]


def test_a_protected_branch_gets_a_branch_of_its_own(routes: Routes, tmp_path: Path) -> None:
    branch = recorded("repos/acme/widgets/branches/feature/parser.json")
    routes.json(f"{REPO}/branches/feature/parser", {**branch, "protected": True})
    services = make(routes, tmp_path)
    data = started(services, make_context(pull_request=pull()))
    assert (data["branch"], data["base_branch"]) == (FIX_BRANCH, "feature/parser")
    assert manifest(tmp_path)["spec"]["env"]["HEALER_TARGET_BRANCH"] == FIX_BRANCH
    assert f"{REPO}/branches/feature/parser" in routes.paths()


def test_an_unprotected_feature_branch_is_worked_on_in_place(
    routes: Routes, tmp_path: Path
) -> None:
    services = make(routes, tmp_path)
    data = started(services, make_context(pull_request=pull()))
    assert (data["branch"], data["base_branch"]) == ("feature/parser", "main")
    assert manifest(tmp_path)["spec"]["env"]["HEALER_PULL_REQUEST"] == "42"
    assert "Push to the branch `feature/parser`" in prompt(services, data)


def test_a_branch_github_does_not_know_is_not_protected(routes: Routes, tmp_path: Path) -> None:
    services = make(routes, tmp_path)
    context = make_context(detected=failure(head_branch="feature/new"))
    assert started(services, context)["branch"] == "feature/new"
    assert f"{REPO}/branches/feature/new" in routes.paths()


def test_pushing_there_can_be_allowed(routes: Routes, tmp_path: Path) -> None:
    branch = recorded("repos/acme/widgets/branches/feature/parser.json")
    routes.json(f"{REPO}/branches/feature/parser", {**branch, "protected": True})
    services = make(
        routes, tmp_path, allow_default_branch_push=True, allow_protected_branch_push=True
    )
    context = make_context(
        detected=failure(head_branch="main"), pull_request=pull(head="main", base="main")
    )
    assert started(services, context)["branch"] == "main"
    assert routes.paths() == [f"{REPO}/branches/main"]  # only the start commit's lookup
    only_default = make(routes, tmp_path / "2", allow_default_branch_push=True)
    data = started(only_default, make_context(pull_request=pull()))
    assert data["branch"] == FIX_BRANCH  # feature/parser is still protected


def test_a_push_to_the_default_branch_without_a_pr_asks_github_only_for_the_start(
    routes: Routes, tmp_path: Path
) -> None:
    services = make(routes, tmp_path)
    data = started(services, make_context(detected=failure(head_branch="main")))
    assert data["branch"] == FIX_BRANCH
    assert routes.paths() == [f"{REPO}/branches/{FIX_BRANCH}", f"{REPO}/branches/main"]


def test_a_github_outage_while_checking_is_retryable_and_gives_the_claims_back(
    routes: Routes, tmp_path: Path
) -> None:
    routes.status(REPO, 502)
    services = make(routes, tmp_path)
    with pytest.raises(RetryableError) as caught:
        Spawner(services)(gathered(make_context(pull_request=pull())))
    assert caught.value.status == 503
    assert services.state.keys("dedup:") == [] and services.state.keys("window:") == []
    assert services.state.get(ACTIVE_KEY) is None
    assert not (tmp_path / "outbox").exists()


def test_a_redelivery_answers_the_same_branch(routes: Routes, tmp_path: Path) -> None:
    services = make(routes, tmp_path)
    context = make_context(
        detected=failure(head_branch="main"), pull_request=pull(head="main", base="main")
    )
    first = started(services, context)
    again = started(services, context)
    assert first == again and first["branch"] == FIX_BRANCH
    record = json.loads(services.state.get("task:acme-widgets-7001") or "{}")
    assert [a["branch"] for a in record["attempts"]] == [FIX_BRANCH]
