"""The CodeRun manifest: deterministic DNS-1123 names, valid labels, the branch rules, the spec."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st
from spawn_fixtures import ContextFactory, alert, failure, pull, verdict

from functions.spawn.coderun import MAX_INLINE_PROMPT, build_manifest, coderun_name, label_value
from functions.spawn.target import target_of
from healer.roster import load_roster
from healer.vocabulary import Action, Category, FailureType

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")


def test_name_is_readable_and_deterministic() -> None:
    assert coderun_name("acme-widgets-7001", 1) == "healer-acme-widgets-7001-a1"
    assert coderun_name("acme-widgets-7001", 2) == "healer-acme-widgets-7001-a2"
    assert coderun_name("acme-widgets-7001", 1) == coderun_name("acme-widgets-7001", 1)


@given(st.text(min_size=1, max_size=300), st.integers(min_value=1, max_value=999))
def test_any_task_id_gives_a_dns_label_of_at_most_63(task_id: str, attempt: int) -> None:
    name = coderun_name(task_id, attempt)
    assert len(name) <= 63 and DNS_LABEL.match(name), name
    assert name.endswith(f"-a{attempt}")


def test_long_task_ids_that_share_a_prefix_get_distinct_names() -> None:
    base = "acme-" + "very-long-repository-name-" * 3
    first, second = coderun_name(base + "1001", 1), coderun_name(base + "1002", 1)
    assert first != second and len(first) <= 63 and len(second) <= 63


@given(st.text(max_size=200))
def test_label_values_are_valid(value: str) -> None:
    assert LABEL_VALUE.match(label_value(value)) and len(label_value(value)) <= 63


def test_pull_request_failure_works_on_the_pr_branch(make_context: ContextFactory) -> None:
    context = make_context(pull_request=pull())
    rex = load_roster().specialists["rex"]
    manifest = build_manifest(
        target_of(context), rex, namespace="cto", cli="claude", model="m-1", prompt="Fix it.\n"
    )
    assert manifest["apiVersion"] == "agents.platform/v1" and manifest["kind"] == "CodeRun"
    meta = manifest["metadata"]
    assert (meta["name"], meta["namespace"]) == ("healer-acme-widgets-7001-a1", "cto")
    assert meta["labels"] == {
        "app.kubernetes.io/managed-by": "healer",
        "healer.dev/task": "acme-widgets-7001",
        "healer.dev/attempt": "1",
        "healer.dev/agent": "rex",
        "healer.dev/failure-type": "rust_test",
    }
    spec = manifest["spec"]
    assert spec["repositoryUrl"] == "https://github.com/acme/widgets"
    assert (spec["branch"], spec["baseBranch"], spec["pullRequest"]) == (
        "feature/parser",
        "main",
        42,
    )
    assert (spec["agent"], spec["githubApp"], spec["cli"], spec["model"]) == (
        "rex",
        "5DLabs-Rex",
        "claude",
        "m-1",
    )
    assert (spec["taskId"], spec["attempt"], spec["failureType"]) == (
        "acme-widgets-7001",
        1,
        "rust_test",
    )
    assert spec["prompt"] == "Fix it.\n"
    assert spec["promptRef"]["blobKey"] == "repos/acme/widgets/runs/7001/attempt-1/prompt-1.md"
    assert spec["log"]["blobKey"] == "repos/acme/widgets/runs/7001/attempt-1/jobs/90001.log"
    assert spec["log"]["failingStep"] == "Run cargo test"
    assert spec["workflowRun"] == {"id": 7001, "attempt": 1}


def test_a_push_to_the_default_branch_gets_a_branch_of_its_own(
    make_context: ContextFactory,
) -> None:
    context = make_context(detected=failure(head_branch="main"))
    target = target_of(context)
    assert (target.branch, target.base_branch) == ("healer/acme-widgets-7001", "main")


def test_a_push_to_a_feature_branch_without_a_pr_works_on_that_branch(
    make_context: ContextFactory,
) -> None:
    target = target_of(make_context(detected=failure(head_branch="topic/x")))
    assert (target.branch, target.base_branch) == ("topic/x", "main")


def test_without_a_known_default_branch_main_and_master_count_as_default(
    make_context: ContextFactory,
) -> None:
    target = target_of(make_context(detected=failure(head_branch="master", default_branch="")))
    assert target.branch == "healer/acme-widgets-7001"


def test_an_alert_goes_to_the_security_specialist_on_a_new_branch(
    make_context: ContextFactory,
) -> None:
    cipher_verdict = verdict(
        FailureType.SECURITY_DEPENDABOT, Action.FIX, "cipher", Category.SECURITY
    ).model_copy(update={"log_key": "", "failing_step": "", "job_id": None, "job_name": ""})
    context = make_context(detected=alert(), primary=cipher_verdict)
    target = target_of(context)
    assert (target.run_ref, target.run_id, target.branch) == (
        "dependabot-3",
        0,
        "healer/acme-widgets-dependabot-3",
    )
    cipher = load_roster().specialists["cipher"]
    manifest = build_manifest(target, cipher, namespace="cto", cli="c", model="m", prompt="p")
    spec = manifest["spec"]
    assert spec["githubApp"] == "5DLabs-Cipher"
    assert "workflowRun" not in spec and "log" not in spec and "pullRequest" not in spec
    assert manifest["metadata"]["labels"]["healer.dev/failure-type"] == "security_dependabot"


def test_a_huge_prompt_travels_by_reference_only(make_context: ContextFactory) -> None:
    rex = load_roster().specialists["rex"]
    big = "x" * (MAX_INLINE_PROMPT + 1)
    spec = build_manifest(
        target_of(make_context()), rex, namespace="cto", cli="c", model="m", prompt=big
    )["spec"]
    assert "prompt" not in spec and spec["promptRef"]["blobKey"].endswith("/prompt-1.md")
