"""Knative entry point of the classify stage (functions-framework ``http`` signature)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import functions_framework

from healer.runtime import cloudevent_function, lazy_function
from healer.services import Services
from healer.settings import Settings

if TYPE_CHECKING:
    import flask

NAME = "classify"


def create_function(services: Services | None = None) -> Callable[[flask.Request], flask.Response]:
    """The request handler, with GitHub and the stores from ``services`` (built if absent)."""
    from functions.classify.stage import Classifier

    return cloudevent_function(Classifier(services or Services(Settings.load())), name=NAME)


classify = functions_framework.http(lazy_function("classify", create_function))
