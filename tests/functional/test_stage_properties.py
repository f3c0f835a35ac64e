"""Whatever arrives, every function answers 2xx or 4xx: never a 5xx, never a hang.

Each of the seven deployed entry points (functions-framework, configured by environment,
answering from recorded GitHub) gets arbitrary bytes and headers, arbitrary and deeply nested
JSON, real events with one field (branch, SHA, repository, ids, ...) or one CloudEvent
attribute replaced by something hostile, in binary and in structured mode. Runs are
derandomized so CI sees the same examples every time.
"""

from __future__ import annotations

import json
import re
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from completion_fixtures import context
from flask.testing import FlaskClient
from functions_framework import create_app
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from healer.models import FailureDetected, RemediationExhausted
from healer_dev.broker.finish import ci_event

ROOT = Path(__file__).resolve().parents[2]
STAGES = ["ingest", "classify", "gather", "spawn", "completion-check", "escalate", "status"]
HANG_SECONDS = 20

PROPERTY = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def clients(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, FlaskClient]]:
    tmp = tmp_path_factory.mktemp("properties")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HEALER_GITHUB_RECORDED_DIR", str(ROOT / "examples" / "github"))
        patch.setenv("HEALER_BLOB_DIR", str(tmp / "blobs"))
        patch.setenv("HEALER_CODERUN_OUTBOX", str(tmp / "outbox"))
        patch.setenv("HEALER_CONFIG", str(tmp / "absent.json"))
        patch.setenv("HEALER_MAX_BODY_BYTES", "65536")
        apps = {}
        for stage in STAGES:
            target = stage.replace("-", "_")
            source = ROOT / "functions" / target / "main.py"
            app = create_app(target=target, source=str(source), signature_type="http")
            apps[stage] = app.test_client()
        yield apps


# --- what each function is meant to receive (before it is spoiled) ---


def _seeds() -> dict[str, list[tuple[str, dict[str, Any]]]]:
    gathered = context().model_dump(mode="json")
    failure = gathered["classified"]["failure"]
    exhausted = RemediationExhausted(
        task_id="acme-widgets-7001",
        repository="acme/widgets",
        run_id=7001,
        attempts=[],
        context=context(),
    ).model_dump(mode="json")
    ci = ci_event("acme/widgets", "feature/parser", failure["head_sha"], "success", key="k")
    ci_data = ci.get_data()
    webhook = json.loads(ci_data) if isinstance(ci_data, (str, bytes)) else ci_data
    FailureDetected.model_validate(failure)
    return {
        "ingest": [("dev.healer.github.webhook", webhook)],
        "classify": [("dev.healer.failure.detected", failure)],
        "gather": [("dev.healer.failure.classified", gathered["classified"])],
        "spawn": [("dev.healer.context.gathered", gathered)],
        "completion-check": [
            ("dev.healer.github.webhook", webhook),
            ("dev.knative.sources.ping", {"sweep": "attempt-timeouts"}),
            (
                "dev.knative.apiserver.resource.update",
                {
                    "apiVersion": "agents.platform/v1",
                    "kind": "CodeRun",
                    "metadata": {"name": "healer-acme-widgets-7001-a1", "namespace": "cto"},
                    "status": {"phase": "Succeeded", "commits": [failure["head_sha"]]},
                },
            ),
        ],
        "escalate": [("dev.healer.remediation.exhausted", exhausted)],
        "status": [("dev.healer.failure.detected", failure)],
    }


SEEDS = _seeds()
PATHS = {"status": ["/dead-letter", "/api/status", "/api/status/acme-widgets-7001"]}

# --- strategies ---

HOSTILE = [
    "",
    "a\r\nX-Injected: 1",
    "a\nb",
    "\x00",
    "\ud800",
    "a\udfffb",
    "x" * 5000,
    "../../etc/passwd",
    "a..b",
    "-rf",
    "main~1^2:x?*[",
    "g" * 40,
    "3f78",
    "%0d%0a",
    "ü" * 300,
    "\u202etxt.exe",
    "refs/heads/../x",
    "https://evil.example/\r\n",
    "javascript:alert(1)",
]
hostile_text = st.sampled_from(HOSTILE) | st.text(max_size=40)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | hostile_text,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
deep = st.integers(min_value=60, max_value=5000).map(
    lambda n: json.loads("[" * 50 + "]" * 50) if n < 64 else {"__deep__": n}
)
values = json_values | hostile_text | deep
header_text = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=60)
attribute_values = st.sampled_from(HOSTILE[:4] + HOSTILE[6:]) | header_text | st.integers()
# the fields that end up in URLs, headers, file names and store keys
MATTER = re.compile(r"branch|sha|ref|repository|_id|^id$|url|number|commits|name|key|^\d+$")
ATTRIBUTES = ["id", "source", "type", "subject", "specversion", "time", "githubevent", "healerrepo"]


