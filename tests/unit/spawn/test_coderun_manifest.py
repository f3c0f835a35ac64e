"""The CodeRun manifest: deterministic DNS-1123 names, valid labels, the branch rules, the spec."""

from __future__ import annotations

import re
from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st
from spawn_fixtures import ContextFactory, alert, failure, pull, verdict

from functions.spawn.coderun import MAX_INLINE_PROMPT, build_manifest, coderun_name, label_value
from healer.coderun import validate_coderun
from healer.roster import load_roster
from healer.target import target_of
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


START = "3f786850e387550fdab836ed7e6dc881de23001b"


def test_pull_request_failure_works_on_the_pr_branch(make_context: ContextFactory) -> None:
    context = make_context(pull_request=pull())
    rex = load_roster().specialists["rex"]
    manifest = build_manifest(
        target_of(context),
        rex,
        namespace="cto",
        service="healer",
        cli="claude",
        model="m-1",
        prompt="Fix it.\n",
        start_sha=START,
    )
    assert manifest["apiVersion"] == "agents.platform/v1" and manifest["kind"] == "CodeRun"
    meta = manifest["metadata"]
    assert (meta["name"], meta["namespace"]) == ("healer-acme-widgets-7001-a1", "cto")
    assert meta["labels"] == {
        "app.kubernetes.io/name": "healer",
        "app.kubernetes.io/managed-by": "healer",
        "healer.dev/task": "acme-widgets-7001",
        "healer.dev/attempt": "1",
        "healer.dev/agent": "rex",
        "healer.dev/failure-type": "rust_test",
    }
    prompt_key = "repos/acme/widgets/runs/7001/attempt-1/prompt-1.md"
    context_key = "repos/acme/widgets/runs/7001/attempt-1/context-1.json"
    log_key = "repos/acme/widgets/runs/7001/attempt-1/jobs/90001.log"
    assert meta["annotations"] == {
        "healer.dev/task-id": "acme-widgets-7001",
        "healer.dev/attempt": "1",
        "healer.dev/repository": "acme/widgets",
        "healer.dev/target-branch": "feature/parser",
        "healer.dev/base-branch": "main",
        "healer.dev/start-sha": START,
        "healer.dev/prompt-key": prompt_key,
        "healer.dev/context-key": context_key,
        "healer.dev/log-key": log_key,
    }
    assert manifest["spec"] == {
        "runType": "remediate",
        "service": "healer",
        "repositoryUrl": "https://github.com/acme/widgets",
        "docsRepositoryUrl": "https://github.com/acme/widgets",
        "workingDirectory": ".",
        "model": "m-1",
        "githubApp": "5DLabs-Rex",
        "contextVersion": 1,
        "promptModification": "Fix it.\n",
        "cliConfig": {"cliType": "claude", "model": "m-1"},
        "env": {
            "HEALER_TASK_ID": "acme-widgets-7001",
            "HEALER_ATTEMPT": "1",
            "HEALER_AGENT": "rex",
            "HEALER_REPOSITORY": "acme/widgets",
            "HEALER_TARGET_BRANCH": "feature/parser",
            "HEALER_BASE_BRANCH": "main",
            "HEALER_START_SHA": START,
            "HEALER_FAILURE_TYPE": "rust_test",
            "HEALER_RUN_ID": "7001",
            "HEALER_RUN_ATTEMPT": "1",
            "HEALER_PULL_REQUEST": "42",
            "HEALER_JOB_ID": "90001",
            "HEALER_JOB_NAME": "test",
            "HEALER_FAILING_STEP": "Run cargo test",
            "HEALER_PROMPT_KEY": prompt_key,
            "HEALER_CONTEXT_KEY": context_key,
            "HEALER_LOG_KEY": log_key,
        },
    }
    assert "taskId" not in manifest["spec"]  # an integer, for implementation runs only
    assert validate_coderun(manifest).manifest() == manifest


def test_a_specialist_model_wins_and_the_attempt_is_the_context_version(
    make_context: ContextFactory,
) -> None:
    rex = replace(load_roster().specialists["rex"], model="special-1")
    spec = build_manifest(
        target_of(make_context(attempt=3)),
        rex,
        namespace="cto",
        service="svc",
        cli="codex",
        model="m-1",
        prompt="p",
    )["spec"]
    assert (spec["model"], spec["cliConfig"]) == (
        "special-1",
        {"cliType": "codex", "model": "special-1"},
    )
    assert spec["contextVersion"] == 3 and spec["env"]["HEALER_ATTEMPT"] == "3"
    assert spec["service"] == "svc" and "HEALER_START_SHA" not in spec["env"]


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
    manifest = build_manifest(
        target, cipher, namespace="cto", service="healer", cli="c", model="m", prompt="p"
    )
    spec = manifest["spec"]
    assert spec["githubApp"] == "5DLabs-Cipher"
    env = spec["env"]
    assert env["HEALER_ALERT"] == "dependabot-3"
    assert env["HEALER_TARGET_BRANCH"] == "healer/acme-widgets-dependabot-3"
    absent = ("HEALER_RUN_ID", "HEALER_LOG_KEY", "HEALER_PULL_REQUEST", "HEALER_JOB_ID")
    assert not set(absent) & set(env)
    assert manifest["metadata"]["labels"]["healer.dev/failure-type"] == "security_dependabot"


def test_a_huge_prompt_is_cut_with_a_note_naming_its_blob(make_context: ContextFactory) -> None:
    rex = load_roster().specialists["rex"]
    big = "é" * MAX_INLINE_PROMPT  # two bytes each: cut in the middle of the text
    manifest = build_manifest(
        target_of(make_context()), rex, namespace="cto", service="h", cli="c", model="m", prompt=big
    )
    text = manifest["spec"]["promptModification"]
    key = "repos/acme/widgets/runs/7001/attempt-1/prompt-1.md"
    assert len(text.encode("utf-8")) <= MAX_INLINE_PROMPT
    assert text.startswith("éé") and f"The whole prompt is the blob {key}" in text
    assert f"cut at {MAX_INLINE_PROMPT} of {2 * MAX_INLINE_PROMPT} bytes" in text
    assert manifest["spec"]["env"]["HEALER_PROMPT_TRUNCATED"] == "true"
    assert manifest["metadata"]["annotations"]["healer.dev/prompt-truncated"] == "true"
    assert manifest["spec"]["env"]["HEALER_PROMPT_KEY"] == key


def test_a_prompt_that_fits_is_not_cut(make_context: ContextFactory) -> None:
    rex = load_roster().specialists["rex"]
    exact = "x" * MAX_INLINE_PROMPT
    manifest = build_manifest(
        target_of(make_context()),
        rex,
        namespace="cto",
        service="h",
        cli="c",
        model="m",
        prompt=exact,
    )
    assert manifest["spec"]["promptModification"] == exact
    assert "HEALER_PROMPT_TRUNCATED" not in manifest["spec"]["env"]
