"""Finding and building the stage functions the Knative Services in ``knative/`` run.

A Service is reachable locally only when its ``functions/<pkg>/main.py`` exists and defines
``create_function``; otherwise the broker reports deliveries to it as undeliverable, with why.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import flask

    from healer.services import Services
    from healer_dev.broker.triggers import Topology

StageFunction = Callable[["flask.Request"], "flask.Response"]
_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def repo_root() -> Path:
    """The checkout holding ``knative/``, ``functions/`` and ``examples/``."""
    import healer

    return Path(healer.__file__).resolve().parents[2]


@dataclass
class StageSet:
    functions: dict[str, StageFunction] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)


def load_stage(root: Path, package: str, source: str, services: Services) -> StageFunction | str:
    """The built function, or a sentence saying why it cannot be built."""
    if not (root / source).is_file():
        return f"{source} does not exist yet"
    try:
        module = importlib.import_module(f"functions.{package}.main")
    except Exception as exc:
        return f"functions.{package}.main failed to import: {type(exc).__name__}: {exc}"
    factory = getattr(module, "create_function", None)
    if not callable(factory):
        return f"{source} has no create_function"
    try:
        function = factory(services)
    except Exception as exc:
        return f"functions.{package}.main.create_function failed: {type(exc).__name__}: {exc}"
    if not callable(function):
        return f"functions.{package}.main.create_function did not return a function"
    return function  # type: ignore[no-any-return]


def load_stages(topology: Topology, services: Services, root: Path | None = None) -> StageSet:
    root = root or repo_root()
    stages = StageSet()
    for name, manifest in sorted(topology.services.items()):
        built = load_stage(root, manifest.package, manifest.source, services)
        if isinstance(built, str):
            stages.missing[name] = built
        else:
            stages.functions[name] = built
    return stages


def wsgi_app(name: str, function: StageFunction) -> flask.Flask:
    """A Flask app sending every path and method to ``function``, as functions-framework's
    ``http`` signature does."""
    import flask

    app = flask.Flask(f"healer-{name}")

    def view(path: str = "") -> flask.Response:
        return function(flask.request)

    app.add_url_rule("/", "function", view, defaults={"path": ""}, methods=_METHODS)
    app.add_url_rule("/<path:path>", "function", view, methods=_METHODS)
    return app


def wsgi_apps(functions: Mapping[str, StageFunction]) -> dict[str, flask.Flask]:
    return {name: wsgi_app(name, fn) for name, fn in functions.items()}
