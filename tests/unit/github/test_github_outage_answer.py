"""A GitHub outage inside a stage becomes the answer the broker retries (503/429 + Retry-After)."""

from __future__ import annotations

from collections.abc import Callable

import flask
import httpx
import pytest
from cloudevents.conversion import to_binary
from cloudevents.http import CloudEvent
from github_fakes import Router
from werkzeug.test import TestResponse

from healer.github.client import GitHubClient
from healer.runtime import Reply, cloudevent_function

RUN = "https://api.github.com/repos/acme/widgets/actions/runs/7001"


def _answer(client: GitHubClient) -> TestResponse:
    def handler(event: CloudEvent) -> Reply:
        client.get_run("acme/widgets", 7001)
        return None

    function = cloudevent_function(handler, name="gather")
    app = flask.Flask("outage")
    app.add_url_rule("/", "gather", lambda: function(flask.request), methods=["POST"])
    event = CloudEvent(
        {"type": "dev.healer.failure.classified", "source": "tests", "id": "e-1"}, {"x": 1}
    )
    headers, body = to_binary(event)
    return app.test_client().post("/", headers=dict(headers), data=body)


@pytest.mark.parametrize(
    ("github_answer", "status", "retry_after"),
    [
        (httpx.Response(503), "503", "30"),
        (httpx.Response(502, headers={"retry-after": "12"}), "503", "12"),
        (httpx.ReadTimeout("slow"), "503", "30"),
        (
            httpx.Response(
                403,
                json={"message": "You have exceeded a secondary rate limit."},
                headers={"retry-after": "120"},
            ),
            "429",
            "120",
        ),
    ],
)
def test_outage_answers_retryably_with_retry_after(
    make_client: Callable[..., GitHubClient],
    router: Router,
    github_answer: httpx.Response | Exception,
    status: str,
    retry_after: str,
) -> None:
    router.add("GET", RUN, github_answer)
    response = _answer(make_client())
    assert str(response.status_code) == status
    assert response.headers["Retry-After"] == retry_after
    assert response.get_json()["status"] == int(status)


def test_missing_resource_is_a_permanent_answer(
    make_client: Callable[..., GitHubClient], router: Router
) -> None:
    response = _answer(make_client())  # nothing routed: GitHub answers 404
    assert response.status_code == 422
    assert "Retry-After" not in response.headers
