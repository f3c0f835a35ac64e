"""The Kubernetes client configuration every backend that talks to the API server shares.

``kube_api_url`` wins when set (tests, a proxy), so a test can never reach a real cluster
through a developer's kubeconfig; then in-cluster config, then kubeconfig.
"""

from __future__ import annotations

from typing import Any

from healer.errors import HealerError
from healer.settings import Settings


class KubeUnconfigured(HealerError):
    """No Kubernetes API is configured or reachable by configuration."""


def kube_configuration(settings: Settings) -> Any:
    """A ``kubernetes.client.Configuration`` (the client is imported only here, lazily)."""
    import urllib3
    from kubernetes import client, config

    configuration = client.Configuration()
    if settings.kube_api_url:
        configuration.host = settings.kube_api_url.rstrip("/")
    else:
        try:
            config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        except config.ConfigException:
            try:
                config.load_kube_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
            except (config.ConfigException, OSError) as exc:
                raise KubeUnconfigured(
                    f"not in a cluster, no usable kubeconfig ({exc}) and kube_api_url is empty"
                ) from exc
    # Retry only connections that never reached the server: a write that may have landed is
    # not resent blindly (callers re-read, or the broker's retry meets a 409).
    configuration.retries = urllib3.Retry(total=2, connect=2, read=0, status=0, redirect=0)
    return configuration
