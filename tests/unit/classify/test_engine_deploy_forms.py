"""Output shapes of deployment, policy and report tools: CloudFormation as the aws cli, SAM and
the Serverless Framework report it, Pulumi's concurrent-update conflict, kubescape and kyverno's
tables, cfn-lint's default and bracketed forms, trivy's JUnit/code-quality/config reports,
osv-scanner's GitHub annotations, gitleaks' CSV and SARIF, semgrep's SARIF, cargo-vet's
unvetted list, Maven/Gradle transfer failures and the runner's own messages. Lines are
hand-written in each tool's shape."""

from __future__ import annotations

import pytest

from healer.vocabulary import Action, FailureType
from healer_classifier.engine import classify_log
from healer_classifier.engine.scan import _PREFILTER

T = FailureType

FORMS: list[tuple[FailureType, Action, str]] = [
    # CloudFormation
    (
        T.INFRA_IAC,
        Action.FIX,
        "Waiter StackUpdateComplete failed: Waiter encountered a terminal failure state: "
        'For expression "Stacks[].StackStatus" we matched expected path: '
        '"UPDATE_ROLLBACK_COMPLETE" at least once',
    ),
    (
        T.INFRA_IAC,
        Action.FIX,
        "Error: Failed to create changeset for the stack: api, "
        "Waiter ChangeSetCreateComplete failed: Waiter encountered a terminal failure state",
    ),
    (
        T.INFRA_IAC,
        Action.FIX,
        "  Stack:arn:aws:cloudformation:eu-west-1:123456789012:stack/web/1a2b is in "
        "ROLLBACK_COMPLETE state and can not be updated.",
    ),
    (
        T.INFRA_IAC,
        Action.FIX,
        "The following resource(s) failed to create: [Queue, Topic]. Rollback requested by user.",
    ),
    (
        T.INFRA_IAC,
        Action.FIX,
        "Failed to receive 2 resource signal(s) within the specified duration",
    ),
    # Pulumi
    (
        T.INFRA_IAC,
        Action.FIX,
        "error: [409] Conflict: Another update is currently in progress.\n"
        "To learn more about possible reasons and resolution, visit "
        "https://www.pulumi.com/docs/troubleshooting/#conflict",
    ),
    (T.INFRA_IAC, Action.FIX, "ConcurrentUpdateError: code: -2\n stdout: \n stderr: "),
    # cfn-lint
    (
        T.INFRA_IAC,
        Action.FIX,
        "E3002 Invalid Property Resources/Bucket/Properties/Foo at Resources/Bucket/Properties\n"
        "templates/app.yaml:14:7",
    ),
    (
        T.INFRA_IAC,
        Action.FIX,
        "[cfn-lint] E3012: Property Resources/Fn/Properties/Timeout should be of type Integer\n"
        "template.yaml:40:7",
    ),
    (
        T.INFRA_IAC,
        Action.FIX,
        "Command '['cfn-lint', 'stacks/net.yaml']' returned non-zero exit status 2.",
    ),
    # trivy config on Terraform and CloudFormation
    (
        T.INFRA_IAC,
        Action.FIX,
        "$ trivy config infra/\n\nnetwork.tf (terraform)\n\n"
        "Tests: 4 (SUCCESSES: 2, FAILURES: 2, EXCEPTIONS: 0)\n"
        "Failures: 2 (UNKNOWN: 0, LOW: 0, MEDIUM: 0, HIGH: 2, CRITICAL: 0)\n\n"
        "HIGH: Security group rule allows ingress from public internet.",
    ),
    (
        T.INFRA_IAC,
        Action.FIX,
        "stack.yaml (cloudformation)\n\nTests: 2 (SUCCESSES: 1, FAILURES: 1)\n\n"
        "AVD-AWS-0132 (HIGH): Bucket does not encrypt data with a customer managed key.",
    ),
    # kubescape and kyverno
    (
        T.K8S_MANIFEST,
        Action.FIX,
        "[control: Privileged container] failed 😥\nDescription: Potential attackers may gain "
        "access\nSummary - Passed:2   Excluded:0   Failed:1   Total:3",
    ),
    (
        T.K8S_MANIFEST,
        Action.FIX,
        "Error: scan risk-score 44.10 is above permitted threshold 10.00",
    ),
    (
        T.K8S_MANIFEST,
        Action.FIX,
        "Applying 3 policy rules to 12 resources...\n"
        "│ ID (12) │ POLICY          │ RULE           │ RESOURCE              │ RESULT │ REASON │\n"
        "│ 1       │ require-labels  │ check-team     │ default/Pod/web       │ Fail   │        │",
    ),
    # machine-readable reports
    (
        T.SECURITY_AUDIT,
        Action.FIX,
        '<testsuites name="trivy">\n<testsuite tests="1" failures="1" name="app:1 (debian 12)">\n'
        '<testcase classname="zlib1g-1.2.13" name="[CRITICAL] CVE-2023-45853" time="">',
    ),
    (
        T.SECURITY_AUDIT,
        Action.FIX,
        '[{"type": "issue", "check_name": "container_scanning", "categories": ["Security"],\n'
        '"description": "CVE-2023-0286: openssl: X.400 address type confusion",\n'
        '"severity": "major"}]',
    ),
    (
        T.SECURITY_AUDIT,
        Action.FIX,
        "::error file=web/package-lock.json::web/package-lock.json%0A+---+%0A| PACKAGE | "
        "VULNERABILITY ID | CVSS | CURRENT VERSION | FIXED VERSION |%0A| lodash | "
        "https://osv.dev/GHSA-35jh-r3h4-6jhm | 7.2 | 4.17.20 | 4.17.21 |",
    ),
    (
        T.SECURITY_CODE_SCAN,
        Action.FIX,
        '{"results": [{"fingerprints": {"matchBasedId/v1": "9f0c"}, '
        '"message": {"text": "User input flows into eval"}, "ruleId": "python.eval-taint"}]}',
    ),
    (
        T.SECURITY_SECRET,
        Action.FIX,
        "RuleID,Commit,File,SymlinkFile,Secret,Match,StartLine,EndLine,StartColumn,EndColumn,"
        "Author,Message,Date,Email,Fingerprint\n"
        "github-pat,9a8b7c,ci/env.sh,,REDACTED,token=REDACTED,3,3,7,50,Dev,add,2024-01-02,d@x,fp",
    ),
    (
        T.SECURITY_SECRET,
        Action.FIX,
        '{"message": {"text": "slack-bot-token has detected secret for file bot.py at commit '
        '1234abcd."}, "ruleId": "slack-bot-token"}',
    ),
    # cargo-vet
    (
        T.RUST_DEPS,
        Action.FIX,
        'Vetting Failed!\n\n2 unvetted dependencies:\n  rand_core:0.6.4 missing ["safe-to-deploy"]'
        '\n  zerocopy:0.7.32 missing ["safe-to-run"]',
    ),
    # Maven and Gradle transfers broken by the network or the repository
    (
        T.INFRA_NETWORK,
        Action.RERUN,
        "[ERROR] Failed to execute goal on project core: Could not resolve dependencies for "
        "project a:core:jar:1.0: Could not transfer artifact g:a:jar:2.1 from/to central "
        "(https://repo.maven.apache.org/maven2): Connection reset -> [Help 1]",
    ),
    (
        T.INFRA_NETWORK,
        Action.RERUN,
        "[ERROR] Could not transfer artifact g:a:pom:1.0 from/to central (https://repo1): "
        "Transfer failed for https://repo1/g/a/1.0/a-1.0.pom 503 Service Unavailable",
    ),
    (
        T.INFRA_NETWORK,
        Action.RERUN,
        "> Could not GET 'https://repo.maven.apache.org/maven2/g/a/1.0/a-1.0.pom'. "
        "Received status code 502 from server: Bad Gateway",
    ),
    # the runner: disk, cancellation by concurrency, container action builds
    (T.INFRA_RUNNER, Action.RERUN, "LLVM ERROR: IO failure on output stream: no space on device"),
    (T.INFRA_RUNNER, Action.RERUN, "System.IO.IOException: There is not enough space on the disk."),
    (
        T.INFRA_RUNNER,
        Action.IGNORE,
        "Canceling since a higher priority waiting request for 'deploy-refs/heads/main' exists",
    ),
    (
        T.DOCKER_BUILD,
        Action.FIX,
        "Build container for action use: '/home/runner/work/_actions/o/a/v2/Dockerfile'.\n"
        "Error: Docker build failed with exit code 100",
    ),
    # Argo CD, Dependabot, git, linters
    (
        T.ARGOCD_SYNC,
        Action.FIX,
        'level=info msg="Sync operation to 1a2b3c failed: one or more synchronization tasks '
        'completed unsuccessfully" application=web',
    ),
    (
        T.SECURITY_DEPENDABOT,
        Action.FIX,
        "Dependabot cannot update minimist to a non-vulnerable version",
    ),
    (
        T.GIT_MERGE_CONFLICT,
        Action.FIX,
        "Aborting cherry-pick due to unexpected conflicts:\npackages/app/CHANGELOG.md",
    ),
    (
        T.GIT_MERGE_CONFLICT,
        Action.FIX,
        "Error: cherry-pick of 1a2b3c onto release-1.4 failed with conflicts",
    ),
    (
        T.FRONTEND_LINT,
        Action.FIX,
        "[format:check] npm ERR! web@1.0.0 format:check: `prettier --check .`\n"
        "[format:check] npm ERR! Exit status 1\n"
        'ERROR: "format:check" exited with 1.',
    ),
    (
        T.RUST_CLIPPY,
        Action.FIX,
        "ERROR: `cargo clippy`: this `if` has identical blocks (file:'src/lib.rs', line:12)",
    ),
]


