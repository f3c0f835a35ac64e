"""Typed settings, read once per instance from ``healer-config.json`` and ``HEALER_*`` variables.

The seed's config keys (``cli``, ``model``, ``max_attempts``, ``time_window_mins``,
``memory_url``, ``memory_enabled``) keep their meaning. Environment variables win over the file.
Logic never reads ``os.environ``: adapters build a ``Settings`` and pass values in.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from healer.errors import InvalidInput

CONFIG_ENV = "HEALER_CONFIG"
DEFAULT_CONFIG_FILE = "healer-config.json"
# How a GitHub delivery inside an Argo Events envelope is trusted (see healer.webhooks.trust):
# "verify" checks X-Hub-Signature-256 over the envelope's body; "argo" accepts envelopes in the
# form Argo's EventSource produces, because that EventSource checked GitHub's signature and
# re-encoded the body (the signed bytes are gone by the time an envelope reaches a stage).
ENVELOPE_TRUST_MODES = ("verify", "argo")
# Settings that name one of a few backends or modes: anything else is refused at load.
CHOICES: dict[str, tuple[str, ...]] = {
    "state_backend": ("memory", "redis", "configmap"),
    "blob_backend": ("file", "s3"),
    "coderun_backend": ("outbox", "kubernetes"),
    "envelope_trust": ENVELOPE_TRUST_MODES,
}
# Lowest accepted value of each number; a limit of 0 or less would silently disable its stage.
MINIMUM: dict[str, float] = {
    "max_attempts": 1,
    "time_window_mins": 0,  # 0: no branch window
    "max_body_bytes": 1024,
    "configmap_shards": 1,
    "max_concurrent": 1,
    "attempt_timeout_mins": 1,
    "breaker_threshold": 0,  # 0 turns the breaker off
    "breaker_window_mins": 1,
    "breaker_open_mins": 1,
    "github_timeout": 0.1,
    "extras_timeout": 0.1,
    "kube_timeout": 0.1,
    "discord_timeout": 0.1,
}
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


@dataclass(frozen=True)
class Settings:
    """Everything configurable. Defaults are the embedded, laptop-friendly setup."""

    # The seed's keys.
    cli: str = "claude"
    model: str = "claude-sonnet-4-5"
    max_attempts: int = 3
    time_window_mins: int = 10
    memory_url: str = ""
    memory_enabled: bool = False

    # Ingest.
    webhook_secret: str = field(default="", repr=False)
    max_body_bytes: int = 1024 * 1024
    repo_allow: tuple[str, ...] = ()
    branch_include: tuple[str, ...] = ()
    branch_exclude: tuple[str, ...] = ()
    allow_fork_prs: bool = False
    ignore_bots: bool = True
    broker_url: str = ""  # where HTTP-only callers' events are forwarded (seed API paths)
    envelope_trust: str = "verify"  # verify | argo (ENVELOPE_TRUST_MODES)

    # Stores.
    state_backend: str = "memory"  # memory | redis | configmap
    redis_url: str = field(default="redis://localhost:6379/0", repr=False)  # may hold a password
    blob_backend: str = "file"  # file | s3
    blob_dir: str = ".healer/blobs"
    s3_bucket: str = "healer"
    s3_endpoint: str = ""
    s3_region: str = "us-east-1"
    s3_prefix: str = ""

    # GitHub.
    github_api_url: str = "https://api.github.com"
    github_token: str = field(default="", repr=False)
    github_app_id: str = ""
    github_installation_id: str = ""
    github_private_key: str = field(default="", repr=False)
    github_private_key_path: str = ""
    github_timeout: float = 10.0
    github_recorded_dir: str = ""  # serve recorded responses from here instead of the network
    github_pushes_dir: str = ""  # offline only: commits the local tools "pushed" (see recorded)

    # Gather extras.
    argocd_url: str = ""
    argocd_token: str = field(default="", repr=False)
    loki_url: str = ""
    extras_timeout: float = 5.0

    # Kubernetes.
    namespace: str = "cto"
    coderun_outbox: str = ".healer/outbox"
    configmap_name: str = "healer-state"  # the configmap state backend's ConfigMap
    configmap_shards: int = 1  # >1 spreads keys over name-0 … name-N-1 by key hash
    kube_api_url: str = ""  # explicit API server URL (tests, kubectl proxy); else in-cluster
    kube_timeout: float = 5.0

    # Spawn.
    max_concurrent: int = 10  # CodeRuns running at once, across every repository
    coderun_backend: str = "outbox"  # outbox (write manifests to coderun_outbox) | kubernetes
    allow_default_branch_push: bool = False  # else work on healer/<task> off the default branch
    allow_protected_branch_push: bool = False  # else work on healer/<task> off a protected one
    coderun_service: str = "healer"  # the CodeRun's spec.service
    # A fix or ``unsure`` verdict below this confidence starts no agent (0 acts on every one).
    min_confidence: float = 0.35

    # Completion-check.
    attempt_timeout_mins: int = 60  # a running attempt older than this is timed out (ping sweep)
    alternate_agent: str = ""  # who takes over when one specialist failed twice ("": fallback)
    breaker_threshold: int = 5  # this many failed attempts in a row, across tasks, open it
    breaker_window_mins: int = 60  # ... counted from the first of them
    breaker_open_mins: int = 30  # how long breaker:open stays set

    # Escalate.
    discord_webhook_url: str = field(default="", repr=False)  # "" turns the Discord channel off
    discord_timeout: float = 10.0

    def __post_init__(self) -> None:
        trust = self.envelope_trust.strip().lower()
        if trust not in ENVELOPE_TRUST_MODES:
            raise InvalidInput(
                f"setting envelope_trust={self.envelope_trust!r} is not one of "
                f"{', '.join(ENVELOPE_TRUST_MODES)} (HEALER_ENVELOPE_TRUST)"
            )
        object.__setattr__(self, "envelope_trust", trust)

    @classmethod
    def load(
        cls,
        environ: Mapping[str, str] | None = None,
        config_path: str | os.PathLike[str] | None = None,
    ) -> Settings:
        """Defaults, then the JSON file (if any), then ``HEALER_<FIELD>`` variables, checked:
        a malformed value, an unknown backend or a limit out of range is ``InvalidInput``
        naming every bad setting, so a command or a readiness probe fails at start."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        path = Path(config_path or env.get(CONFIG_ENV) or DEFAULT_CONFIG_FILE)
        if path.is_file():
            try:
                loaded = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise InvalidInput(f"config file {path} is not valid JSON: {exc}") from exc
            if not isinstance(loaded, dict):
                raise InvalidInput(f"config file {path} must hold a JSON object")
            known = {f.name for f in fields(cls)}
            unknown = sorted(set(loaded) - known)
            if unknown:
                logging.getLogger("healer.settings").warning(
                    "config file %s: ignoring unknown keys %s", path, ", ".join(unknown)
                )
            values.update({k: v for k, v in loaded.items() if k in known})
        origin = {name: f"in {path}" for name in values}
        for f in fields(cls):
            raw = env.get(f"HEALER_{f.name.upper()}")
            if raw is not None:
                values[f.name] = raw
                origin[f.name] = f"from HEALER_{f.name.upper()}"
        coerced: dict[str, Any] = {}
        problems: list[str] = []
        for f in fields(cls):
            if f.name not in values:
                continue
            try:
                coerced[f.name] = _coerce(f.name, f.type, values[f.name])
                if f.name in CHOICES:
                    coerced[f.name] = coerced[f.name].strip().lower()
            except InvalidInput as exc:
                problems.append(f"{exc} ({origin[f.name]})")
                continue
            problem = _check(f.name, coerced[f.name])
            if problem:
                problems.append(f"{problem} ({origin[f.name]})")
        if problems:
            raise InvalidInput("invalid settings: " + "; ".join(problems))
        return cls(**coerced)

    def private_key(self) -> str:
        """The GitHub App key, inline or from its file."""
        if self.github_private_key:
            return self.github_private_key
        if self.github_private_key_path:
            return Path(self.github_private_key_path).read_text(encoding="utf-8")
        return ""


