"""Importing a function and building its handler stays cheap: functions scale to zero."""

from __future__ import annotations

import pytest
from probes import loaded_after

CLIENTS = {"httpx", "redis", "boto3", "botocore", "kubernetes"}


@pytest.mark.parametrize(
    "stage", ["ingest", "classify", "gather", "spawn", "completion_check", "escalate"]
)
def test_the_entry_module_imports_no_models_or_clients(stage: str) -> None:
    assert loaded_after(f"import functions.{stage}.main") & (CLIENTS | {"pydantic"}) == set()


@pytest.mark.parametrize(
    "stage", ["ingest", "classify", "gather", "spawn", "completion_check", "escalate"]
)
def test_building_the_handler_leaves_http_and_backend_clients_unloaded(stage: str) -> None:
    loaded = loaded_after(
        "from healer.services import Services\n"
        "from healer.settings import Settings\n"
        f"from functions.{stage}.main import create_function\n"
        "create_function(Services(Settings()))"
    )
    assert loaded & CLIENTS == set()