@pytest.mark.parametrize(
    ("label", "action", "text"),
    FORMS,
    ids=[f"{t.value}-{i}" for i, (t, _, _) in enumerate(FORMS)],
)
def test_tool_output_names_its_type(label: FailureType, action: Action, text: str) -> None:
    verdict = classify_log([line.encode() for line in text.splitlines(keepends=True)])
    assert verdict.failure_type is label, verdict.signals
    assert verdict.action is action, verdict.signals


NOT_EVIDENCE: list[str] = [
    # passing or benign forms of the same tools
    "Summary - Passed:3   Excluded:0   Failed:0   Total:3",
    "│ 1       │ require-labels  │ check-team     │ default/Pod/web       │ Pass   │        │",
    "Successfully cherry-picked 1a2b3c onto release/1.2",
    # a missing artifact is the build's, not the network's
    "[ERROR] Could not transfer artifact g:a:pom:1.0 from/to central (https://repo1): "
    "status code: 404, reason phrase: Not Found (404)",
    # look-alikes
    'see docs for ["safe-to-deploy"] criteria',
    "The network (terraform) module is documented in README.md",
]


@pytest.mark.parametrize("text", NOT_EVIDENCE)
def test_benign_and_look_alike_lines_are_no_evidence(text: str) -> None:
    verdict = classify_log([text.encode()])
    assert verdict.failure_type is T.GENERAL, verdict.signals


