"""Named regressions: hostile input that once made a function answer 500 or hang.

Each case is posted to the deployed entry points (functions-framework) or, where the fault was
in the HTTP stack itself, over a real socket to a werkzeug server as ``healer dev`` runs them.
"""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cloudevents.conversion import to_binary, to_structured
from cloudevents.http import CloudEvent, from_http
from completion_fixtures import context
from event_data import data_of
from flask.testing import FlaskClient
from functions_framework import create_app
from pydantic import ValidationError
from werkzeug.serving import make_server

from healer.models import FailureDetected, PullRequestInfo, RemediationSucceeded
from healer.runtime import Reply, cloudevent_function
from healer.stores import keys
from healer.wire import MAX_DEPTH
from healer_dev.broker.finish import ci_event

ROOT = Path(__file__).resolve().parents[2]
STAGES = ["ingest", "classify", "gather", "spawn", "completion-check", "escalate", "status"]
HEAD = "3f786850e387550fdab836ed7e6dc881de23001b"
HOSTILE_BRANCHES = ["a\r\nX-Injected: 1", "a\x00b", "\ud800", "b" * 5000, "a..b", "-rf", "a b"]
HOSTILE_SHAS = ["a\r\nb", "\ud800", "g" * 40, "3f78", "3f78" * 2000]


def app(stage: str, tmp: Path) -> FlaskClient:
    source = ROOT / "functions" / stage.replace("-", "_") / "main.py"
    target = stage.replace("-", "_")
    client: FlaskClient = create_app(
        target=target, source=str(source), signature_type="http"
    ).test_client()
    return client


@pytest.fixture(scope="module")
def clients(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, FlaskClient]]:
    tmp = tmp_path_factory.mktemp("hostile")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HEALER_GITHUB_RECORDED_DIR", str(ROOT / "examples" / "github"))
        patch.setenv("HEALER_BLOB_DIR", str(tmp / "blobs"))
        patch.setenv("HEALER_CODERUN_OUTBOX", str(tmp / "outbox"))
        patch.setenv("HEALER_CONFIG", str(tmp / "absent.json"))
        yield {stage: app(stage, tmp) for stage in STAGES}


def assert_4xx_problem(response: Any) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.get_data()[:300])
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == response.status_code


def post(client: FlaskClient, event: CloudEvent, *, structured: bool, path: str = "/") -> Any:
    headers, body = (to_structured if structured else to_binary)(event)
    return client.post(path, headers=dict(headers), data=body)


def ce(kind: str, data: Any, **attributes: str) -> CloudEvent:
    return CloudEvent({"type": kind, "source": "tests", "id": "h-1", **attributes}, data)


def failure(**fields: Any) -> dict[str, Any]:
    detected = {
        "repository": "acme/widgets",
        "event": "workflow_job",
        "run_id": 7001,
        "job_id": 90001,
        "head_sha": HEAD,
        "head_branch": "feature/parser",
        "pull_requests": [42],
    }
    return {**detected, **fields}


def gathered(**failure_fields: Any) -> dict[str, Any]:
    data = context().model_dump(mode="json")
    data["classified"]["failure"].update(failure_fields)
    return data


# --- deep nesting: RecursionError before any signature check ---


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("structured", [True, False], ids=["structured", "binary"])
def test_deeply_nested_json_is_400_at_every_function(
    clients: dict[str, FlaskClient], stage: str, structured: bool
) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    path = "/dead-letter" if stage == "status" else "/"
    if structured:
        body = b'{"specversion":"1.0","id":"x","source":"s","type":"t","data":' + deep + b"}"
        headers = {"Content-Type": "application/cloudevents+json"}
    else:
        body = deep
        headers = {
            "Content-Type": "application/json",
            "ce-specversion": "1.0",
            "ce-id": "x",
            "ce-source": "s",
            "ce-type": "dev.healer.failure.detected",
        }
    response = clients[stage].post(path, headers=headers, data=body)
    assert_4xx_problem(response)
    assert "nests deeper than" in response.get_json()["detail"]


def test_nesting_inside_base64_data_is_400(clients: dict[str, FlaskClient]) -> None:
    import base64

    inner = b"[" * 50_000 + b"]" * 50_000
    body = {
        "specversion": "1.0",
        "id": "x",
        "source": "s",
        "type": "dev.healer.failure.detected",
        "data_base64": base64.b64encode(inner).decode(),
    }
    response = clients["classify"].post(
        "/", headers={"Content-Type": "application/cloudevents+json"}, data=json.dumps(body)
    )
    assert_4xx_problem(response)


