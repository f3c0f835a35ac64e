"""Scanners whose reports have no compiler-style summary: secret scanners, IaC and Kubernetes
policy scanners, composer audit, cargo-deny's SARIF and cargo-vet's policy errors, in each of
their common formats. Lines are hand-written in each tool's shape."""

from __future__ import annotations

import pytest

from healer.vocabulary import Action, FailureType
from healer_classifier.engine import classify_log
from healer_classifier.engine.scan import _PREFILTER

T = FailureType

FORMS: list[tuple[FailureType, str]] = [
    # ggshield: JSON and the text incident header
    (
        T.SECURITY_SECRET,
        '{"id": "x", "type": "path_scan", "entities_with_incidents": [{"filename": "a.env", '
        '"incidents": [{"policy": "Secrets detection", "type": "Generic Password"}], '
        '"total_incidents": 1}], "total_incidents": 1}',
    ),
    (
        T.SECURITY_SECRET,
        ">>> Incident 1(Secrets detection): Generic Password (Validity: Invalid) "
        "(Ignore with SHA: " + "ab" * 32 + ") (1 occurrence)",
    ),
    # Nosey Parker: current JSON, 0.x JSONL, text report
    (
        T.SECURITY_SECRET,
        '[{"finding_id": "f1", "rule_name": "AWS API Key", "rule_text_id": "np.aws.1", '
        '"num_matches": 2, "num_redundant_matches": 0, "matches": []}]',
    ),
    (
        T.SECURITY_SECRET,
        '{"type":"finding","rule_name":"Slack Token","match_content":"xoxb-…","num_matches":1}',
    ),
    (
        T.SECURITY_SECRET,
        "Finding 1/4 (id 0c1f9e2a)\nRule: Generic Password\nGroup: hunter2\n",
    ),
    # talisman: JSON report and console messages
    (
        T.SECURITY_SECRET,
        '{"summary": {"types": {"filecontent": 1}}, "results": [{"filename": "cfg/app.yml", '
        '"failure_list": [{"type": "filecontent", "severity": "high"}], "warning_list": []}]}',
    ),
    (T.SECURITY_SECRET, "| cfg/app.yml | Potential secret pattern : password: hunter2 | low |"),
    (
        T.SECURITY_SECRET,
        "| a.json | Expected file to not to contain base64 encoded texts such as: c2VjcmV0 "
        "| high |",
    ),
    # detect-secrets pre-commit hook
    (
        T.SECURITY_SECRET,
        "ERROR: Potential secrets about to be committed to git repo!\n\n"
        "Secret Type: Secret Keyword\nLocation:    settings.py:12",
    ),
    # KICS: JSON and console
    (
        T.INFRA_IAC,
        '{\n\t"files_scanned": 3,\n\t"queries_total": 900,\n\t"queries_failed_to_execute": 0,\n'
        '\t"queries": [{"query_name": "S3 Bucket Logging Disabled", "files": [{"file_name": '
        '"s3.tf", "similarity_id": "9a1b"}]}]\n}',
    ),
    (
        T.INFRA_IAC,
        "S3 Bucket Without Versioning, Severity: MEDIUM, Results: 2\n"
        "Description: S3 bucket should have versioning enabled\nPlatform: Terraform",
    ),
    # Terrascan: JSON and the human summary
    (
        T.INFRA_IAC,
        '{"results": {"violations": [{"rule_name": "s3Versioning", '
        '"rule_id": "AC_AWS_0214", "severity": "HIGH", "file": "main.tf"}], '
        '"scan_summary": {"policies_validated": 9, "violated_policies": 1}}}',
    ),
    (T.INFRA_IAC, "Scan Summary -\n\n\tPolicies Validated  :\t9\n\tViolated Policies   :\t2"),
    # cfn-lint: JSON (every rule names its source) and parseable
    (
        T.INFRA_IAC,
        '[{"Filename": "stack.yaml", "Level": "Error", "Message": "Property X not allowed", '
        '"Rule": {"Id": "E3002", "Source": "https://github.com/aws-cloudformation/cfn-lint"}}]',
    ),
    (T.INFRA_IAC, "stack.yaml:12:5:12:17:E3012:Property Resources/Q/Properties/X should be int"),
    # tflint plugin rulesets, default and compact formats
    (
        T.INFRA_IAC,
        'Error: "t9.huge" is an invalid value as instance_type (aws_instance_invalid_type)',
    ),
    (
        T.INFRA_IAC,
        'vm.tf:4:11: Error - "Standard_X" is an invalid value as size '
        "(azurerm_linux_virtual_machine_invalid_size)",
    ),
    (
        T.INFRA_IAC,
        'Warning: Missing version constraint for provider "google" in `required_providers` '
        "(terraform_required_providers)",
    ),
    # OpenTofu provider resolution
    (
        T.INFRA_IAC,
        "│ Error: Failed to resolve provider packages\n│\n"
        "│ Could not resolve provider hashicorp/null: no available releases match the given "
        "constraints 9.9.9",
    ),
    # kube-linter JSON, kubeaudit (JSON, logfmt, pretty), conftest JSON and summary
    (
        T.K8S_MANIFEST,
        '{"Checks": [{"name": "no-read-only-root-fs", "scope": {"objectKinds": '
        '["DeploymentLike"]}}], "Reports": [{"Diagnostic": {"Message": "x"}, "Object": '
        '{"K8sObject": {"Name": "web"}}}], "Summary": {"ChecksStatus": "Failed"}}',
    ),
    (
        T.K8S_MANIFEST,
        '{"AuditResultName":"RunAsNonRootPSCNilCSCNil","ResourceKind":"Deployment",'
        '"level":"error","msg":"runAsNonRoot is not set"}',
    ),
    (
        T.K8S_MANIFEST,
        'time="2024-01-01T00:00:00Z" level=error msg="hostPID is set" '
        "AuditResultName=NamespaceHostPIDTrue",
    ),
    (T.K8S_MANIFEST, "-- [error] PrivilegeEscalationNil\n   Message: allowPrivilegeEscalation"),
    (
        T.K8S_MANIFEST,
        '[{"filename": "deploy.yaml", "namespace": "main", "successes": 2, "failures": '
        '[{"msg": "containers must not run as root", "metadata": {"query": '
        '"data.main.deny"}}]}]',
    ),
    (T.K8S_MANIFEST, "5 tests, 3 passed, 0 warnings, 2 failures, 0 exceptions"),
    # composer audit: JSON, summary, table
    (
        T.SECURITY_AUDIT,
        '{"advisories": {"acme/lib": [{"advisoryId": "PKSA-abcd-efgh-ijkl", '
        '"affectedVersions": "<1.2.3", "cve": "CVE-2024-0001"}]}, "abandoned": []}',
    ),
    (T.SECURITY_AUDIT, "Found 3 security vulnerability advisories affecting 2 packages:"),
    (T.SECURITY_AUDIT, "| Advisory ID       | PKSA-abcd-efgh-ijkl                  |"),
    # cargo-deny SARIF
    (
        T.SECURITY_AUDIT,
        '"partialFingerprints": {\n  "cargo-deny/advisory-id": "RUSTSEC-2020-0001",\n'
        '  "cargo-deny/id": "a:unmaintained"\n},\n"ruleId": "a:unmaintained"',
    ),
    (T.RUST_DEPS, '          "ruleId": "l:rejected",\n          "level": "error",'),
    (T.RUST_DEPS, '          "ruleId": "b:banned",'),
    # cargo-vet policy and store errors (miette)
    (
        T.RUST_DEPS,
        "  × There are some issues with your policy.audit-as-crates-io entries\n\n"
        "Error:   × some audit-as-crates-io packages don't match published crates.io versions",
    ),
    (
        T.RUST_DEPS,
        "Error:   × Some non-crates.io-fetched packages match published crates.io versions",
    ),
    (T.RUST_DEPS, "Error:   × some audit-as-crates-io policies don't match first-party crates"),
    (T.RUST_DEPS, "  × Your cargo-vet store (supply-chain) has consistency errors"),
    (T.RUST_DEPS, "  × imports.lock is out-of-date with respect to configuration"),
    (T.RUST_DEPS, "  × There are some issues with your third-party policy entries"),
    # BuildKit quoting the Dockerfile at a failed instruction
    (
        T.DOCKER_BUILD,
        "--------------------\n  11 |     WORKDIR /app\n  12 | >>> COPY dist/ ./dist/\n"
        '  13 |     CMD ["node", "dist/main.js"]\n--------------------',
    ),
]


