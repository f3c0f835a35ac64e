"""``healer dev``: every function on its own localhost port, and the broker ingress in front.

All servers run in one process (threads) and share one ``Services``, so the memory state store
works across stages exactly as in replay; deliveries go over real HTTP.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from healer_dev.broker.local import LocalBroker
from healer_dev.broker.pipeline import MANIFESTS
from healer_dev.broker.server import ingress_app
from healer_dev.broker.stages import load_stages, repo_root, wsgi_app
from healer_dev.broker.transport import HTTPXSender
from healer_dev.broker.triggers import Topology

if TYPE_CHECKING:
    from werkzeug.serving import BaseWSGIServer

    from healer.services import Services
    from healer_dev.broker.hops import Hop


@dataclass
class DevServer:
    ingress_url: str
    stage_urls: dict[str, str]
    missing: dict[str, str]
    broker: LocalBroker
    _servers: list[BaseWSGIServer] = field(default_factory=list, repr=False)
    _threads: list[threading.Thread] = field(default_factory=list, repr=False)

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        sender = self.broker.sender
        if isinstance(sender, HTTPXSender):
            sender.close()


def _serve(server: BaseWSGIServer, dev: DevServer) -> None:
    thread = threading.Thread(
        target=server.serve_forever, name=f"healer-dev-{server.port}", daemon=True
    )
    thread.start()
    dev._servers.append(server)
    dev._threads.append(thread)


def start(
    services: Services,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    root: Path | None = None,
    backoff_scale: float = 1.0,
    on_hop: Callable[[Hop], None] | None = None,
) -> DevServer:
    """Start the servers; ``port`` 0 picks free ports (tests), else stages use port+1, port+2…"""
    from werkzeug.serving import make_server

    root = root or repo_root()
    topology = Topology.load(root / MANIFESTS)
    stages = load_stages(topology, services, root)
    servers = {}
    for i, (name, function) in enumerate(sorted(stages.functions.items()), start=1):
        servers[name] = make_server(
            host, port + i if port else 0, wsgi_app(name, function), threaded=True
        )
    urls = {name: f"http://{host}:{server.port}" for name, server in servers.items()}
    sender = HTTPXSender.http(urls)
    broker = LocalBroker(
        topology, sender, unavailable=stages.missing, backoff_scale=backoff_scale, on_hop=on_hop
    )
    info = {
        "services": urls,
        "unavailable": stages.missing,
        "triggers": [t.name for t in topology.triggers],
    }
    app = ingress_app(broker, info, max_body_bytes=services.settings.max_body_bytes)
    ingress = make_server(host, port, app, threaded=True)
    dev = DevServer(f"http://{host}:{ingress.port}", urls, dict(stages.missing), broker)
    for server in servers.values():
        _serve(server, dev)
    _serve(ingress, dev)
    return dev
