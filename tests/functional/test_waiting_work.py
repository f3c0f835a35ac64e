"""Work refused by a limit that lifts waits, and starts once when it allows: a burst of
failures past ``max_concurrent`` and an open breaker, through every stage in-process (the local
broker routes spawn's, completion-check's and the sweep's events as Knative would)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from cloudevents.http import CloudEvent
from contexts import widgets_context
from event_data import data_of

from healer.events import build_event, task_id
from healer.services import Services
from healer.settings import Settings
from healer.stores.keys import ACTIVE_KEY, BREAKER_KEY, WAITING_INDEX
from healer.stores.memory import MemoryStateStore
from healer.vocabulary import EventType, Stage
from healer_dev.broker import report
from healer_dev.broker.finish import finish_events, ledger_for, read_outbox
from healer_dev.broker.hops import Hop
from healer_dev.broker.pipeline import Pipeline, in_process, offline_settings

ROOT = Path(__file__).resolve().parents[2]
REPO = "acme/widgets"
STARTED = EventType.REMEDIATION_STARTED
SKIPPED = EventType.REMEDIATION_SKIPPED


@pytest.fixture
def services(tmp_path: Path) -> Services:
    settings = offline_settings(Settings(), ROOT, str(tmp_path / "blobs"))
    settings = replace(settings, coderun_outbox=str(tmp_path / "outbox"), max_concurrent=2)
    return Services(settings, state=MemoryStateStore())


@pytest.fixture
def pipeline(services: Services) -> Iterator[Pipeline]:
    built = in_process(services, root=ROOT)
    yield built
    built.close()


def failure(n: int) -> CloudEvent:
    """The gathered context of failure ``n``: its own run, on its own pull request's branch."""
    run = 7100 + n
    context = widgets_context()
    failure = context.classified.failure
    assert failure is not None and context.pull_request is not None
    branch = f"feature/burst-{n}"
    classified = context.classified.model_copy(
        update={"failure": failure.model_copy(update={"run_id": run, "head_branch": branch})}
    )
    context = context.model_copy(
        update={
            "classified": classified,
            "task_id": task_id(REPO, run),
            "pull_request": context.pull_request.model_copy(update={"head_ref": branch}),
        }
    )
    return build_event(
        EventType.CONTEXT_GATHERED,
        Stage.GATHER,
        context,
        key=(context.task_id, 1),
        repository=REPO,
        run_id=run,
        attempt=1,
    )


def tick(ident: str) -> CloudEvent:
    return CloudEvent(
        {
            "type": EventType.PING.value,
            "source": "/apis/v1/namespaces/cto/pingsources/healer-sweep",
            "id": ident,
        },
        {},
    )


def replies(hops: list[Hop], kind: EventType) -> list[dict[str, object]]:
    return [data_of(h.reply) for h in hops if h.reply_type == kind and h.reply is not None]


def finish(pipeline: Pipeline, services: Services, started: dict[str, object]) -> list[Hop]:
    """The agent pushes a fix and CI passes on it (``healer finish --phase Succeeded --ci
    success``): the attempt succeeds and its slot is free."""
    coderun = read_outbox(services.settings.coderun_outbox, str(started["coderun_name"]))
    hops: list[Hop] = []
    for event in finish_events(
        coderun, "Succeeded", ci="success", pushes=ledger_for(services.settings)
    ):
        hops += pipeline.broker.publish(event)
    return hops


def task(services: Services, n: int) -> dict[str, object]:
    record = services.state.get_json(f"task:{task_id(REPO, 7100 + n)}")
    assert isinstance(record, dict)
    return record


def test_a_burst_past_max_concurrent_starts_every_failure_once_as_slots_free(
    pipeline: Pipeline, services: Services
) -> None:
    hops: list[Hop] = []
    for n in range(7):
        hops += pipeline.broker.publish(failure(n))
    first = replies(hops, STARTED)
    assert [s["task_id"] for s in first] == [task_id(REPO, 7100 + n) for n in (0, 1)]
    waits = replies(hops, SKIPPED)
    assert [(w["code"], bool(w["waiting_since"])) for w in waits] == [("concurrency", True)] * 5
    for n in range(2, 7):
        record = task(services, n)
        assert record["status"] == "waiting" and not record.get("attempts")
        waiting = record["waiting"]
        assert isinstance(waiting, dict)
        assert (waiting["attempt"], waiting["code"]) == (1, "concurrency")
        assert "the limit is 2" in str(waiting["reason"]) and waiting["context_key"]
    # oldest first
    assert services.state.index_range(WAITING_INDEX) == [
        task_id(REPO, 7100 + n) for n in range(2, 7)
    ]
    # the replay report shows the waiting hop for what it is
    line = "\n".join(report.lines(report.record(next(h for h in hops if h.reply_type == SKIPPED))))
    assert "waiting" in line and "concurrency" in line

    running = list(first)
    every_start = list(first)
    ticks = 0
    while running or services.state.index_range(WAITING_INDEX):
        for started in running:
            hops = finish(pipeline, services, started)
            assert replies(hops, STARTED) == []  # no forwarder here: only the sweep releases
        running = []
        ticks += 1
        assert ticks < 20, "waiting tasks are not being released"
        for ident in (f"tick-{ticks}", f"tick-{ticks}"):  # every tick delivered twice
            started_now = replies(pipeline.broker.publish(tick(ident)), STARTED)
            fresh = [s for s in started_now if s not in every_start]
            every_start += fresh
            running += fresh
            assert int(services.state.get(ACTIVE_KEY) or 0) <= 2

    per_task = Counter(str(s["task_id"]) for s in every_start)
    assert per_task == Counter({task_id(REPO, 7100 + n): 1 for n in range(7)})
    outbox = sorted(p.name for p in Path(services.settings.coderun_outbox).iterdir())
    assert outbox == sorted(f"healer-acme-widgets-{7100 + n}-a1.yaml" for n in range(7))
    for n in range(7):
        record = task(services, n)
        attempts = record["attempts"]
        assert isinstance(attempts, list) and [a["attempt"] for a in attempts] == [1]
        assert record["status"] == "succeeded" and "waiting" not in record
    assert services.state.get(ACTIVE_KEY) == "0"
    assert services.state.index_range(WAITING_INDEX) == []


def test_an_open_breaker_keeps_work_waiting_until_it_closes(
    pipeline: Pipeline, services: Services
) -> None:
    services.state.set(BREAKER_KEY, "5 failed attempts in a row", 1800)
    hops = pipeline.broker.publish(failure(0))
    (wait,) = replies(hops, SKIPPED)
    assert wait["code"] == "breaker" and wait["waiting_since"]
    assert task(services, 0)["status"] == "waiting"

    held = pipeline.broker.publish(tick("while-open"))
    assert replies(held, STARTED) == [] and replies(held, EventType.CONTEXT_GATHERED) == []
    assert task(services, 0)["status"] == "waiting"

    services.state.delete(BREAKER_KEY)  # its TTL ran out
    released = pipeline.broker.publish(tick("after-close"))
    (started,) = replies(released, STARTED)
    assert started["task_id"] == task_id(REPO, 7100) and started["coderun_name"]
    again = pipeline.broker.publish(tick("after-close"))  # the tick redelivered
    assert [s["coderun_name"] for s in replies(again, STARTED)] in ([], [started["coderun_name"]])
    assert services.state.get(ACTIVE_KEY) == "1"  # one CodeRun, whatever was redelivered
    record = task(services, 0)
    assert record["status"] == "running" and len(record["attempts"]) == 1  # type: ignore[arg-type]
    assert services.state.index_range(WAITING_INDEX) == []