def _check(name: str, value: Any) -> str:
    """What is wrong with a coerced value ("" when nothing)."""
    choices = CHOICES.get(name)
    if choices and value not in choices:
        return f"{name}={value!r} is not one of {', '.join(choices)}"
    lowest = MINIMUM.get(name)
    if lowest is not None and value < lowest:
        return f"{name}={value!r} must be at least {lowest:g}"
    return ""


def _shown(name: str, value: Any) -> str:
    """The value for an error message; secrets (fields kept out of ``repr``) are never echoed."""
    hidden = {f.name for f in fields(Settings) if not f.repr}
    return "(hidden)" if name in hidden else repr(value)


def _coerce(name: str, kind: object, value: Any) -> Any:
    """``value`` as the field's type; malformed text is refused, never guessed at."""
    kind = str(kind)
    bad = InvalidInput(f"setting {name}={_shown(name, value)} is not a valid {kind}")
    if kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        raise InvalidInput(
            f"setting {name}={_shown(name, value)} is not a boolean (true/false, 1/0, yes/no, "
            "on/off)"
        )
    if kind in ("int", "float") and isinstance(value, bool):
        raise bad
    try:
        if kind == "int":
            if isinstance(value, float) and not value.is_integer():
                raise bad
            return int(value)
        if kind == "float":
            number = float(value)
            if not math.isfinite(number):
                raise bad
            return number
        if kind.startswith("tuple"):
            if isinstance(value, str):
                return _split(value)
            if not isinstance(value, list | tuple):
                raise bad
            return tuple(str(v) for v in value)
    except (TypeError, ValueError) as exc:
        raise bad from exc
    if isinstance(value, dict | list):
        raise bad
    return str(value)
