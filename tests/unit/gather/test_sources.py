"""The essentials: the PR of the failing commit, its files and commits, or the push's."""

from __future__ import annotations

import pytest
from github_routes import Routes, client

from functions.gather.sources import gather_essentials
from healer.github.exceptions import GitHubUnavailable
from healer.models import ChangedFile, FailureDetected

SHA1 = "3f786850e387550fdab836ed7e6dc881de23001b"
SHA3 = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"

WIDGETS = FailureDetected(
    repository="acme/widgets",
    event="workflow_job",
    run_id=7001,
    job_id=90001,
    head_sha=SHA1,
    head_branch="feature/parser",
    default_branch="main",
)
API_PUSH = FailureDetected(
    repository="acme/api",
    event="workflow_job",
    run_id=7003,
    run_attempt=2,
    job_id=90004,
    head_sha=SHA3,
    head_branch="main",
    default_branch="main",
)


def test_the_pr_is_found_for_the_commit_with_files_and_commits_newest_first() -> None:
    routes = Routes()
    found = gather_essentials(client(routes), WIDGETS)

    pr = found.pull_request
    assert pr is not None
    assert (pr.number, pr.title, pr.head_ref, pr.base_ref, pr.mergeable_state, pr.author) == (
        42,
        "Parse nested tables",
        "feature/parser",
        "main",
        "unstable",
        "mira-k",
    )
    assert found.files[0] == ChangedFile(
        filename="src/parser.rs", status="modified", additions=64, deletions=18
    )
    assert [f.filename for f in found.files][2] == "tests/fixtures/nested.toml"
    assert [c.message for c in found.commits] == [
        "parser: emit nested tables in document order",
        "parser: keep nested tables in a tree",
    ]
    assert found.commits[0].sha == SHA1 and found.missing == []
    assert f"/repos/acme/widgets/compare/main...{SHA1}" in routes.paths()


def test_pr_numbers_from_the_event_spare_the_lookup() -> None:
    routes = Routes()
    found = gather_essentials(client(routes), WIDGETS.model_copy(update={"pull_requests": [42]}))
    assert found.pull_request is not None and found.pull_request.number == 42
    assert not any(p.endswith("/pulls") and "/commits/" in p for p in routes.paths())


def test_an_open_pr_whose_head_is_the_commit_is_preferred() -> None:
    routes = Routes()
    stale = {"number": 40, "state": "closed", "head": {"sha": SHA1}}
    other = {"number": 41, "state": "open", "head": {"sha": "0" * 40}}
    exact = {"number": 42, "state": "open", "head": {"sha": SHA1}}
    routes.json(f"/repos/acme/widgets/commits/{SHA1}/pulls", [stale, other, exact])
    assert gather_essentials(client(routes), WIDGETS).pull_request.number == 42  # type: ignore[union-attr]


def test_a_push_to_the_default_branch_reads_the_pushed_commit() -> None:
    routes = Routes()
    found = gather_essentials(client(routes), API_PUSH)
    assert found.pull_request is None
    assert [(f.filename, f.additions, f.deletions) for f in found.files] == [
        ("src/acme_api/pagination.py", 18, 9),
        ("src/acme_api/routes/orders.py", 6, 2),
    ]
    assert [c.message for c in found.commits] == ["pagination: opaque order cursors"]
    assert found.commits[0].author == "ana-r"


def test_a_push_to_a_feature_branch_without_pr_compares_against_the_default_branch() -> None:
    routes = Routes()
    routes.json(f"/repos/acme/widgets/commits/{SHA1}/pulls", [])
    found = gather_essentials(client(routes), WIDGETS)
    assert found.pull_request is None
    assert len(found.files) == 3 and len(found.commits) == 2


def test_a_deleted_pr_is_noted_and_the_push_context_used_instead() -> None:
    routes = Routes()
    routes.status("/repos/acme/widgets/pulls/42", 404)
    found = gather_essentials(client(routes), WIDGETS)
    assert found.pull_request is None
    assert found.missing == ["pull_request: #42 not found"]
    assert len(found.files) == 3


def test_a_github_outage_on_the_essentials_is_not_papered_over() -> None:
    routes = Routes()
    routes.status("/repos/acme/widgets/pulls/42/files", 502)
    with pytest.raises(GitHubUnavailable):
        gather_essentials(client(routes), WIDGETS)
