"""The gather handler: context out, files beyond 200 in the blob store, stale skips, retries."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cloudevents.http import CloudEvent
from event_data import data_of, emitted
from github_routes import Routes, paged, recorded, services

from functions.classify.stage import Classifier
from functions.gather.stage import Gatherer
from healer.errors import InvalidInput, StoreUnavailable
from healer.events import build_event
from healer.github.exceptions import GitHubUnavailable
from healer.models import (
    AttemptSummary,
    ContextGathered,
    FailureClassified,
    FailureDetected,
    HistoryEntry,
    RemediationRetry,
)
from healer.runtime import Skip
from healer.services import Services
from healer.settings import Settings
from healer.stores import keys
from healer.stores.file import FileBlobStore
from healer.stores.memory import MemoryStateStore
from healer.vocabulary import EventType, FailureType, Stage

SHA1 = "3f786850e387550fdab836ed7e6dc881de23001b"
NEW = "c1dfd96eea8cc2b62785275bca38ac261256e278"
FAILURE = FailureDetected(
    repository="acme/widgets",
    event="workflow_job",
    run_id=7001,
    run_attempt=1,
    job_id=90001,
    job_name="test",
    workflow_name="CI",
    head_sha=SHA1,
    head_branch="feature/parser",
    default_branch="main",
)
FIXED_LOG = (
    "2026-12-01T09:10:00.0000000Z ##[group]Run cargo test\n"
    "2026-12-01T09:10:00.0000000Z ##[endgroup]\n"
    "2026-12-01T09:10:20.0000000Z error[E0308]: mismatched types\n"
    "2026-12-01T09:10:20.0000000Z   --> src/parser.rs:401:30\n"
    "2026-12-01T09:10:20.0000000Z error: could not compile `widgets` (lib test) due to 1 "
    "previous error\n"
    "2026-12-01T09:10:21.0000000Z ##[error]Process completed with exit code 101.\n"
)


@pytest.fixture
def routes() -> Routes:
    return Routes()


@pytest.fixture
def gatherer(routes: Routes, tmp_path: Path) -> Gatherer:
    return Gatherer(services(routes, tmp_path))


def classified_event(gatherer: Gatherer, failure: FailureDetected = FAILURE) -> CloudEvent:
    detected = build_event(
        EventType.FAILURE_DETECTED,
        Stage.INGEST,
        failure,
        key=("d",),
        repository=failure.repository,
        run_id=failure.run_id,
    )
    return Classifier(gatherer.services)(detected)


def context(event: CloudEvent | Skip) -> ContextGathered:
    assert isinstance(event, CloudEvent) and event["type"] == EventType.CONTEXT_GATHERED
    return ContextGathered.model_validate(data_of(event))


def test_a_classified_failure_becomes_its_context(gatherer: Gatherer) -> None:
    gatherer.services.state.push(
        "history:"
        + FailureClassified.model_validate(data_of(classified_event(gatherer))).primary.fingerprint,
        HistoryEntry(
            task_id="acme-widgets-6001", agent="rex", outcome="succeeded"
        ).model_dump_json(),
        10,
    )
    reply = emitted(gatherer(classified_event(gatherer)))

    ctx = context(reply)
    assert ctx.task_id == "acme-widgets-7001" and ctx.attempt == 1
    assert ctx.pull_request is not None and ctx.pull_request.number == 42
    assert ctx.changed_files_total == 3 and len(ctx.changed_files) == 3
    stored = json.loads(gatherer.services.blobs.get(ctx.changed_files_key))
    assert ctx.changed_files_key == keys.changed_files_key("acme/widgets", 7001, 1)
    assert [f["filename"] for f in stored] == [f.filename for f in ctx.changed_files]
    assert [h.task_id for h in ctx.history] == ["acme-widgets-6001"]
    assert ctx.classified.primary.failure_type is FailureType.RUST_TEST
    assert ctx.extras["loki"].status == "disabled"
    assert (reply["source"], reply["subject"], reply["healerattempt"]) == (
        "healer/gather",
        "acme/widgets#7001",
        "1",
    )


def test_the_event_id_is_keyed_on_task_and_attempt(gatherer: Gatherer) -> None:
    first = gatherer(classified_event(gatherer))
    again = gatherer(classified_event(gatherer))
    sibling_job = gatherer(classified_event(gatherer, FAILURE.model_copy(update={"job_id": 90005})))
    assert (
        isinstance(first, CloudEvent)
        and isinstance(again, CloudEvent)
        and isinstance(sibling_job, CloudEvent)
    )
    assert first["id"] == again["id"] == sibling_job["id"]


def test_files_beyond_200_are_paginated_into_the_blob_store(
    gatherer: Gatherer, routes: Routes
) -> None:
    path = "/repos/acme/widgets/pulls/42/files"
    template = recorded("repos/acme/widgets/pulls/42/files.json")[0]
    files = [dict(template, filename=f"src/gen/m{i:04d}.rs", additions=i) for i in range(450)]
    routes.overrides[path] = paged(path, files)

    reply = gatherer(classified_event(gatherer))

    ctx = context(reply)
    assert ctx.changed_files_total == 450 and len(ctx.changed_files) == 200
    assert ctx.changed_files[199].filename == "src/gen/m0199.rs"
    stored = json.loads(gatherer.services.blobs.get(ctx.changed_files_key))
    assert len(stored) == 450 and stored[449]["additions"] == 449
    assert sum(1 for r in routes.requests if r.url.path == path) == 5
    assert len(json.dumps(data_of(reply)).encode()) < 128 * 1024


def test_a_superseded_failure_emits_nothing_and_records_why(
    gatherer: Gatherer, routes: Routes
) -> None:
    event = classified_event(gatherer)
    branch = recorded("repos/acme/widgets/branches/feature/parser.json")
    branch["commit"]["sha"] = NEW
    routes.json("/repos/acme/widgets/branches/feature/parser", branch)
    run = recorded("repos/acme/widgets/actions/runs/7001.json")
    routes.json(
        "/repos/acme/widgets/actions/runs",
        {"workflow_runs": [dict(run, id=7200, head_sha=NEW, conclusion="success")]},
    )

    reply = gatherer(event)

    assert isinstance(reply, Skip) and "run 7200 for the new head passed" in reply.reason
    record = json.loads(gatherer.services.state.get("stale:acme-widgets-7001") or "")
    assert record["reason"] in reply.reason and record["at"]


def test_a_deleted_branch_is_stale(gatherer: Gatherer, routes: Routes) -> None:
    event = classified_event(gatherer)
    routes.status("/repos/acme/widgets/branches/feature/parser", 404)
    reply = gatherer(event)
    assert isinstance(reply, Skip) and "no longer exists" in reply.reason
    assert gatherer.services.state.get("stale:acme-widgets-7001")


def test_a_github_outage_on_the_essentials_is_retryable(gatherer: Gatherer, routes: Routes) -> None:
    event = classified_event(gatherer)
    routes.status("/repos/acme/widgets/pulls/42", 503)
    with pytest.raises(GitHubUnavailable):
        gatherer(event)


def retry_event(gatherer: Gatherer, ctx: ContextGathered, **fields: object) -> CloudEvent:
    """A retry naming ``ctx`` as spawn stored it, at its attempt's context key."""
    key = keys.context_key("acme/widgets", 7001, 1, ctx.attempt)
    gatherer.services.blobs.put(key, ctx.model_dump_json().encode())
    retry = RemediationRetry.model_validate(
        {"task_id": ctx.task_id, "context_key": key, "attempt": 2, **fields}
    )
    return build_event(
        EventType.REMEDIATION_RETRY,
        Stage.COMPLETION_CHECK,
        retry,
        key=("r",),
        repository="acme/widgets",
        run_id=7001,
        attempt=2,
    )


