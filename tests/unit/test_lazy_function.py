"""The functions-framework target builds its handler once, on the first request."""

from __future__ import annotations

import threading
from collections.abc import Callable

import flask
from werkzeug.test import EnvironBuilder

from healer.readiness import Readiness
from healer.runtime import lazy_function
from healer.settings import Settings

Handler = Callable[[flask.Request], flask.Response]


def request(path: str = "/", method: str = "POST") -> flask.Request:
    return flask.Request(EnvironBuilder(path=path, method=method).get_environ())


def counting(builds: list[int], body: str = "") -> Callable[[], Handler]:
    """A handler factory that notes each build."""

    def create() -> Handler:
        builds.append(1)
        return lambda request: flask.Response(body)

    return create


def test_the_handler_is_built_once_even_under_concurrent_first_requests() -> None:
    builds: list[int] = []
    started = threading.Barrier(8)

    def create() -> Handler:
        builds.append(1)
        return lambda request: flask.Response(f"built {len(builds)}")

    target = lazy_function("probe", create)
    answers: list[bytes] = []

    def call() -> None:
        started.wait()
        answers.append(target(request()).get_data())

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert builds == [1]
    assert answers == [b"built 1"] * 8
    assert target.__name__ == "probe"


def test_nothing_is_built_until_a_request_arrives() -> None:
    builds: list[int] = []
    lazy_function("probe", counting(builds))
    assert builds == []


def test_probes_are_answered_without_building_the_handler() -> None:
    builds: list[int] = []
    ready = Readiness(lambda: Settings(state_backend="memory"))
    target = lazy_function(
        "probe",
        counting(builds, "handled"),
        readiness=ready,
    )
    for path in ("/health", "/health/liveness", "/health/readiness"):
        response = target(request(path, "GET"))
        assert response.status_code == 200
        assert response.get_json()["function"] == "probe"
    assert builds == []
    assert target(request("/health/readiness", "POST")).get_data() == b"handled"
    assert builds == [1]


def test_readiness_fails_with_the_reason_while_liveness_stays_up() -> None:
    def broken() -> Settings:
        raise ValueError("HEALER_MAX_ATTEMPTS='many' is not an integer")

    target = lazy_function(
        "probe", lambda: lambda request: flask.Response(), readiness=Readiness(broken)
    )
    response = target(request("/health/readiness", "GET"))
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert "settings cannot be loaded" in response.get_json()["detail"]
    assert "'many' is not an integer" in response.get_json()["detail"]
    assert target(request("/health/liveness", "GET")).status_code == 200
