from __future__ import annotations

import pytest

from healer.roster import Roster, load_roster
from healer.vocabulary import Category, FailureType, category_of


@pytest.mark.parametrize(
    ("failure_type", "agent"),
    [
        (FailureType.RUST_CLIPPY, "rex"),
        (FailureType.FRONTEND_TYPESCRIPT, "blaze"),
        (FailureType.PYTHON_TEST, "viper"),
        (FailureType.HELM_TEMPLATE, "bolt"),
        (FailureType.INFRA_NETWORK, "bolt"),
        (FailureType.SECURITY_SECRET, "cipher"),
        (FailureType.GITHUB_WORKFLOW, "atlas"),
        (FailureType.GIT_MERGE_CONFLICT, "atlas"),
        (FailureType.GENERAL, "atlas"),
    ],
)
def test_default_roster_sends_the_right_specialist(failure_type: FailureType, agent: str) -> None:
    assert load_roster().for_category(category_of(failure_type)).key == agent


def test_every_type_has_a_specialist_with_a_github_app() -> None:
    roster = load_roster()
    for failure_type in FailureType:
        specialist = roster.for_category(category_of(failure_type))
        assert specialist.github_app == f"5DLabs-{specialist.name}"


def test_unknown_category_falls_back() -> None:
    roster = Roster.from_json(
        '{"fallback": "a", "specialists": {"a": {"name": "A", "github_app": "x", "template": "a"}}}'
    )
    assert roster.for_category(Category.RUST).key == "a"
