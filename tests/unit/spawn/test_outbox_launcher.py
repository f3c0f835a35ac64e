"""The outbox backend (create if absent, readable YAML), backend choice, and a cheap import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from functions.spawn.launcher import OutboxLauncher, launcher_for
from healer.errors import InvalidInput
from healer.settings import Settings

ROOT = Path(__file__).resolve().parents[3]


def manifest(prompt: str = "line one\nline two\n") -> dict[str, object]:
    return {
        "apiVersion": "agents.platform/v1",
        "kind": "CodeRun",
        "metadata": {"name": "healer-acme-widgets-7001-a1", "namespace": "cto"},
        "spec": {"prompt": prompt, "attempt": 1},
    }


def test_first_launch_writes_the_manifest_and_a_second_leaves_it(tmp_path: Path) -> None:
    outbox = OutboxLauncher(tmp_path / "outbox")
    first = outbox.launch(manifest())
    assert first.created and first.name == "healer-acme-widgets-7001-a1"
    path = Path(first.location)
    assert path == (tmp_path / "outbox" / "healer-acme-widgets-7001-a1.yaml").resolve()
    text = path.read_text()
    assert "prompt: |" in text  # the prompt reads as a block, not an escaped string
    assert yaml.safe_load(text) == manifest()
    second = outbox.launch(manifest(prompt="something else\n"))
    assert not second.created and second.location == first.location
    assert yaml.safe_load(path.read_text())["spec"]["prompt"] == "line one\nline two\n"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp files left


def test_backend_is_chosen_by_setting(tmp_path: Path) -> None:
    chosen = launcher_for(Settings(coderun_outbox=str(tmp_path)))
    assert isinstance(chosen, OutboxLauncher) and chosen.directory == tmp_path
    with pytest.raises(InvalidInput, match="outbox, kubernetes"):
        launcher_for(Settings(coderun_backend="nomad"))


def test_building_the_handler_leaves_kubernetes_and_http_clients_unloaded() -> None:
    probe = (
        "import json, sys\n"
        "from healer.services import Services\n"
        "from healer.settings import Settings\n"
        "from functions.spawn.main import create_function\n"
        "create_function(Services(Settings()))\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True, cwd=ROOT
    )
    loaded = set(json.loads(out.stdout.splitlines()[-1]))
    # (jinja2 arrives with flask, through functions_framework, so it is not checked here.)
    assert loaded & {"kubernetes", "httpx", "redis", "boto3", "yaml"} == set()
