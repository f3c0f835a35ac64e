"""Knative entry point of the status function (functions-framework ``http`` signature)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import functions_framework

from healer.runtime import lazy_function
from healer.services import Services
from healer.settings import Settings

if TYPE_CHECKING:
    import flask

NAME = "status"


def create_function(services: Services | None = None) -> Callable[[flask.Request], flask.Response]:
    """Read-only views of the state store, and the broker's dead-letter sink."""
    from functions.status.app import build

    return build(services or Services(Settings.load()), name=NAME)


status = functions_framework.http(lazy_function("status", create_function))