def test_nesting_within_the_limit_is_still_parsed(clients: dict[str, FlaskClient]) -> None:
    """The bound is on depth, not on brackets inside strings or siblings."""
    data = failure(job_name="[" * 10_000, workflow_name="{" * 10_000)
    response = post(clients["classify"], ce("dev.healer.failure.detected", data), structured=True)
    assert response.status_code < 500
    assert "nests" not in response.get_data(as_text=True)
    nested: Any = {}
    for _ in range(MAX_DEPTH - 2):
        nested = {"a": nested}
    response = post(clients["classify"], ce("dev.healer.failure.detected", nested), structured=True)
    assert_4xx_problem(response)
    assert "nests" not in response.get_json()["detail"]


# --- branch names and SHAs that reached URLs, headers and file names ---


@pytest.mark.parametrize("branch", HOSTILE_BRANCHES)
@pytest.mark.parametrize("structured", [True, False], ids=["structured", "binary"])
def test_hostile_branch_names_are_400(
    clients: dict[str, FlaskClient], branch: str, structured: bool
) -> None:
    events = {
        "classify": ce("dev.healer.failure.detected", failure(head_branch=branch)),
        "gather": ce(
            "dev.healer.failure.classified",
            {**gathered(head_branch=branch)["classified"]},
        ),
        "spawn": ce("dev.healer.context.gathered", gathered(head_branch=branch)),
    }
    for stage, event in events.items():
        assert_4xx_problem(post(clients[stage], event, structured=structured))


@pytest.mark.parametrize("sha", HOSTILE_SHAS)
def test_non_hex_shas_are_400(clients: dict[str, FlaskClient], sha: str) -> None:
    event = ce("dev.healer.failure.detected", failure(head_sha=sha))
    assert_4xx_problem(post(clients["classify"], event, structured=True))
    event = ce("dev.healer.failure.classified", gathered(head_sha=sha)["classified"])
    assert_4xx_problem(post(clients["gather"], event, structured=False))


@pytest.mark.parametrize("value", HOSTILE_BRANCHES[:4] + HOSTILE_SHAS[2:4])
def test_completion_check_answers_a_hostile_ci_result_without_a_5xx(
    clients: dict[str, FlaskClient], value: str
) -> None:
    for branch, sha in ((value, HEAD), ("feature/parser", value)):
        event = ci_event("acme/widgets", "feature/parser", HEAD, "success", key="k")
        data = data_of(event)
        body = json.loads(data) if isinstance(data, (str, bytes)) else data
        body["body"]["workflow_run"]["head_branch"] = branch
        body["body"]["workflow_run"]["head_sha"] = sha
        hostile = CloudEvent(event.get_attributes(), body)
        for structured in (True, False):
            response = post(clients["completion-check"], hostile, structured=structured)
            assert response.status_code < 500, response.get_data()[:300]


def test_the_models_refuse_what_git_and_github_would() -> None:
    for branch in [*HOSTILE_BRANCHES, "a/.hidden", "x.lock", "a//b", "a@{1}", "main~1", "a:b"]:
        with pytest.raises(ValidationError):
            FailureDetected.model_validate(failure(head_branch=branch))
    for sha in HOSTILE_SHAS:
        with pytest.raises(ValidationError):
            FailureDetected.model_validate(failure(head_sha=sha))
    for number in (0, -1, 2**64):
        with pytest.raises(ValidationError):
            PullRequestInfo(number=number)
    for url in ("javascript:alert(1)", "https://a b", "ftp://x", "https://x/\r\n"):
        with pytest.raises(ValidationError):
            RemediationSucceeded(
                task_id="t-1", repository="a/b", run_id=1, attempt=1, agent="rex", ci_url=url
            )
    ok = FailureDetected.model_validate(
        failure(head_branch="renovate/serde-1.x", head_sha=HEAD.upper())
    )
    assert ok.head_sha == HEAD and ok.head_branch == "renovate/serde-1.x"


# --- CloudEvent attributes ---


@pytest.mark.parametrize(
    "attribute, value",
    [("id", "i" * 5000), ("id", "a\x00b"), ("source", "\ud800"), ("subject", "s\x1b[2J")],
)
def test_hostile_attributes_are_400_in_structured_mode(
    clients: dict[str, FlaskClient], attribute: str, value: str
) -> None:
    event = ce("dev.healer.failure.detected", failure(), **{attribute: value})
    assert_4xx_problem(post(clients["classify"], event, structured=True))


def test_a_non_string_id_is_400(clients: dict[str, FlaskClient]) -> None:
    body = {"specversion": "1.0", "id": {"a": 1}, "source": "s", "type": "t"}
    response = clients["classify"].post(
        "/", headers={"Content-Type": "application/cloudevents+json"}, data=json.dumps(body)
    )
    assert_4xx_problem(response)


