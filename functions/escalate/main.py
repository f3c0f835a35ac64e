"""Knative entry point of the escalate stage (functions-framework ``http`` signature)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import functions_framework

from healer.runtime import cloudevent_function, lazy_function
from healer.services import Services
from healer.settings import Settings

if TYPE_CHECKING:
    import flask

NAME = "escalate"


def create_function(services: Services | None = None) -> Callable[[flask.Request], flask.Response]:
    """The request handler: Discord from settings, GitHub and the stores from ``services``."""
    from functions.escalate.stage import Escalator

    return cloudevent_function(Escalator(services or Services(Settings.load())), name=NAME)


escalate = functions_framework.http(lazy_function("escalate", create_function))
