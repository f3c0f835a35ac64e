"""Where CodeRuns go: the Kubernetes API, or (embedded default) an outbox folder of manifests.

Every backend creates if absent: a CodeRun that already exists under the same deterministic
name counts as launched, so a redelivery never starts a second agent.
"""

from __future__ import annotations

import os
import tempfile
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from healer.errors import InvalidInput, PermanentError, RetryableError
from healer.settings import Settings


@dataclass(frozen=True)
class Launched:
    name: str
    location: str  # an outbox file, or kubernetes:<namespace>/coderuns/<name>
    created: bool  # False: it already existed (a redelivery)


class LaunchUnavailable(RetryableError):
    """The Kubernetes API (or the outbox disk) cannot take the CodeRun right now."""

    title = "CodeRun launch unavailable"


class LaunchForbidden(PermanentError):
    """The service account may not create CodeRuns; retrying cannot help."""

    status = 403
    title = "CodeRun launch forbidden"


class LaunchRejected(PermanentError):
    """The API refused the object (invalid, or the CodeRun CRD is not installed)."""

    status = 422
    title = "CodeRun rejected"


class Launcher(ABC):
    @abstractmethod
    def launch(self, manifest: dict[str, Any]) -> Launched:
        """Create the CodeRun unless one of that name exists."""


def _dump_yaml(manifest: dict[str, Any]) -> str:
    """YAML with multi-line strings (the prompt) as readable ``|`` blocks."""
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, text)
    return yaml.dump(manifest, Dumper=Dumper, sort_keys=False, allow_unicode=True, width=100)


class OutboxLauncher(Launcher):
    """Writes ``<directory>/<name>.yaml``; an existing file is left as it is."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def launch(self, manifest: dict[str, Any]) -> Launched:
        name = str(manifest["metadata"]["name"])
        path = (self.directory / f"{name}.yaml").resolve()
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            # Write aside, then link into place: the link fails if the name is taken, so two
            # deliveries racing never both "create", and a reader never sees half a file.
            fd, temp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=self.directory)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    out.write(_dump_yaml(manifest))
                os.link(temp, path)
                created = True
            except FileExistsError:
                created = False
            finally:
                os.unlink(temp)
        except OSError as exc:
            raise LaunchUnavailable(f"cannot write CodeRun {name} to {path}: {exc}") from exc
        return Launched(name=name, location=str(path), created=created)


BACKENDS = ("outbox", "kubernetes")


def launcher_for(settings: Settings) -> Launcher:
    """The backend ``coderun_backend`` names; the kubernetes client is imported only for it."""
    if settings.coderun_backend == "outbox":
        return OutboxLauncher(settings.coderun_outbox)
    if settings.coderun_backend == "kubernetes":
        from functions.spawn.kube import KubernetesLauncher

        return KubernetesLauncher.from_settings(settings)
    raise InvalidInput(
        f"coderun_backend {settings.coderun_backend!r} is not one of {', '.join(BACKENDS)}"
    )
