"""Argo CD, Loki and advisories: each with a timeout, each failing soft."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from github_routes import Routes, client

from functions.gather.extras import LOKI_WINDOW_SECONDS, ExtraSources, gather_extras
from healer.models import AlertDetected, FailureClassified, FailureDetected, Verdict
from healer.vocabulary import Action, AlertKind, FailureType, category_of

NOW = 1_764_600_000.5


def sources(
    answer: Callable[[httpx.Request], httpx.Response], **fields: object
) -> tuple[ExtraSources, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(request)

    options: dict[str, object] = {
        "argocd_url": "https://argocd.example",
        "argocd_token": "argo-t0ken",
        "loki_url": "http://loki:3100",
        "timeout": 1.5,
        "clock": lambda: NOW,
        **fields,
    }
    return ExtraSources(transport=httpx.MockTransport(record), **options), seen  # type: ignore[arg-type]


def timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("slow", request=request)


ARGO_APP = {
    "metadata": {"name": "widgets"},
    "status": {
        "health": {"status": "Degraded", "message": "Deployment widgets has 0/2 ready replicas"},
        "sync": {"status": "OutOfSync", "revision": "3f786850e387550fdab836ed7e6dc881de23001b"},
        "operationState": {"phase": "Failed", "message": "one or more objects failed to apply"},
        "conditions": [{"type": "SyncError", "message": 'Deployment.apps "widgets" is invalid'}],
    },
}


def test_argocd_reports_health_and_sync_with_a_bearer_token() -> None:
    extras, seen = sources(lambda r: httpx.Response(200, json=ARGO_APP))
    extra = extras.argocd("widgets")
    assert extra.status == "ok" and extra.detail == "Degraded/OutOfSync"
    assert extra.data["operation_phase"] == "Failed"
    assert extra.data["conditions"] == ['SyncError: Deployment.apps "widgets" is invalid']
    (request,) = seen
    assert str(request.url) == "https://argocd.example/api/v1/applications/widgets"
    assert request.headers["authorization"] == "Bearer argo-t0ken"


@pytest.mark.parametrize(
    ("answer", "status", "detail"),
    [
        (
            lambda r: httpx.Response(403, json={"error": "permission denied"}),
            "missing",
            "not found or not permitted",
        ),
        (lambda r: httpx.Response(500), "error", "argocd: answered 500"),
        (timeout, "error", "argocd: timed out after 1.5 s"),
        (lambda r: httpx.Response(200, content=b"not json"), "error", "unreadable answer"),
    ],
)
def test_argocd_fails_soft(
    answer: Callable[[httpx.Request], httpx.Response], status: str, detail: str
) -> None:
    extras, _ = sources(answer)
    extra = extras.argocd("widgets")
    assert extra.status == status and detail in extra.detail


def test_unconfigured_sources_are_disabled_without_a_request() -> None:
    extras, seen = sources(lambda r: httpx.Response(200), argocd_url="", loki_url="")
    assert extras.argocd("x").status == "disabled" and extras.loki("x").status == "disabled"
    assert seen == []


def test_loki_asks_for_the_last_hour_in_integer_nanoseconds() -> None:
    result = {
        "status": "success",
        "data": {
            "resultType": "streams",
            "result": [
                {
                    "stream": {"app": "widgets", "pod": "a"},
                    "values": [
                        ["1764599990000000000", "ERROR db timeout"],
                        ["1764599900000000000", "ERROR first"],
                    ],
                },
                {
                    "stream": {"app": "widgets", "pod": "b"},
                    "values": [["1764599995000000000", "panic: nil map"]],
                },
            ],
        },
    }
    extras, seen = sources(lambda r: httpx.Response(200, json=result))

    extra = extras.loki("widgets")

    (request,) = seen
    assert request.url.path == "/loki/api/v1/query_range"
    params = request.url.params
    end = int(params["end"])
    assert end == int(NOW * 1_000_000_000) and params["end"].isdigit()
    assert int(params["start"]) == end - LOKI_WINDOW_SECONDS * 1_000_000_000
    assert params["direction"] == "backward" and params["limit"] == "50"
    assert params["query"].startswith('{app="widgets"} |~ ')
    assert extra.status == "ok"
    assert [line["line"] for line in extra.data["lines"]] == [
        "panic: nil map",
        "ERROR db timeout",
        "ERROR first",
    ]


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        (
            lambda r: httpx.Response(200, json={"status": "success", "data": {"result": []}}),
            "missing",
        ),
        (lambda r: httpx.Response(400, text="parse error"), "error"),
        (timeout, "error"),
    ],
)
def test_loki_fails_soft(answer: Callable[[httpx.Request], httpx.Response], status: str) -> None:
    extras, _ = sources(answer)
    assert extras.loki("widgets").status == status


def test_the_advisory_comes_from_github() -> None:
    extras, _ = sources(lambda r: httpx.Response(200))
    extra = extras.advisory(client(Routes()), "GHSA-4xq8-v2hj-7mqx")
    assert extra.status == "ok"
    assert extra.data["cvss_score"] == 7.5 and extra.data["cwes"] == ["CWE-674"]
    assert extra.data["vulnerabilities"][0]["first_patched_version"] == "0.9.4"


def test_an_unknown_or_unreachable_advisory_fails_soft() -> None:
    extras, _ = sources(lambda r: httpx.Response(200))
    routes = Routes()
    routes.status("/advisories/GHSA-down-down-down", 503)
    assert extras.advisory(client(routes), "GHSA-none-none-none").status == "missing"
    assert extras.advisory(client(routes), "GHSA-down-down-down").status == "error"
    assert extras.advisory(client(routes), "").status == "missing"


def classified(kind: FailureType) -> FailureClassified:
    verdict = Verdict(
        failure_type=kind, category=category_of(kind), agent="a", action=Action.FIX, confidence=0.9
    )
    failure = FailureDetected(
        repository="acme/widgets", event="workflow_run", run_id=1, head_sha="a" * 40
    )
    return FailureClassified(failure=failure, verdicts=[verdict], primary=verdict)


@pytest.mark.parametrize(
    ("kind", "names"),
    [
        (FailureType.HELM_TEMPLATE, {"argocd", "loki"}),
        (FailureType.DOCKER_BUILD, {"argocd", "loki"}),
        (FailureType.PYTHON_TEST, {"loki"}),
        (FailureType.FRONTEND_LINT, set()),
    ],
)
def test_extras_follow_the_failure_type(kind: FailureType, names: set[str]) -> None:
    extras, _ = sources(lambda r: httpx.Response(200, json=ARGO_APP))
    assert set(gather_extras(extras, client(Routes()), classified(kind))) == names


def test_a_dependabot_alert_gets_its_advisory_and_other_alerts_nothing() -> None:
    extras, seen = sources(lambda r: httpx.Response(200))
    dependabot = AlertDetected(
        repository="acme/widgets",
        kind=AlertKind.DEPENDABOT,
        alert_number=3,
        ghsa_id="GHSA-4xq8-v2hj-7mqx",
    )
    secret = dependabot.model_copy(update={"kind": AlertKind.SECRET_SCANNING, "ghsa_id": ""})
    v = Verdict(
        failure_type=FailureType.SECURITY_DEPENDABOT,
        category=category_of(FailureType.SECURITY_DEPENDABOT),
        agent="cipher",
        action=Action.FIX,
        confidence=1.0,
    )
    got = gather_extras(
        extras, client(Routes()), FailureClassified(alert=dependabot, verdicts=[v], primary=v)
    )
    assert got["advisory"].status == "ok"
    assert (
        gather_extras(
            extras, client(Routes()), FailureClassified(alert=secret, verdicts=[v], primary=v)
        )
        == {}
    )
    assert seen == []


@pytest.mark.parametrize("body", [[], "up", {"status": []}, {"data": {"result": ["x"]}}])
def test_an_answer_of_the_wrong_shape_fails_soft(body: object) -> None:
    # A proxy or a newer API answering JSON of another shape must not stop the context.
    src, _ = sources(lambda request: httpx.Response(200, json=body))

    assert src.argocd("widgets").status in ("error", "ok")
    assert src.loki("widgets").status in ("error", "missing")
