"""The classify handler: logs stored and classified, names-only fallback, one event per run."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from cloudevents.http import CloudEvent
from github_routes import TOKEN, Routes, recorded, services

from functions.classify.stage import Classifier
from healer.errors import InvalidInput
from healer.events import build_event
from healer.github.exceptions import GitHubUnavailable
from healer.models import AlertDetected, FailureClassified, FailureDetected
from healer.stores import keys
from healer.vocabulary import Action, AlertKind, EventType, FailureType, Stage

SHA1 = "3f786850e387550fdab836ed7e6dc881de23001b"
SHA2 = "9fceb02d0ae598e95dc970b74767f19372d61af8"
NETWORK_LOG = (
    "2026-11-30T15:59:01.0000000Z ##[group]Run npm run build\n"
    "2026-11-30T15:59:01.0000000Z ##[endgroup]\n"
    "2026-11-30T15:59:20.0000000Z npm error code ECONNRESET\n"
    "2026-11-30T15:59:20.0000000Z npm error network request to https://registry.npmjs.org/vite "
    "failed, reason: getaddrinfo EAI_AGAIN registry.npmjs.org\n"
    "2026-11-30T15:59:21.0000000Z ##[error]Process completed with exit code 1.\n"
)

JOB_FAILURE = FailureDetected(
    repository="acme/widgets",
    event="workflow_job",
    run_id=7001,
    run_attempt=1,
    job_id=90001,
    job_name="test",
    workflow_name="CI",
    head_sha=SHA1,
    head_branch="feature/parser",
)
RUN_FAILURE = FailureDetected(
    repository="acme/webapp",
    event="workflow_run",
    run_id=7002,
    run_attempt=1,
    workflow_name="Frontend",
    head_sha=SHA2,
    head_branch="fix/login-form",
    pull_requests=[17],
)


def detected(payload: FailureDetected | AlertDetected) -> CloudEvent:
    kind = (
        EventType.ALERT_DETECTED
        if isinstance(payload, AlertDetected)
        else EventType.FAILURE_DETECTED
    )
    run = getattr(payload, "run_id", 0)
    return build_event(
        kind, Stage.INGEST, payload, key=("d",), repository=payload.repository, run_id=run
    )


def classified(event: CloudEvent) -> FailureClassified:
    assert event["type"] == EventType.FAILURE_CLASSIFIED
    return FailureClassified.model_validate(event.get_data())


@pytest.fixture
def routes() -> Routes:
    return Routes()


@pytest.fixture
def stage(routes: Routes, tmp_path: Path) -> Classifier:
    return Classifier(services(routes, tmp_path))


def test_a_failed_job_log_is_followed_stored_and_classified(
    stage: Classifier, routes: Routes
) -> None:
    reply = stage(detected(JOB_FAILURE))

    payload = classified(reply)
    key = keys.job_log_key("acme/widgets", 7001, 1, 90001)
    original = (
        Path(__file__).resolve().parents[3]
        / "examples/github/repos/acme/widgets/actions/jobs/90001/logs.txt"
    ).read_bytes()
    assert stage.services.blobs.get(key) == original
    assert [v.job_id for v in payload.verdicts] == [90001]
    primary = payload.primary
    assert (primary.failure_type, primary.job_name, primary.log_key) == (
        FailureType.RUST_TEST,
        "test",
        key,
    )
    assert primary.failing_step == "Run cargo test"
    assert "nested_tables_keep_order" in primary.excerpt
    assert payload.failure == JOB_FAILURE
    # The short-lived log URL got no credentials; the API call did.
    api, download = routes.requests
    assert api.headers["authorization"] == f"Bearer {TOKEN}"
    assert "authorization" not in download.headers
    assert (reply["healerrepo"], reply["healerrun"], reply["subject"]) == (
        "acme/widgets",
        "7001",
        "acme/widgets#7001",
    )


def test_redelivery_gives_the_same_id_and_each_job_of_a_run_its_own(
    stage: Classifier, routes: Routes
) -> None:
    routes.json("/repos/acme/widgets/actions/jobs/90005/logs", {"message": "Not Found"}, status=404)
    first = stage(detected(JOB_FAILURE))
    again = stage(detected(JOB_FAILURE))
    sibling = stage(
        detected(JOB_FAILURE.model_copy(update={"job_id": 90005, "job_name": "clippy"}))
    )
    rerun = stage(detected(JOB_FAILURE.model_copy(update={"run_attempt": 2})))
    assert first["id"] == again["id"]
    assert len({first["id"], sibling["id"], rerun["id"]}) == 3


def test_an_expired_log_is_classified_from_names_with_low_confidence(
    stage: Classifier, routes: Routes
) -> None:
    routes.status("/repos/acme/widgets/actions/jobs/90001/logs", 410)

    verdict = classified(stage(detected(JOB_FAILURE))).primary

    assert verdict.confidence <= 0.2
    assert verdict.log_key == ""
    assert verdict.signals[0].startswith("log unavailable")
    # The failed step came from the job's details and steered the names-only guess.
    assert verdict.failing_step == "Run cargo test"
    assert verdict.failure_type is FailureType.RUST_TEST
    assert not stage.services.blobs.list()


def test_github_down_propagates_as_retryable(stage: Classifier, routes: Routes) -> None:
    routes.status("/repos/acme/widgets/actions/jobs/90001/logs", 502)
    with pytest.raises(GitHubUnavailable) as caught:
        stage(detected(JOB_FAILURE))
    assert caught.value.retry_after


def test_a_run_with_several_failed_jobs_is_one_event_with_a_primary(
    stage: Classifier, routes: Routes
) -> None:
    jobs = recorded("repos/acme/webapp/actions/runs/7002/attempts/1/jobs.json")["jobs"]
    build = dict(jobs[1], conclusion="failure")
    routes.json(
        "/repos/acme/webapp/actions/runs/7002/attempts/1/jobs",
        {"total_count": 2, "jobs": [build, jobs[0]]},
    )
    routes.overrides["/repos/acme/webapp/actions/jobs/90003/logs"] = httpx.Response(
        200, content=NETWORK_LOG.encode()
    )

    payload = classified(stage(detected(RUN_FAILURE)))

    assert [(v.job_id, v.failure_type, v.action) for v in payload.verdicts] == [
        (90003, FailureType.INFRA_NETWORK, Action.RERUN),
        (90002, FailureType.FRONTEND_LINT, Action.FIX),
    ]
    assert payload.primary == payload.verdicts[1]
    assert sorted(stage.services.blobs.list()) == [
        keys.job_log_key("acme/webapp", 7002, 1, 90002),
        keys.job_log_key("acme/webapp", 7002, 1, 90003),
    ]


def test_a_check_suite_failure_is_classified_as_its_workflow_run(stage: Classifier) -> None:
    suite = RUN_FAILURE.model_copy(
        update={"event": "check_suite", "run_id": 0, "check_suite_id": 5001, "workflow_name": ""}
    )
    reply = stage(detected(suite))
    payload = classified(reply)
    assert payload.failure is not None and payload.failure.run_id == 7002
    assert payload.failure.workflow_name == "Frontend"
    assert payload.primary.failure_type is FailureType.FRONTEND_LINT
    assert reply["id"] == stage(detected(RUN_FAILURE))["id"]


def test_a_big_matrix_stays_a_small_event(stage: Classifier, routes: Routes) -> None:
    template = recorded("repos/acme/webapp/actions/runs/7002/attempts/1/jobs.json")["jobs"][0]
    matrix = [dict(template, id=91000 + i, name=f"lint ({i})") for i in range(12)]
    routes.json(
        "/repos/acme/webapp/actions/runs/7002/attempts/1/jobs", {"total_count": 12, "jobs": matrix}
    )
    noisy = (
        "".join(
            f"2026-11-30T15:59:{i % 60:02d}.0000000Z src/f{i}.ts\n"
            f"2026-11-30T15:59:{i % 60:02d}.0000000Z   {i}:1  error  'x{i}' is defined but "
            "never used  no-unused-vars\n"
            for i in range(3000)
        )
        + "2026-11-30T16:00:00.0000000Z ##[error]Process completed with exit code 1.\n"
    )
    for i in range(12):
        routes.overrides[f"/repos/acme/webapp/actions/jobs/{91000 + i}/logs"] = httpx.Response(
            200, content=noisy.encode()
        )

    reply = stage(detected(RUN_FAILURE))

    payload = classified(reply)
    assert len(payload.verdicts) == 12
    assert len(json.dumps(reply.get_data()).encode()) < 64 * 1024
    read = [v for v in payload.verdicts if v.log_key]
    assert len(read) == 8
    assert all(
        v.signals[0].startswith("log unavailable") for v in payload.verdicts if not v.log_key
    )


@pytest.mark.parametrize(
    ("kind", "fields", "expected"),
    [
        (
            AlertKind.DEPENDABOT,
            {"package": "toml-edit-lite", "ghsa_id": "GHSA-4xq8-v2hj-7mqx"},
            FailureType.SECURITY_DEPENDABOT,
        ),
        (
            AlertKind.CODE_SCANNING,
            {"rule_id": "rust/cleartext-logging", "tool": "CodeQL"},
            FailureType.SECURITY_CODE_SCAN,
        ),
        (
            AlertKind.SECRET_SCANNING,
            {"secret_type": "npm_access_token"},
            FailureType.SECURITY_SECRET,
        ),
    ],
)
def test_alerts_are_classified_by_kind_without_github(
    stage: Classifier,
    routes: Routes,
    kind: AlertKind,
    fields: dict[str, str],
    expected: FailureType,
) -> None:
    alert = AlertDetected(repository="acme/widgets", kind=kind, alert_number=4, **fields)
    reply = stage(detected(alert))
    payload = classified(reply)
    assert payload.alert == alert and payload.failure is None
    assert payload.primary.failure_type is expected and payload.verdicts == [payload.primary]
    assert reply["subject"].startswith("acme/widgets#")
    assert routes.requests == []


def test_a_secret_never_reaches_the_event(stage: Classifier) -> None:
    secret = "npm_" + "Q" * 36
    alert = AlertDetected(
        repository="acme/widgets",
        kind=AlertKind.SECRET_SCANNING,
        alert_number=2,
        secret_type="npm_access_token",
        summary=f"leaked {secret} in .npmrc",
    )
    reply = stage(detected(alert))
    assert secret not in json.dumps(reply.get_data())


def test_other_event_types_are_rejected_naming_the_accepted_ones(stage: Classifier) -> None:
    event = CloudEvent({"type": "dev.healer.context.gathered", "source": "t", "id": "1"}, {})
    with pytest.raises(
        InvalidInput, match=r"dev\.healer\.failure\.detected, dev\.healer\.alert\.detected"
    ):
        stage(event)


def test_malformed_data_is_a_permanent_rejection(stage: Classifier) -> None:
    event = CloudEvent(
        {"type": EventType.FAILURE_DETECTED.value, "source": "t", "id": "1"}, {"repository": "a/b"}
    )
    with pytest.raises(InvalidInput, match="not a valid FailureDetected"):
        stage(event)