def test_a_retry_refreshes_the_logs_and_lists_what_earlier_attempts_did(
    gatherer: Gatherer, routes: Routes
) -> None:
    ctx = context(gatherer(classified_event(gatherer)))
    # The agent pushed a commit: the branch moved and CI failed again on a new run.
    branch = recorded("repos/acme/widgets/branches/feature/parser.json")
    branch["commit"]["sha"] = NEW
    routes.json("/repos/acme/widgets/branches/feature/parser", branch)
    run = recorded("repos/acme/widgets/actions/runs/7001.json")
    new_run = dict(run, id=7300, head_sha=NEW, created_at="2026-12-01T09:09:00Z")
    routes.json("/repos/acme/widgets/actions/runs", {"workflow_runs": [new_run, run]})
    job = dict(recorded("repos/acme/widgets/actions/jobs/90001.json"), id=93001, run_id=7300)
    routes.json(
        "/repos/acme/widgets/actions/runs/7300/attempts/1/jobs", {"total_count": 1, "jobs": [job]}
    )
    routes.overrides["/repos/acme/widgets/actions/jobs/93001/logs"] = httpx.Response(
        200, content=FIXED_LOG.encode()
    )
    gatherer.services.state.set_json(
        "task:acme-widgets-7001",
        {
            "task_id": "acme-widgets-7001",
            "status": "running",
            "attempts": [
                {
                    "attempt": 1,
                    "agent": "rex",
                    "outcome": "ci_failed",
                    "coderun_name": "healer-rex-7001-1",
                    "commits": [NEW],
                    "summary": "",
                    "error": "",
                }
            ],
        },
    )
    summary = AttemptSummary(
        attempt=1,
        agent="rex",
        outcome="ci_failed",
        summary="Sorted child tables by insertion order",
    )

    reply = gatherer(retry_event(gatherer, ctx, previous_attempts=[summary.model_dump()]))

    retried = context(reply)
    assert retried.attempt == 2 and retried.task_id == "acme-widgets-7001"
    assert retried.previous_attempts == [
        AttemptSummary(
            attempt=1,
            agent="rex",
            outcome="ci_failed",
            summary="Sorted child tables by insertion order",
            coderun_name="healer-rex-7001-1",
            commits=[NEW],
        )
    ]
    primary = retried.classified.primary
    assert primary.failure_type is FailureType.RUST_BUILD
    assert primary.log_key == keys.job_log_key("acme/widgets", 7300, 1, 93001)
    assert primary.signals[0] == "refreshed from run 7300 attempt 1"
    assert gatherer.services.blobs.get(primary.log_key) == FIXED_LOG.encode()
    assert retried.classified.failure == FAILURE  # the task keeps its identity
    assert reply["id"] != gatherer(classified_event(gatherer))["id"]  # type: ignore[index]


