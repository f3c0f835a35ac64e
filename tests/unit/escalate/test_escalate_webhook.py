"""Posting to Discord: what counts as sent, retryable, or refused for good; the URL never leaks."""

from __future__ import annotations

import httpx
import pytest
from escalate_fixtures import WEBHOOK, Discord

from functions.escalate.webhook import (
    DiscordRateLimited,
    DiscordRejected,
    DiscordUnavailable,
    DiscordWebhook,
)

PAYLOAD = {"content": "hi", "allowed_mentions": {"parse": []}}


def test_a_post_waits_for_the_message_and_returns_its_id(discord: Discord) -> None:
    assert discord.webhook().post(PAYLOAD) == "m1"
    (request,) = discord.requests
    assert request.method == "POST" and request.url.params["wait"] == "true"
    assert request.headers["content-type"] == "application/json"
    assert discord.posted == [PAYLOAD]


def test_a_short_rate_limit_is_waited_out_once(discord: Discord) -> None:
    discord.answers = [httpx.Response(429, json={"retry_after": 0.4, "global": False})]
    assert discord.webhook().post(PAYLOAD) == "m1"
    assert discord.slept == [0.4] and len(discord.requests) == 2


def test_a_long_rate_limit_goes_back_to_the_broker(discord: Discord) -> None:
    discord.answers = [httpx.Response(429, json={"retry_after": 37.5})]
    with pytest.raises(DiscordRateLimited) as caught:
        discord.webhook().post(PAYLOAD)
    assert caught.value.status == 429 and caught.value.retry_after == 37.5
    assert discord.slept == [] and len(discord.requests) == 1


def test_rate_limited_twice_in_a_row_is_not_waited_twice(discord: Discord) -> None:
    discord.answers = [httpx.Response(429, json={"retry_after": 0.2})] * 2
    with pytest.raises(DiscordRateLimited) as caught:
        discord.webhook().post(PAYLOAD)
    assert caught.value.retry_after == 1.0 and discord.slept == [0.2]


def test_retry_after_header_when_the_body_has_none(discord: Discord) -> None:
    discord.answers = [httpx.Response(429, text="slow down", headers={"Retry-After": "12"})]
    with pytest.raises(DiscordRateLimited) as caught:
        discord.webhook().post(PAYLOAD)
    assert caught.value.retry_after == 12.0


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(502, text="bad gateway"),
        httpx.Response(503, json={"message": "overloaded"}),
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
    ],
)
def test_outages_are_retryable(discord: Discord, answer: httpx.Response | Exception) -> None:
    discord.answers = [answer]
    with pytest.raises(DiscordUnavailable) as caught:
        discord.webhook().post(PAYLOAD)
    assert caught.value.status == 503
    assert "very-secret-token" not in str(caught.value) and caught.value.__cause__ is None


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_other_client_errors_are_permanent_and_say_why(discord: Discord, status: int) -> None:
    discord.answers = [httpx.Response(status, json={"message": "Unknown Webhook", "code": 10015})]
    with pytest.raises(DiscordRejected) as caught:
        discord.webhook().post(PAYLOAD)
    assert caught.value.status == 422 and "Unknown Webhook" in str(caught.value)
    assert "very-secret-token" not in str(caught.value)


@pytest.mark.parametrize(
    "url", ["http://discord.com/api/webhooks/1/x", "https://evil.example/api/webhooks/1/x", ""]
)
def test_only_discord_webhook_urls(url: str) -> None:
    with pytest.raises(DiscordRejected) as caught:
        DiscordWebhook(url)
    assert url == "" or url not in str(caught.value)


def test_the_real_url_is_accepted() -> None:
    DiscordWebhook(WEBHOOK).close()
