"""Knative entry point of the ingest stage (functions-framework ``http`` signature).

Run it with ``functions-framework --source functions/ingest/main.py --target ingest``.
The import path stays light (no pydantic, httpx or store clients) because ingest is the
stage a cold GitHub delivery waits on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import functions_framework

from healer.runtime import http_function, lazy_function
from healer.services import Services
from healer.settings import Settings

if TYPE_CHECKING:
    import flask

    from healer.forward import Emit

NAME = "ingest"


def create_function(
    services: Services | None = None, *, emit: Emit | None = None
) -> Callable[[flask.Request], flask.Response]:
    """The request handler, with the stores from ``services`` (built from settings if absent);
    ``emit`` forwards the seed paths' events (default: POST to ``broker_url`` when set)."""
    from functions.ingest.handler import Ingest

    services = services or Services(Settings.load())
    handler = Ingest(services, emit=emit)
    return http_function(handler, name=NAME, max_body_bytes=services.settings.max_body_bytes)


ingest = functions_framework.http(lazy_function("ingest", create_function))
