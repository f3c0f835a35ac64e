"""The image tier's helpers. The image is built on this machine: a Debian base made with
debootstrap, then ``podman build``.

No image registry is needed: the base is debootstrapped from the machine's Debian mirror and
imported as ``localhost/healer-test-base:<key>``; the image is built on it by
``scripts/build-image.sh``. Both are tagged with a hash of their inputs and reused while those
are unchanged (the base's root filesystem is also kept as a tarball under
``.healer/image-cache/``), so only the first run pays for debootstrap and pip.

Without podman, debootstrap or root the tier skips on a laptop but fails in CI (``CI`` set).
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".healer" / "image-cache"
BASE_REPO = "localhost/healer-test-base"
IMAGE_REPO = "localhost/healer-test"
SUITE = "bookworm"
PACKAGES = "python3,python3-venv,ca-certificates"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
# What the image is built from: a change to any of these rebuilds it.
IMAGE_INPUTS = [
    "Containerfile",
    ".dockerignore",
    "pyproject.toml",
    "scripts/build-image.sh",
    "scripts/image-entrypoint.sh",
    "shared",
    "functions",
    "prompts",
]
CONTAINERS_CONF = """\
[engine]
runtime = "runc"

[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
"""


def missing(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}, and CI requires the image tests to run")
    pytest.skip(reason)


def debian_mirror() -> str:
    """The Debian archive this machine's apt uses (debootstrap reaches the same one)."""
    override = os.environ.get("HEALER_DEBIAN_MIRROR")
    if override:
        return override
    sources = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    for path in sources:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            continue
        for match in re.finditer(r"(?m)^(?:deb\s+(?:\[[^]]*\]\s+)?|URIs:\s*)(\S+)", text):
            uri = match.group(1).rstrip("/")
            if uri.startswith("http") and uri.endswith("/debian"):
                return uri
    return DEFAULT_MIRROR


def digest(parts: list[bytes]) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(len(part).to_bytes(8, "big"))
        hasher.update(part)
    return hasher.hexdigest()[:16]


def inputs_digest(base: str) -> str:
    parts = [base.encode()]
    for name in IMAGE_INPUTS:
        path = ROOT / name
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in files:
            if "__pycache__" in file.parts:
                continue
            parts += [str(file.relative_to(ROOT)).encode(), file.read_bytes()]
    return digest(parts)


@dataclass(frozen=True)
class Podman:
    """The podman CLI with this tier's own containers.conf (runc, rlimits the kernel allows)."""

    env: dict[str, str]

    def run(
        self, *args: str, timeout: float = 120, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["podman", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=check,
        )

    def image_exists(self, ref: str) -> bool:
        return self.run("image", "exists", ref, check=False).returncode == 0

    def drop_other_tags(self, repo: str, keep: str) -> None:
        """Remove this tier's older builds so repeated runs don't fill the disk. Without
        ``--force``: an image that also carries another tag (``healer:dev`` built from the same
        inputs has the same id) only loses this tier's tag."""
        listed = self.run("images", "--format", "{{.Repository}}:{{.Tag}}", repo, check=False)
        for ref in listed.stdout.split():
            if ref != keep:
                self.run("rmi", ref, check=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Container:
    name: str
    url: str
    podman: Podman

    def logs(self) -> str:
        out = self.podman.run("logs", self.name, check=False)
        return out.stdout + out.stderr

    def wait_ready(self, timeout: float = 60) -> httpx.Response:
        deadline = time.monotonic() + timeout
        while True:
            try:
                response = httpx.get(self.url + "/health/readiness", timeout=2)
                if response.status_code == 200:
                    return response
            except httpx.TransportError:
                pass
            running = self.podman.run(
                "inspect", "--format", "{{.State.Running}}", self.name, check=False
            )
            if running.stdout.strip() != "true" or time.monotonic() > deadline:
                raise AssertionError(f"{self.name} never became ready:\n{self.logs()}")
            time.sleep(0.1)
