"""GitHub App auth: the JWT GitHub expects, one token exchange, refresh before expiry."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from github_fakes import Router, recorded

from healer.github.auth import AppAuth, TokenAuth
from healer.github.client import GitHubClient
from healer.github.exceptions import GitHubError

EXCHANGE = "https://api.github.com/app/installations/4242/access_tokens"
RUN = "https://api.github.com/repos/acme/widgets/actions/runs/7001"
EXPIRES = datetime(2024, 5, 2, 11, 0, tzinfo=UTC).timestamp()
START = EXPIRES - 3600


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def key_pair() -> tuple[str, rsa.RSAPublicKey]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    return pem, key.public_key()


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def app_auth(key_pair: tuple[str, rsa.RSAPublicKey], clock: Clock) -> AppAuth:
    return AppAuth("123456", key_pair[0], "4242", clock=clock)


def _token_answer(token: str, expires: float) -> httpx.Response:
    stamp = datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return httpx.Response(
        201, json={**recorded("access_token.json"), "token": token, "expires_at": stamp}
    )


def test_app_jwt_is_rs256_with_backdated_iat_and_short_exp(
    app_auth: AppAuth, key_pair: tuple[str, rsa.RSAPublicKey], clock: Clock
) -> None:
    token = app_auth.app_jwt()

    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    claims = jwt.decode(
        token, key_pair[1], algorithms=["RS256"], options={"verify_exp": False, "verify_iat": False}
    )
    assert claims == {"iat": int(START) - 60, "exp": int(START) + 540, "iss": "123456"}
    assert claims["exp"] - claims["iat"] <= 600


def test_installation_token_is_exchanged_once_and_used(
    make_client: Callable[..., GitHubClient],
    router: Router,
    app_auth: AppAuth,
    key_pair: tuple[str, rsa.RSAPublicKey],
) -> None:
    router.add("POST", EXCHANGE, _token_answer("ghs_first", EXPIRES))
    router.add("GET", RUN, httpx.Response(200, json=recorded("workflow_run.json")))
    client = make_client(app_auth)

    client.get_run("acme/widgets", 7001)
    client.get_run("acme/widgets", 7001)

    exchange, first, second = router.requests
    assert (
        exchange.method == "POST" and exchange.url.path == "/app/installations/4242/access_tokens"
    )
    scheme, _, app_jwt = exchange.headers["authorization"].partition(" ")
    assert scheme == "Bearer"
    assert (
        jwt.decode(app_jwt, key_pair[1], algorithms=["RS256"], options={"verify_exp": False})["iss"]
        == "123456"
    )
    assert first.headers["authorization"] == second.headers["authorization"] == "token ghs_first"


def test_token_is_refreshed_five_minutes_before_expiry(
    make_client: Callable[..., GitHubClient], router: Router, app_auth: AppAuth, clock: Clock
) -> None:
    router.add(
        "POST",
        EXCHANGE,
        _token_answer("ghs_first", EXPIRES),
        _token_answer("ghs_second", EXPIRES + 3600),
    )
    router.add("GET", RUN, httpx.Response(200, json=recorded("workflow_run.json")))
    client = make_client(app_auth)

    client.get_run("acme/widgets", 7001)
    clock.now = EXPIRES - 301
    client.get_run("acme/widgets", 7001)
    clock.now = EXPIRES - 299
    client.get_run("acme/widgets", 7001)

    used = [r.headers["authorization"] for r in router.requests if r.method == "GET"]
    assert used == ["token ghs_first", "token ghs_first", "token ghs_second"]
    assert len(router.sent("/app/installations/4242/access_tokens")) == 2


def test_one_exchange_under_concurrency(
    make_client: Callable[..., GitHubClient], router: Router, app_auth: AppAuth
) -> None:
    def slow_exchange(request: httpx.Request) -> httpx.Response:
        time.sleep(0.05)  # widen the window in which a second exchange could start
        return _token_answer("ghs_shared", EXPIRES)

    router.add("POST", EXCHANGE, slow_exchange)
    router.add("GET", RUN, httpx.Response(200, json=recorded("workflow_run.json")))
    client = make_client(app_auth)
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def worker() -> None:
        barrier.wait()
        try:
            client.get_run("acme/widgets", 7001)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(router.sent("/app/installations/4242/access_tokens")) == 1
    gets = [r for r in router.requests if r.method == "GET"]
    assert len(gets) == 8 and {r.headers["authorization"] for r in gets} == {"token ghs_shared"}


def test_401_refreshes_the_token_once(
    make_client: Callable[..., GitHubClient], router: Router, app_auth: AppAuth
) -> None:
    router.add(
        "POST", EXCHANGE, _token_answer("ghs_revoked", EXPIRES), _token_answer("ghs_fresh", EXPIRES)
    )
    router.add(
        "GET",
        RUN,
        httpx.Response(401, json={"message": "Bad credentials"}),
        httpx.Response(200, json=recorded("workflow_run.json")),
    )
    assert make_client(app_auth).get_run("acme/widgets", 7001)["id"] == 7001
    used = [r.headers["authorization"] for r in router.requests if r.method == "GET"]
    assert used == ["token ghs_revoked", "token ghs_fresh"]


def test_failed_exchange_is_an_error_not_an_anonymous_call(
    make_client: Callable[..., GitHubClient], router: Router, app_auth: AppAuth
) -> None:
    router.add(
        "POST",
        EXCHANGE,
        httpx.Response(401, json={"message": "A JSON web token could not be decoded"}),
    )
    with pytest.raises(GitHubError, match="could not be decoded"):
        make_client(app_auth).get_run("acme/widgets", 7001)
    assert all(r.method == "POST" for r in router.requests)


def test_exchange_during_outage_is_retryable(
    make_client: Callable[..., GitHubClient], router: Router, app_auth: AppAuth
) -> None:
    from healer.github.exceptions import GitHubUnavailable

    router.add("POST", EXCHANGE, httpx.Response(503))
    with pytest.raises(GitHubUnavailable):
        make_client(app_auth).get_run("acme/widgets", 7001)


def test_credentials_stay_out_of_reprs(
    app_auth: AppAuth, key_pair: tuple[str, rsa.RSAPublicKey]
) -> None:
    assert "PRIVATE KEY" not in repr(app_auth)
    assert "ghp_secret" not in repr(TokenAuth("ghp_secret"))
    assert json.dumps(repr(app_auth))