def test_a_retry_without_a_newer_failure_keeps_the_original_verdicts(
    gatherer: Gatherer, routes: Routes
) -> None:
    ctx = context(gatherer(classified_event(gatherer)))
    run = recorded("repos/acme/widgets/actions/runs/7001.json")
    routes.json(
        "/repos/acme/widgets/actions/runs",
        {
            "workflow_runs": [
                dict(run, id=7300, conclusion="success", created_at="2026-12-01T09:00:00Z")
            ]
        },
    )
    routes.json("/repos/acme/widgets/actions/runs/7001", dict(run, conclusion="success"))

    retried = context(gatherer(retry_event(gatherer, ctx)))

    assert retried.classified.verdicts == ctx.classified.verdicts
    assert any(m.startswith("logs: no failed run of CI") for m in retried.missing)


def test_other_types_are_rejected(gatherer: Gatherer) -> None:
    event = CloudEvent({"type": EventType.FAILURE_DETECTED.value, "source": "t", "id": "1"}, {})
    with pytest.raises(
        InvalidInput,
        match=r"gather accepts dev\.healer\.failure\.classified, dev\.healer\.remediation\.retry",
    ):
        gatherer(event)


def test_configured_memory_and_loki_are_asked_and_fail_soft(routes: Routes, tmp_path: Path) -> None:
    asked: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(f"{request.method} {request.url.host}{request.url.path}")
        if request.url.host == "memory":
            match = {
                "content": "Kept tables in an IndexMap",
                "metadata": {"task_id": "acme-widgets-5001"},
            }
            return httpx.Response(200, json={"matches": [match]})
        token = "ghp_" + "Z" * 36
        line = ["1764600000000000000", f"ERROR auth failed for {token}"]
        return httpx.Response(200, json={"data": {"result": [{"stream": {}, "values": [line]}]}})

    configured = services(
        routes,
        tmp_path,
        memory_enabled=True,
        memory_url="http://memory",
        loki_url="http://loki:3100",
    )
    gatherer = Gatherer(configured, transport=httpx.MockTransport(answer))

    ctx = context(gatherer(classified_event(gatherer)))

    assert asked == ["POST memory/memory/query", "GET loki/loki/api/v1/query_range"]
    assert [(h.task_id, h.source) for h in ctx.history] == [("acme-widgets-5001", "memory")]
    assert ctx.extras["loki"].status == "ok"
    assert ctx.extras["loki"].data["lines"][0]["line"] == "ERROR auth failed for ***"

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    gatherer = Gatherer(configured, transport=httpx.MockTransport(down))
    ctx = context(gatherer(classified_event(gatherer)))
    assert ctx.history == [] and "history.memory: ConnectError" in ctx.missing
    assert ctx.extras["loki"].status == "error"


