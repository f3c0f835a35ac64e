"""Build the configured stores once per instance (heavy clients imported only when chosen)."""

from __future__ import annotations

from dataclasses import replace

from healer.errors import InvalidInput
from healer.settings import Settings
from healer.stores.blob import BlobStore
from healer.stores.state import StateStore


def blob_store(settings: Settings) -> BlobStore:
    if settings.blob_backend == "file":
        from healer.stores.file import FileBlobStore

        return FileBlobStore(settings.blob_dir)
    if settings.blob_backend == "s3":
        from healer.stores.s3 import S3BlobStore

        return S3BlobStore.from_settings(settings)
    raise InvalidInput(f"blob_backend {settings.blob_backend!r} is not one of: file, s3")


def state_store(settings: Settings, *, timeout: float | None = None) -> StateStore:
    """The configured backend; ``timeout`` (seconds) caps its network waits, e.g. for a probe."""
    if settings.state_backend == "memory":
        from healer.stores.memory import MemoryStateStore

        return MemoryStateStore()
    if settings.state_backend == "redis":
        from healer.stores.redis import RedisStateStore

        if timeout is None:
            return RedisStateStore.from_url(settings.redis_url)
        return RedisStateStore.from_url(settings.redis_url, timeout=timeout)
    if settings.state_backend == "configmap":
        from healer.stores.configmap import ConfigMapStateStore

        if timeout is not None:
            settings = replace(settings, kube_timeout=min(settings.kube_timeout, timeout))
        return ConfigMapStateStore.from_settings(settings)
    raise InvalidInput(
        f"state_backend {settings.state_backend!r} is not one of: memory, redis, configmap"
    )
