"""The functions-framework target builds its handler once, on the first request."""

from __future__ import annotations

import threading

import flask

from healer.runtime import lazy_function


def test_the_handler_is_built_once_even_under_concurrent_first_requests() -> None:
    builds: list[int] = []
    started = threading.Barrier(8)

    def create() -> object:
        builds.append(1)
        return lambda request: flask.Response(f"built {len(builds)}")

    target = lazy_function("probe", create)  # type: ignore[arg-type]
    answers: list[bytes] = []

    def call() -> None:
        started.wait()
        answers.append(target(None).get_data())  # type: ignore[arg-type]

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
    lazy_function("probe", lambda: builds.append(1) or (lambda request: flask.Response()))  # type: ignore[arg-type, func-returns-value]
    assert builds == []
