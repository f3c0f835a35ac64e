"""Knative entry point of the classify stage (functions-framework ``http`` signature)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import functions_framework

from healer.runtime import cloudevent_function
from healer.services import Services
from healer.settings import Settings

if TYPE_CHECKING:
    import flask

NAME = "classify"


def create_function(services: Services | None = None) -> Callable[[flask.Request], flask.Response]:
    """The request handler, with GitHub and the stores from ``services`` (built if absent)."""
    from functions.classify.stage import Classifier

    return cloudevent_function(Classifier(services or Services(Settings.load())), name=NAME)


_function: Callable[[flask.Request], flask.Response] | None = None


@functions_framework.http
def classify(request: flask.Request) -> flask.Response:
    global _function
    if _function is None:
        _function = create_function()
    return _function(request)