def test_trivy_config_on_dockerfiles_stays_a_code_scan() -> None:
    """Only cloud IaC targets are infrastructure; a Dockerfile misconfiguration is a scan."""
    text = (
        "Dockerfile (dockerfile)\n\nTests: 20 (SUCCESSES: 19, FAILURES: 1)\n\n"
        "AVD-DS-0002 (HIGH): Specify at least 1 USER command in Dockerfile\n"
    )
    verdict = classify_log([line.encode() for line in text.splitlines(keepends=True)])
    assert verdict.failure_type is T.SECURITY_CODE_SCAN, verdict.signals


def test_the_prefilter_stays_a_dfa_with_these_needles(capfd: pytest.CaptureFixture[str]) -> None:
    lines = [f"{i} {word} {i * 7919 % 10007} x{i}" for i in range(4000) for word in ("a", "b")]
    for _, _, text in FORMS:
        lines.extend(text.splitlines())
    for line in lines:
        _PREFILTER.search(line.encode())
    assert "DFA out of memory" not in capfd.readouterr().err


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("error[B001]: openssl = 0.10.55 is explicitly denied", T.RUST_DEPS),
        ("error[L003]: GPL-3.0 is not accepted for crate 'readline'", T.RUST_DEPS),
        (
            "warning[S002]: 'git' dependency on a crate not from an allowed organization",
            T.RUST_DEPS,
        ),
        ("error[A001]: Potential segfault in the time crate", T.SECURITY_AUDIT),
    ],
)
def test_cargo_deny_numbered_diagnostics(text: str, label: FailureType) -> None:
    """cargo-deny before 0.13 numbered its codes; advisories stay an audit, the rest policy."""
    verdict = classify_log([f"{text}\n  ┌─ /src/Cargo.lock:6:1\n".encode()])
    assert verdict.failure_type is label, verdict.signals
