"""Knative entry point of the spawn stage (functions-framework ``http`` signature)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import functions_framework

from healer.runtime import cloudevent_function, lazy_function
from healer.services import Services
from healer.settings import Settings

if TYPE_CHECKING:
    import flask

NAME = "spawn"


def create_function(services: Services | None = None) -> Callable[[flask.Request], flask.Response]:
    """The request handler, with the stores, GitHub and the CodeRun launcher from settings."""
    from functions.spawn.stage import Spawner

    return cloudevent_function(Spawner(services or Services(Settings.load())), name=NAME)


spawn = functions_framework.http(lazy_function("spawn", create_function))
