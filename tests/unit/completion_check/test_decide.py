"""The decision table, on plain task records."""

from __future__ import annotations

from typing import Any

import pytest

from functions.completion_check.decide import Outcome, decide, next_agent, outcome_of
from healer.state.records import Attempt, TaskRecord


def entry(**fields: Any) -> dict[str, Any]:
    return {"attempt": 1, "agent": "rex", "action": "fix", "outcome": "", **fields}


def task(record: dict[str, Any]) -> TaskRecord:
    return TaskRecord.model_validate(record)


AGENT_OK = {"result": "succeeded", "phase": "Succeeded", "commits": ["abc"]}
CI_OK = {"conclusion": "success", "passed": True, "head_sha": "abc"}
CI_BAD = {"conclusion": "failure", "passed": False, "head_sha": "abc"}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, None),
        ({"agent_result": AGENT_OK}, None),
        ({"ci": CI_OK}, None),
        ({"agent_result": AGENT_OK, "ci": CI_OK}, "succeeded"),
        ({"agent_result": AGENT_OK, "ci": CI_BAD}, "failed"),
        ({"agent_result": {**AGENT_OK, "commits": None}, "ci": CI_OK}, "succeeded"),
        ({"agent_result": AGENT_OK, "ci": {**CI_OK, "head_sha": "old"}}, None),
        ({"agent_result": {**AGENT_OK, "commits": []}}, "failed"),
        ({"agent_result": {"result": "failed", "phase": "Failed"}}, "failed"),
        ({"action": "rerun", "ci": CI_OK}, "succeeded"),
        ({"action": "rerun", "ci": CI_BAD}, "failed"),
    ],
)
def test_an_attempt_is_decided_once_both_halves_are_known(
    fields: dict[str, Any], expected: str | None
) -> None:
    result = outcome_of(Attempt.model_validate(entry(**fields)))
    assert (result[0] if result else None) == expected


def failed(n: int, agent: str) -> dict[str, Any]:
    return entry(attempt=n, agent=agent, outcome="failed")


def test_next_agent_switches_after_two_failures_of_the_same_one() -> None:
    one = task({"attempts": [failed(1, "rex")]})
    two = task({"attempts": [failed(1, "rex"), failed(2, "rex")]})
    assert next_agent(one, "rex", fallback="atlas") == "rex"
    assert next_agent(two, "rex", fallback="atlas") == "atlas"
    assert next_agent(two, "rex", fallback="atlas", alternate="viper") == "viper"
    both = task({"attempts": [failed(1, "atlas"), failed(2, "atlas")]})
    assert next_agent(both, "atlas", fallback="atlas", alternate="atlas") == "atlas"
    assert next_agent(two, "", fallback="atlas") == ""  # a re-run: the verdict decides


def test_decide_retries_until_max_attempts_then_exhausts() -> None:
    record = task({"attempts": [failed(1, "rex")]})
    retry = decide(record, 1, Outcome.FAILED, "x", max_attempts=3, fallback="atlas")
    assert (retry.kind, retry.next_agent) == ("retry", "rex")
    last = decide(record, 3, Outcome.FAILED, "x", max_attempts=3, fallback="atlas")
    assert last.kind == "exhausted" and "attempt 3 of 3" in last.reason
    lost = decide(record, 1, Outcome.FAILED, "x", max_attempts=3, fallback="atlas", can_retry=False)
    assert lost.kind == "exhausted" and "no stored context" in lost.reason
    assert decide(record, 3, Outcome.SUCCEEDED, "ok", max_attempts=3, fallback="atlas").kind == (
        "succeeded"
    )
