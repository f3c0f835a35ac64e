"""The repository, branch and fork rules ingest and spawn share."""

from __future__ import annotations

from healer import policy
from healer.settings import Settings


def test_the_allow_list_is_a_case_insensitive_glob_and_empty_allows_all() -> None:
    allow = Settings(repo_allow=("acme/*", "Other/Tool"))
    assert policy.repository_refusal("ACME/widgets", allow) is None
    assert policy.repository_refusal("other/tool", allow) is None
    assert policy.repository_refusal("evil/backdoor", allow) == (
        "repository evil/backdoor is not in the allow-list"
    )
    assert policy.repository_refusal("evil/backdoor", Settings()) is None


def test_branches_must_match_an_include_and_no_exclude_pattern() -> None:
    settings = Settings(branch_include=("feature/*", "main"), branch_exclude=("feature/wip-*",))
    assert policy.branch_refusal("feature/parser", settings) is None
    assert "none of the include patterns" in (policy.branch_refusal("release/1", settings) or "")
    assert "an exclude pattern" in (policy.branch_refusal("feature/wip-x", settings) or "")
    assert policy.branch_refusal("anything", Settings()) is None


def test_a_fork_is_refused_unless_allowed_and_names_are_shown_safely() -> None:
    assert policy.fork_of("mallory/widgets", "acme/widgets") == "mallory/widgets"
    assert policy.fork_of("ACME/Widgets", "acme/widgets") == ""
    assert policy.fork_of("", "acme/widgets") == ""
    reason = policy.fork_refusal("mallory/widgets\r\nX-Evil: 1", Settings())
    assert reason is not None and "\n" not in reason and "mallory/widgets??X-Evil" in reason
    assert policy.fork_refusal("mallory/widgets", Settings(allow_fork_prs=True)) is None
    assert policy.fork_refusal("", Settings()) is None
