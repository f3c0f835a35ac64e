"""Fixtures of the image tier: podman with its own containers.conf, the base, the image."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from image_support import (
    BASE_REPO,
    CACHE,
    CONTAINERS_CONF,
    IMAGE_REPO,
    PACKAGES,
    ROOT,
    SUITE,
    Container,
    Podman,
    debian_mirror,
    digest,
    free_port,
    inputs_digest,
    missing,
)


@pytest.fixture(scope="session")
def podman(tmp_path_factory: pytest.TempPathFactory) -> Podman:
    if shutil.which("podman") is None:
        missing("podman is not installed (scripts/setup.sh installs it)")
    if os.geteuid() != 0:
        missing("the image tests run podman as root")
    conf = tmp_path_factory.mktemp("podman") / "containers.conf"
    conf.write_text(CONTAINERS_CONF, encoding="utf-8")
    return Podman({**os.environ, "CONTAINERS_CONF": str(conf)})


@pytest.fixture(scope="session")
def base_image(podman: Podman) -> str:
    """A Debian bookworm root filesystem with python3, imported as a local image."""
    mirror = debian_mirror()
    key = digest([SUITE.encode(), PACKAGES.encode(), b"minbase"])
    ref = f"{BASE_REPO}:{key}"
    if podman.image_exists(ref):
        return ref
    CACHE.mkdir(parents=True, exist_ok=True)
    tarball = CACHE / f"base-{key}.tar"
    if not tarball.is_file():
        if shutil.which("debootstrap") is None:
            missing("debootstrap is not installed (scripts/setup.sh installs it)")
        with tempfile.TemporaryDirectory(prefix="rootfs-", dir=CACHE) as rootfs:
            subprocess.run(
                [
                    "debootstrap",
                    "--variant=minbase",
                    f"--include={PACKAGES}",
                    SUITE,
                    rootfs,
                    mirror,
                ],
                check=True,
                capture_output=True,
                timeout=900,
            )
            partial = tarball.with_suffix(".partial")
            subprocess.run(["tar", "-C", rootfs, "-cf", str(partial), "."], check=True, timeout=300)
            partial.rename(tarball)
    podman.run("import", str(tarball), ref, timeout=300)
    podman.drop_other_tags(BASE_REPO, ref)
    return ref


@pytest.fixture(scope="session")
def image(podman: Podman, base_image: str) -> str:
    """The project's image, built by scripts/build-image.sh on the local base."""
    ref = f"{IMAGE_REPO}:{inputs_digest(base_image)}"
    if podman.image_exists(ref):
        return ref
    env = {**podman.env, "BASE_IMAGE": base_image, "CONTAINER_ENGINE": "podman"}
    host_ca = os.environ.get("PIP_CERT") or "/etc/ssl/certs/ca-certificates.crt"
    if Path(host_ca).is_file():
        env["BUILD_CA_BUNDLE"] = host_ca
    built = subprocess.run(
        [str(ROOT / "scripts" / "build-image.sh"), ref],
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert built.returncode == 0, built.stdout[-4000:] + built.stderr[-4000:]
    podman.drop_other_tags(IMAGE_REPO, ref)
    return ref


@pytest.fixture
def start(podman: Podman, image: str) -> Iterator[object]:
    """Start a stage of the image on a free loopback port (host network); removed afterwards."""
    started: list[str] = []

    def run(stage: str, **env: str) -> Container:
        port = free_port()
        name = f"healer-test-{stage}-{uuid.uuid4().hex[:8]}"
        flags = ["-e", f"HEALER_FUNCTION={stage}", "-e", f"PORT={port}"]
        for key, value in env.items():
            flags += ["-e", f"{key}={value}"]
        podman.run("run", "--detach", "--name", name, "--network", "host", *flags, image)
        started.append(name)
        return Container(name, f"http://127.0.0.1:{port}", podman)

    yield run
    for name in started:
        podman.run("rm", "--force", "--time", "0", name, check=False)
