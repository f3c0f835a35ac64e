"""Past remediations of the same fingerprint: the state store, and OpenMemory when enabled."""

from __future__ import annotations

import json

import httpx

from functions.gather.history import history_key, memory_history, state_history
from healer.models import HistoryEntry, Verdict
from healer.stores.memory import MemoryStateStore
from healer.vocabulary import Action, Category, FailureType

VERDICT = Verdict(
    failure_type=FailureType.RUST_TEST,
    category=Category.RUST,
    agent="rex",
    action=Action.FIX,
    confidence=0.9,
    failing_step="Run cargo test",
    fingerprint="fp123",
    excerpt="\n  thread 'parser::tests::nested' panicked at src/parser.rs:412:9\nmore",
)


def push(state: MemoryStateStore, entry: HistoryEntry | str) -> None:
    raw = entry if isinstance(entry, str) else entry.model_dump_json()
    state.push(history_key("fp123"), raw, max_len=50)


def test_state_history_is_newest_first_without_this_tasks_own_entries() -> None:
    state = MemoryStateStore()
    push(
        state,
        HistoryEntry(task_id="acme-widgets-6001", agent="rex", outcome="succeeded", attempts=1),
    )
    push(state, "{not json")
    push(state, HistoryEntry(task_id="acme-widgets-7001", agent="rex", outcome="failed"))
    push(
        state,
        HistoryEntry(
            task_id="acme-widgets-6500", agent="atlas", outcome="failed", summary="s" * 2000
        ),
    )

    entries = state_history(state, "fp123", exclude_task="acme-widgets-7001")

    assert [e.task_id for e in entries] == ["acme-widgets-6500", "acme-widgets-6001"]
    assert len(entries[0].summary) == 500


def test_state_history_keeps_at_most_ten() -> None:
    state = MemoryStateStore()
    for n in range(15):
        push(state, HistoryEntry(task_id=f"t-{n}"))
    assert [e.task_id for e in state_history(state, "fp123")] == [
        f"t-{n}" for n in range(14, 4, -1)
    ]


def test_no_fingerprint_no_history() -> None:
    assert state_history(MemoryStateStore(), "") == []


def test_memory_is_asked_one_tagged_query_and_its_matches_become_entries() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200,
            json={
                "matches": [
                    {
                        "id": "m1",
                        "content": "Fixed by sorting child tables",
                        "score": 0.91,
                        "metadata": {
                            "task_id": "acme-widgets-5001",
                            "agent": "rex",
                            "outcome": "succeeded",
                        },
                    },
                    {"id": "m2", "content": "", "score": 0.2},
                ]
            },
        )

    entries, error = memory_history(
        "http://memory:8080/",
        VERDICT,
        "acme/widgets",
        timeout=2,
        transport=httpx.MockTransport(answer),
    )

    assert error == ""
    assert entries[0] == HistoryEntry(
        task_id="acme-widgets-5001",
        agent="rex",
        outcome="succeeded",
        summary="Fixed by sorting child tables",
        source="memory",
    )
    assert entries[1].task_id == "m2"
    (request,) = seen
    assert (request.method, str(request.url)) == ("POST", "http://memory:8080/memory/query")
    body = json.loads(request.content)
    assert body["filters"] == {"tags": ["healer", "fingerprint:fp123"]}
    assert body["query"].startswith(
        "CI failure rust_test in acme/widgets, step Run cargo test: thread"
    )


def test_memory_trouble_is_a_note_not_a_failure() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("slow", request=request)

    cases = {
        "history.memory: timed out after 2 s": slow,
        "history.memory: answered 500": lambda r: httpx.Response(500),
        "history.memory: JSONDecodeError": lambda r: httpx.Response(200, content=b"<html>"),
    }
    for expected, answer in cases.items():
        entries, error = memory_history(
            "http://m", VERDICT, "a/b", timeout=2, transport=httpx.MockTransport(answer)
        )
        assert (entries, error) == ([], expected)
