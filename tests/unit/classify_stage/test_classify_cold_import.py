"""Importing the function and building its handler stays cheap: functions scale to zero."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
HEAVY = {"pydantic", "httpx", "redis", "boto3", "kubernetes"}


def loaded_after(statement: str) -> set[str]:
    probe = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    return {name.split(".")[0] for name in json.loads(out.stdout.splitlines()[-1])}


def test_the_entry_module_imports_nothing_heavy() -> None:
    assert loaded_after("import functions.classify.main") & HEAVY == set()


def test_building_the_handler_leaves_http_and_backend_clients_unloaded() -> None:
    loaded = loaded_after(
        "from healer.services import Services\n"
        "from healer.settings import Settings\n"
        "from functions.classify.main import create_function\n"
        "create_function(Services(Settings()))"
    )
    assert loaded & {"httpx", "redis", "boto3", "kubernetes"} == set()