def leaf_paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += leaf_paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += leaf_paths(item, (*prefix, index))
    return found


def dumps(value: Any) -> str:
    """JSON text; ``{"__deep__": n}`` stands for ``n`` levels of nesting (too deep to build)."""
    text = json.dumps(value)
    while '{"__deep__": ' in text:
        start = text.index('{"__deep__": ')
        end = text.index("}", start)
        depth = int(text[start + 13 : end])
        text = text[:start] + "[" * depth + "]" * depth + text[end + 1 :]
    return text


def request(attributes: dict[str, Any], data: Any, structured: bool) -> tuple[dict[str, str], str]:
    if structured:
        body = '{"data": ' + dumps(data) + ", " + json.dumps(attributes)[1:]
        return {"Content-Type": "application/cloudevents+json"}, body
    headers = {f"ce-{name}": str(value) for name, value in attributes.items()}
    headers["Content-Type"] = "application/json"
    return headers, dumps(data)


@st.composite
def spoiled_events(draw: st.DrawFn, stage: str) -> tuple[str, dict[str, str], str]:
    """A real event for ``stage`` with one data field or one attribute replaced."""
    kind, data = draw(st.sampled_from(SEEDS[stage]))
    data = json.loads(json.dumps(data))
    attributes: dict[str, Any] = {
        "specversion": "1.0",
        "id": "p-1",
        "source": "tests",
        "type": kind,
        "subject": "acme/widgets#7001",
    }
    if draw(st.booleans()):
        paths = leaf_paths(data)
        matter = [p for p in paths if MATTER.search(str(p[-1]))] or paths
        target = draw(st.sampled_from(matter) | st.sampled_from(paths))
        holder = data
        for step in target[:-1]:
            holder = holder[step]
        holder[target[-1]] = draw(st.sampled_from(HOSTILE) | values)
    else:
        attributes[draw(st.sampled_from(ATTRIBUTES))] = draw(attribute_values)
    structured = draw(st.booleans())
    if not structured:  # a header value cannot carry these; the HTTP client refuses them
        attributes = {
            k: v.encode("utf-8", "replace").decode("latin-1", "replace")
            if isinstance(v, str)
            else v
            for k, v in attributes.items()
        }
        attributes = {
            k: v.replace("\r", "").replace("\n", "").replace("\x00", "")
            if isinstance(v, str)
            else v
            for k, v in attributes.items()
        }
    path = draw(st.sampled_from(PATHS.get(stage, ["/"])))
    headers, body = request(attributes, data, structured)
    return path, headers, body


arbitrary_headers = st.fixed_dictionaries(
    {},
    optional={
        "Content-Type": st.sampled_from(
            ["application/json", "application/cloudevents+json", "text/plain", ""]
        )
        | header_text,
        "ce-specversion": st.sampled_from(["1.0", "0.3"]) | header_text,
        "ce-id": header_text,
        "ce-type": header_text,
        "ce-source": header_text,
        "X-GitHub-Event": st.sampled_from(["workflow_run", "check_suite"]) | header_text,
        "X-Hub-Signature-256": header_text,
    },
)

# --- the property ---


@contextmanager
def no_hang(seconds: int = HANG_SECONDS) -> Iterator[None]:
    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def check(client: FlaskClient, path: str, headers: dict[str, str], body: str | bytes) -> None:
    with no_hang():
        response = client.post(path, headers=headers, data=body)
    status = response.status_code
    assert status < 500, (status, response.get_data()[:300])
    if status >= 400:
        assert response.mimetype == "application/problem+json", response.get_data()[:200]
    for name, value in response.headers.items():
        assert all(32 <= ord(c) < 127 for c in value), (name, value)


@pytest.mark.parametrize("stage", STAGES)
@PROPERTY
@given(data=st.data())
def test_spoiled_events(clients: dict[str, FlaskClient], stage: str, data: st.DataObject) -> None:
    path, headers, body = data.draw(spoiled_events(stage))
    check(clients[stage], path, headers, body)


@pytest.mark.parametrize("stage", STAGES)
@PROPERTY
@given(value=values, kind=st.sampled_from(["dev.healer.failure.detected", "x"]), mode=st.booleans())
def test_arbitrary_json(
    clients: dict[str, FlaskClient], stage: str, value: Any, kind: str, mode: bool
) -> None:
    attributes = {"specversion": "1.0", "id": "j-1", "source": "tests", "type": kind}
    headers, body = request(attributes, value, mode)
    path = PATHS.get(stage, ["/"])[0]
    check(clients[stage], path, headers, body)


@pytest.mark.parametrize("stage", STAGES)
@PROPERTY
@given(body=st.binary(max_size=1024), headers=arbitrary_headers)
def test_arbitrary_bytes(
    clients: dict[str, FlaskClient], stage: str, body: bytes, headers: dict[str, str]
) -> None:
    check(clients[stage], PATHS.get(stage, ["/"])[0], headers, body)
