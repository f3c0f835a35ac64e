"""Knative entry point of the completion-check stage (functions-framework ``http`` signature)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import functions_framework

from healer.runtime import http_function, lazy_function
from healer.services import Services
from healer.settings import Settings

if TYPE_CHECKING:
    import flask

NAME = "completion-check"


def create_function(services: Services | None = None) -> Callable[[flask.Request], flask.Response]:
    """The request handler: CodeRun updates, CI results on fix branches, and the timeout sweep.

    It sees the raw request so that GitHub deliveries are verified over the bytes GitHub signed
    (see ``signed``)."""
    from functions.completion_check.signed import SignedWebhooks
    from functions.completion_check.stage import CompletionChecker

    services = services or Services(Settings.load())
    settings = services.settings
    handler = SignedWebhooks(
        CompletionChecker(services),
        secret=settings.webhook_secret,
        trust=settings.envelope_trust,
    )
    return http_function(handler, name=NAME, max_body_bytes=settings.max_body_bytes)


completion_check = functions_framework.http(lazy_function("completion_check", create_function))