def fork_pull() -> dict[str, object]:
    pull = recorded("repos/acme/widgets/pulls/42.json")
    pull["head"]["repo"] = dict(pull["head"]["repo"], full_name="mallory/widgets", fork=True)
    result: dict[str, object] = pull
    return result


def test_a_fork_pull_request_found_by_commit_is_not_remediated(
    gatherer: Gatherer, routes: Routes
) -> None:
    # workflow_job and check payloads carry no fork information (a fork head gives an empty
    # pull_requests list), so the fork policy is applied once the PR is resolved.
    event = classified_event(gatherer)
    routes.json("/repos/acme/widgets/pulls/42", fork_pull())

    reply = gatherer(event)

    assert isinstance(reply, Skip)
    assert "mallory/widgets is a fork" in reply.reason


def test_a_fork_pull_request_is_remediated_when_allowed(routes: Routes, tmp_path: Path) -> None:
    gatherer = Gatherer(services(routes, tmp_path, allow_fork_prs=True))
    event = classified_event(gatherer)
    routes.json("/repos/acme/widgets/pulls/42", fork_pull())

    ctx = context(gatherer(event))

    assert ctx.pull_request is not None and ctx.pull_request.number == 42


def test_a_retry_whose_context_is_gone_is_a_400(gatherer: Gatherer) -> None:
    ctx = context(gatherer(classified_event(gatherer)))
    event = retry_event(gatherer, ctx)
    gatherer.services.blobs.delete(keys.context_key("acme/widgets", 7001, 1, ctx.attempt))
    with pytest.raises(InvalidInput, match="which is not in the blob store"):
        gatherer(event)


def test_a_retry_naming_another_tasks_context_is_a_400(gatherer: Gatherer) -> None:
    ctx = context(gatherer(classified_event(gatherer)))
    other = ctx.model_copy(update={"task_id": "acme-widgets-9999"})
    with pytest.raises(InvalidInput, match="names the context of task 'acme-widgets-9999'"):
        gatherer(retry_event(gatherer, other, task_id="acme-widgets-7001"))


class FlakyBlobs(FileBlobStore):
    """A blob store that goes down (``down``): every read is then a retryable outage."""

    down = False

    def open(self, key: str, *, chunk_size: int = 64 * 1024) -> Iterator[bytes]:
        if self.down:
            raise StoreUnavailable(f"blob store unreachable reading {key}")
        return super().open(key, chunk_size=chunk_size)


def test_a_blob_store_outage_on_a_retry_is_retryable(routes: Routes, tmp_path: Path) -> None:
    blobs = FlakyBlobs(tmp_path)
    gatherer = Gatherer(
        Services(
            Settings(blob_dir=str(tmp_path)),
            state=MemoryStateStore(),
            blobs=blobs,
            github=services(routes, tmp_path).github,
        )
    )
    ctx = context(gatherer(classified_event(gatherer)))
    event = retry_event(gatherer, ctx)
    blobs.down = True
    with pytest.raises(StoreUnavailable) as caught:
        gatherer(event)
    assert caught.value.status == 503
