"""Knative entry point of the gather stage (functions-framework ``http`` signature)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import functions_framework

from healer.runtime import cloudevent_function, lazy_function
from healer.services import Services
from healer.settings import Settings

if TYPE_CHECKING:
    import flask

NAME = "gather"


def create_function(services: Services | None = None) -> Callable[[flask.Request], flask.Response]:
    """The request handler, with GitHub, the stores and the extras' settings from ``services``."""
    from functions.gather.stage import Gatherer

    return cloudevent_function(Gatherer(services or Services(Settings.load())), name=NAME)


gather = functions_framework.http(lazy_function("gather", create_function))
