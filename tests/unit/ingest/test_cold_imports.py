"""Importing ingest must stay cheap: heavy modules stay out until a request needs them."""

from __future__ import annotations

from probes import loaded_after

HEAVY = ("pydantic", "httpx", "redis", "boto3", "kubernetes", "jinja2")


def test_ingest_import_leaves_heavy_modules_unloaded() -> None:
    baseline = loaded_after("import functions_framework")
    loaded = loaded_after("import functions.ingest.main\nimport functions.ingest.handler")
    # functions-framework loads flask, which loads jinja2; nothing else heavy may come in.
    allowed = baseline & set(HEAVY)
    assert allowed <= {"jinja2"}
    assert (loaded & set(HEAVY)) - allowed == set()


def test_first_request_stays_free_of_pydantic_and_httpx(tmp_path: object) -> None:
    handle = f"""
import os
os.environ.update(HEALER_BLOB_DIR={str(tmp_path)!r}, HEALER_CONFIG="/nonexistent.json")
from functions_framework import create_app
app = create_app(target="ingest", source="functions/ingest/main.py", signature_type="http")
file = json.load(open("examples/deliveries/workflow_job-failure.json"))
response = app.test_client().post("/", headers=file["headers"], data=json.dumps(file["body"]))
assert response.status_code == 200, response.status_code
assert response.headers["ce-type"] == "dev.healer.failure.detected"
"""
    loaded = loaded_after(handle)
    assert {"pydantic", "httpx", "redis", "boto3", "botocore", "kubernetes"} & loaded == set()
