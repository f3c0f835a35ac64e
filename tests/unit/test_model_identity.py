"""Every payload's identity is checked where it is parsed: task ids, repositories, attempts."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from healer.models import (
    AttemptSummary,
    ContextGathered,
    FailureDetected,
    RemediationExhausted,
    RemediationStarted,
)

FAILURE: dict[str, Any] = {
    "repository": "acme/widgets",
    "event": "workflow_job",
    "run_id": 7001,
    "head_sha": "3f786850e387550fdab836ed7e6dc881de23001b",
}
PRIMARY: dict[str, Any] = {
    "failure_type": "rust_test",
    "category": "rust",
    "agent": "rex",
    "action": "fix",
    "confidence": 0.9,
}


def context(**overrides: Any) -> dict[str, Any]:
    failure = {**FAILURE, **overrides.pop("failure", {})}
    classified = {"failure": failure, "verdicts": [PRIMARY], "primary": PRIMARY}
    return {"classified": classified, "task_id": "acme-widgets-7001", **overrides}


def test_a_well_formed_context_parses() -> None:
    parsed = ContextGathered.model_validate(context(attempt=2))
    assert (parsed.attempt, parsed.task_id) == (2, "acme-widgets-7001")
    assert ContextGathered.model_validate(context(task_id="a--b-c-dependabot-3")).task_id


@pytest.mark.parametrize("attempt", [0, -1])
def test_attempts_count_from_one(attempt: int) -> None:
    with pytest.raises(ValidationError, match="greater than or equal to 1"):
        ContextGathered.model_validate(context(attempt=attempt))
    with pytest.raises(ValidationError):
        AttemptSummary(attempt=attempt, agent="rex")


@pytest.mark.parametrize(
    "task_id", ["", "Acme-widgets-7001", "acme/widgets-7001", "../x", "a-", "-a", "x" * 201]
)
def test_task_ids_are_lowercase_slugs(task_id: str) -> None:
    with pytest.raises(ValidationError, match="task_id"):
        ContextGathered.model_validate(context(task_id=task_id))


@pytest.mark.parametrize(
    "repository",
    ["widgets", "acme/widgets/extra", "acme/..", "acme/.", "-acme/widgets", "acme/wid gets", ""],
)
def test_repositories_are_owner_slash_name(repository: str) -> None:
    with pytest.raises(ValidationError, match="repository"):
        FailureDetected(**{**FAILURE, "repository": repository})
    with pytest.raises(ValidationError, match="repository"):
        RemediationExhausted(task_id="t", repository=repository, run_id=1, attempts=[])


def test_run_ids_are_not_negative_and_events_share_the_rules() -> None:
    with pytest.raises(ValidationError, match="run_id"):
        FailureDetected(**{**FAILURE, "run_id": -5})
    with pytest.raises(ValidationError, match="attempt"):
        RemediationStarted(
            task_id="acme-widgets-7001",
            repository="acme/widgets",
            run_id=7001,
            attempt=0,
            agent="rex",
            action="fix",
            failure_type="rust_test",
        )
    assert FailureDetected(**{**FAILURE, "repository": "a-b/c_d-e.f"}).repository == "a-b/c_d-e.f"