@pytest.mark.parametrize(
    ("label", "text"), FORMS, ids=[f"{t.value}-{i}" for i, (t, _) in enumerate(FORMS)]
)
def test_scanner_reports_name_their_type(label: FailureType, text: str) -> None:
    verdict = classify_log([text.encode()])
    assert verdict.failure_type is label, verdict.signals
    assert verdict.action is Action.FIX, verdict.signals


def test_bsd_make_reporting_a_sigkill_is_the_runner() -> None:
    text = "--- all ---\n*** Signal 9\n\nStop.\nmake: stopped in /usr/ports/lang/rust\n"
    verdict = classify_log([text.encode()])
    assert verdict.failure_type is T.INFRA_RUNNER, verdict.signals
    assert verdict.action is Action.RERUN


NOT_EVIDENCE: list[str] = [
    # passing summaries
    "Found 0 security vulnerability advisories affecting 0 packages.",
    "5 tests, 5 passed, 0 warnings, 0 failures, 0 exceptions",
    "Scan Summary -\n\tPolicies Validated  :\t9\n\tViolated Policies   :\t0",
    "S3 Bucket Without Versioning, Severity: MEDIUM, Results: 0",
    # look-alikes from other tools
    '- Finding hashicorp/aws versions matching "~> 5.0"...',
    ">>> print(1 + 1)",
    "see (aws_instance) for details",
    '{"query": "SELECT 1", "successes": "n/a"}',
]


@pytest.mark.parametrize("text", NOT_EVIDENCE)
def test_look_alikes_and_clean_summaries_are_no_evidence(text: str) -> None:
    verdict = classify_log([text.encode()])
    assert verdict.failure_type is T.GENERAL, verdict.signals


def test_the_prefilter_runs_as_a_dfa(capfd: pytest.CaptureFixture[str]) -> None:
    """Past its memory budget RE2 drops to its NFA (many times slower) and says so on stderr."""
    lines = [f"{i} {word} {i * 7919 % 10007} x{i}" for i in range(4000) for word in ("a", "b")]
    for needle_line in FORMS:
        lines.extend(needle_line[1].splitlines())
    for line in lines:
        _PREFILTER.search(line.encode())
    assert "DFA out of memory" not in capfd.readouterr().err
