"""completion-check's edge: GitHub deliveries must be signed once a webhook secret is set."""

from __future__ import annotations

from typing import Any

import pytest
from cloudevents.conversion import to_binary, to_structured
from cloudevents.http import CloudEvent
from completion_fixtures import BRANCH, REPO, ping
from event_data import data_of

from functions.completion_check.signed import SignedWebhooks
from healer.errors import InvalidInput, Unauthorized
from healer.runtime import Inbound, Reply, Skip, is_cloudevent, parse_cloudevent
from healer_dev.broker.finish import ci_event, coderun_update, finish_events

SECRET = "It's a Secret to Everybody"
SHA = "0" * 40


class Recording:
    """A stand-in stage that remembers what reached it."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, event: CloudEvent) -> Reply:
        self.seen.append(str(event["type"]))
        return Skip("seen")


def inbound(event: CloudEvent, *, structured: bool = False, method: str = "POST") -> Inbound:
    headers, body = to_structured(event) if structured else to_binary(event)
    lower = {str(k).lower(): str(v) for k, v in headers.items()}
    raw = body.encode() if isinstance(body, str) else bytes(body or b"")
    parsed = parse_cloudevent(lower, raw) if is_cloudevent(lower) else None
    return Inbound(method, "/", lower, raw, parsed)


def ci(secret: str = "", conclusion: str = "success") -> CloudEvent:
    return ci_event(REPO, BRANCH, SHA, conclusion, key="k", secret=secret)


def coderun() -> dict[str, Any]:
    return {
        "apiVersion": "agents.platform/v1",
        "kind": "CodeRun",
        "metadata": {"name": "healer-acme-widgets-7001-a1", "namespace": "cto"},
        "spec": {"branch": BRANCH, "repositoryUrl": f"https://github.com/{REPO}"},
    }


@pytest.mark.parametrize("structured", [False, True])
def test_a_signed_ci_delivery_reaches_the_stage(structured: bool) -> None:
    stage = Recording()
    SignedWebhooks(stage, secret=SECRET)(inbound(ci(SECRET), structured=structured))
    assert stage.seen == ["dev.healer.github.webhook"]


def test_an_unsigned_ci_delivery_is_refused_before_the_stage() -> None:
    stage = Recording()
    with pytest.raises(Unauthorized, match="missing"):
        SignedWebhooks(stage, secret=SECRET)(inbound(ci()))
    assert stage.seen == []


def test_a_delivery_signed_with_another_secret_is_refused() -> None:
    stage = Recording()
    with pytest.raises(Unauthorized, match="does not match"):
        SignedWebhooks(stage, secret=SECRET)(inbound(ci("another secret")))
    assert stage.seen == []


def test_a_changed_body_no_longer_matches_its_signature() -> None:
    genuine = ci(SECRET, conclusion="failure")
    data = data_of(genuine)
    data["body"]["workflow_run"]["conclusion"] = "success"
    forged = CloudEvent(genuine.get_attributes(), data)
    stage = Recording()
    with pytest.raises(Unauthorized, match="does not match"):
        SignedWebhooks(stage, secret=SECRET)(inbound(forged))
    assert stage.seen == []


def test_coderun_updates_and_sweep_ticks_need_no_github_signature() -> None:
    stage = Recording()
    gate = SignedWebhooks(stage, secret=SECRET)
    gate(inbound(coderun_update(coderun(), "Failed", message="tests still fail")))
    gate(inbound(ping()))
    assert stage.seen == ["dev.knative.apiserver.resource.update", "dev.knative.sources.ping"]


def test_without_a_secret_nothing_is_verified() -> None:
    stage = Recording()
    SignedWebhooks(stage)(inbound(ci()))
    assert stage.seen == ["dev.healer.github.webhook"]


def test_healer_finish_signs_the_ci_delivery_it_builds() -> None:
    events = finish_events(coderun(), "Succeeded", ci="success", secret=SECRET)
    stage = Recording()
    for event in events:
        SignedWebhooks(stage, secret=SECRET)(inbound(event))
    assert stage.seen == ["dev.healer.github.webhook", "dev.knative.apiserver.resource.update"]


def test_anything_but_a_posted_cloudevent_is_invalid_input() -> None:
    gate = SignedWebhooks(Recording(), secret=SECRET)
    with pytest.raises(InvalidInput, match="not supported"):
        gate(inbound(ci(SECRET), method="PUT"))
    plain = Inbound("POST", "/", {"content-type": "application/json"}, b"{}", None)
    with pytest.raises(InvalidInput, match="expected a CloudEvent"):
        gate(plain)