def test_an_event_id_longer_than_a_file_name_is_stored_under_a_short_key(
    clients: dict[str, FlaskClient],
) -> None:
    """A 300-byte id dead-lettered to status once failed with 'file name too long'."""
    event = ce("dev.healer.failure.detected", failure(), id="d" * 300)
    for structured in (True, False):
        response = post(clients["status"], event, structured=structured, path="/dead-letter")
        assert response.status_code == 202, response.get_data()[:300]
    suffix = "20261206T000000Z-0123abcd"
    key = keys.dead_letter_key("d" * 300, suffix)
    assert len(key.rsplit("/", 1)[1]) < 255
    assert key != keys.dead_letter_key("d" * 299 + "e", suffix)


def test_a_lone_surrogate_in_the_data_is_400(clients: dict[str, FlaskClient]) -> None:
    body = (
        json.dumps(
            {"specversion": "1.0", "id": "x", "source": "s", "type": "dev.healer.failure.detected"}
        )[:-1]
        + ', "data": {"job_name": "\\ud800"}}'
    )
    response = clients["classify"].post(
        "/", headers={"Content-Type": "application/cloudevents+json"}, data=body
    )
    assert_4xx_problem(response)
    assert "surrogate" in response.get_json()["detail"]


# --- over a real socket: replies no header can carry, the dev ingress ---


def raw_request(port: int, request: bytes, timeout: float = 5.0) -> bytes:
    """Send ``request`` and read the answer as a client does (to its ``Content-Length``, or to
    the close); a hang fails by ``socket.timeout``."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
            head, found, body = answer.partition(b"\r\n\r\n")
            length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
            if found and length and len(body) >= int(length.group(1)):
                break
    return answer


@pytest.fixture
def served() -> Iterator[Any]:
    servers = []

    def serve(app: Any) -> int:
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return int(server.port)

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def test_a_reply_attribute_no_header_can_carry_goes_back_structured(served: Any) -> None:
    """A lone surrogate (or a newline) in a reply's attribute once left the connection hanging."""
    import flask

    def handler(event: CloudEvent) -> Reply:
        return CloudEvent(
            {"type": "t.reply", "source": "tests", "id": "r", "subject": "a\ud800\r\nb"}, {"x": 1}
        )

    function = cloudevent_function(handler, name="echo")
    app = flask.Flask("echo")
    app.add_url_rule("/", "echo", lambda: function(flask.request), methods=["POST"])
    port = served(app)
    headers, body = to_binary(ce("t", {"x": 1}))
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    answer = raw_request(
        port,
        f"POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {len(body)}\r\n"
        f"{head}\r\n".encode()
        + body,
    )
    status, _, rest = answer.partition(b"\r\n")
    assert b" 200 " in status
    raw_headers, _, reply_body = rest.partition(b"\r\n\r\n")
    assert b"application/cloudevents+json" in raw_headers
    reply = from_http({"content-type": "application/cloudevents+json"}, reply_body)
    assert reply["subject"] == "a\ud800\r\nb"


@pytest.fixture(scope="module")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from dataclasses import replace

    from healer.services import Services
    from healer.settings import Settings
    from healer.stores.memory import MemoryStateStore
    from healer_dev.broker import dev
    from healer_dev.broker.pipeline import offline_settings

    settings = offline_settings(Settings(), ROOT, str(tmp_path_factory.mktemp("blobs")))
    settings = replace(
        settings, coderun_outbox=str(tmp_path_factory.mktemp("outbox")), max_body_bytes=4096
    )
    started = dev.start(
        Services(settings, state=MemoryStateStore()), port=0, root=ROOT, backoff_scale=0.0
    )
    yield started
    started.stop()


def ingress_post(server: Any, extra: bytes, body: bytes) -> bytes:
    port = int(server.ingress_url.rsplit(":", 1)[1])
    head = (
        b"POST /cto/healer HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        b"X-GitHub-Event: workflow_job\r\nX-GitHub-Delivery: d-1\r\n"
        b"Content-Type: application/json\r\n" + extra
    )
    return raw_request(port, head + b"\r\n" + body)


def test_dev_ingress_answers_a_malformed_chunked_body_with_400(dev_server: Any) -> None:
    answer = ingress_post(dev_server, b"Transfer-Encoding: chunked\r\n", b"zz\r\nabc\r\n0\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert b"application/problem+json" in answer


def test_dev_ingress_refuses_a_body_over_the_limit_with_413(dev_server: Any) -> None:
    big = b"{" + b" " * 10_000 + b"}"
    answer = ingress_post(dev_server, f"Content-Length: {len(big)}\r\n".encode(), big)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(big), big)
    answer = ingress_post(dev_server, b"Transfer-Encoding: chunked\r\n", chunked)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


def test_dev_ingress_answers_deep_nesting_with_400(dev_server: Any) -> None:
    deep = b"[" * 1000 + b"]" * 1000
    answer = ingress_post(dev_server, f"Content-Length: {len(deep)}\r\n".encode(), deep)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
