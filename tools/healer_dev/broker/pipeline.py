"""Assemble the whole pipeline in one process: manifests, stage functions, sender, broker.

Every stage shares one ``Services`` (so the memory state store is shared too). Replay runs
offline by default: without GitHub credentials it reads recorded responses from
``examples/github``, and without a configured blob folder it writes to a temporary one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from healer.settings import Settings
from healer_dev.broker.local import LocalBroker
from healer_dev.broker.stages import StageSet, load_stages, repo_root, wsgi_apps
from healer_dev.broker.transport import HTTPXSender
from healer_dev.broker.triggers import Topology

if TYPE_CHECKING:
    from healer.services import Services
    from healer_dev.broker.hops import Hop

MANIFESTS = Path("knative") / "base"
RECORDED_GITHUB = Path("examples") / "github"
PUSHES = "github-pushes"
DEFAULT_PUSHES = Path(".healer") / PUSHES


def offline_settings(settings: Settings, root: Path, blob_dir: str | None = None) -> Settings:
    """Settings for local runs: recorded GitHub unless credentials are configured, and (given
    ``blob_dir``) a scratch blob folder unless one is configured."""
    default_blobs = settings.blob_backend == "file" and settings.blob_dir == Settings.blob_dir
    if blob_dir is not None and default_blobs:
        settings = replace(settings, blob_dir=blob_dir)
    has_credentials = settings.github_token or (settings.github_app_id and settings.private_key())
    if not settings.github_recorded_dir and not has_credentials:
        settings = replace(settings, github_recorded_dir=str(root / RECORDED_GITHUB))
    if settings.github_recorded_dir and not settings.github_pushes_dir:
        # What the offline tools "push" (healer finish, replay --agent-outcome): beside the
        # scratch blobs for one replay, else where healer dev and healer finish both see it.
        pushes = Path(blob_dir) / PUSHES if blob_dir is not None else DEFAULT_PUSHES
        settings = replace(settings, github_pushes_dir=str(pushes))
    return settings


@dataclass
class Pipeline:
    topology: Topology
    stages: StageSet
    broker: LocalBroker
    sender: HTTPXSender

    def close(self) -> None:
        self.sender.close()


def in_process(
    services: Services,
    *,
    root: Path | None = None,
    manifests: Path | None = None,
    backoff_scale: float = 0.0,
    sleep: Callable[[float], None] | None = None,
    on_hop: Callable[[Hop], None] | None = None,
) -> Pipeline:
    """Every stage as a WSGI app behind the local broker."""
    root = root or repo_root()
    topology = Topology.load(manifests or root / MANIFESTS)
    stages = load_stages(topology, services, root)
    sender = HTTPXSender.wsgi(wsgi_apps(stages.functions), topology.namespace)
    broker = LocalBroker(
        topology,
        sender,
        unavailable=stages.missing,
        backoff_scale=backoff_scale,
        on_hop=on_hop,
        sleep=sleep or time.sleep,
    )
    return Pipeline(topology, stages, broker, sender)
