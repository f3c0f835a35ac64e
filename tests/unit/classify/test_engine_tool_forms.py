"""More of each family's tools, in the output formats they really print: cargo-deny's console and
JSON diagnostics, kubeconform/kubeval/kube-linter, checkov/tfsec/tflint/Terraform JSON, Pulumi,
the kubelet turning a job pod away, and lint/secret reports' JSON keys. Lines are hand-written in
each tool's shape."""

from __future__ import annotations

import pytest

from healer.vocabulary import Action, FailureType
from healer_classifier.engine import classify_log

T = FailureType

FORMS: list[tuple[FailureType, str]] = [
    # cargo-deny: console diagnostics (current and earlier messages), JSON however spaced
    (T.RUST_DEPS, "error[banned]: crate 'openssl = 0.10.66' is explicitly banned"),
    (T.RUST_DEPS, "warning[duplicate]: found 2 duplicate entries for crate 'syn'"),
    (T.RUST_DEPS, "error[rejected]: failed to satisfy license requirements"),
    (T.RUST_DEPS, "error: detected 'git' source not specifically allowed"),
    (T.RUST_DEPS, "error[source-not-allowed]: detected 'git' source not explicitly allowed"),
    (
        T.RUST_DEPS,
        '[\n  {\n    "fields": {\n      "code": "wildcard",\n      "graphs": [\n'
        '        {\n          "Krate": {\n            "name": "a",\n'
        '            "version": "0.1.0"\n          }\n        }\n      ],\n'
        '      "message": "found 1 wildcard dependency for crate \'a\'",\n'
        '      "severity": "error"\n    },\n    "type": "diagnostic"\n  }\n]',
    ),
    (
        T.RUST_DEPS,
        '{"type":"diagnostic","fields":{"code":"unlicensed","severity":"error",'
        '"message":"a = 0.1.0 is unlicensed","graphs":[{"Krate":{"name":"a"}}]}}',
    ),
    (
        T.SECURITY_AUDIT,
        '{\n  "fields": {\n    "code": "vulnerability",\n    "severity": "error",\n'
        '    "graphs": [{"Krate": {"name": "time"}}]\n  },\n  "type": "diagnostic"\n}',
    ),
    # Kubernetes schema validators and linters
    (T.K8S_MANIFEST, "k8s/web.yaml - Deployment web is invalid: problem validating schema."),
    (
        T.K8S_MANIFEST,
        "Summary: 3 resources found in 2 files - Valid: 2, Invalid: 1, Errors: 0, Skipped: 0",
    ),
    (T.K8S_MANIFEST, "not ok 2 - k8s/web.yaml (apps/v1/Deployment//web): missing 'spec'"),
    (T.K8S_MANIFEST, '  "resources": [\n    {\n      "status": "INVALID",'),
    (T.K8S_MANIFEST, "ERR  - chart/templates/web.yaml: Missing 'metadata' key"),
    (
        T.K8S_MANIFEST,
        "WARN - k8s/web.yaml contains an invalid Deployment (web) - spec.replicas: "
        "Invalid type. Expected: [integer,null], given: string",
    ),
    (
        T.K8S_MANIFEST,
        't/d.yaml: (object: <no namespace>/web apps/v1, Kind=Deployment) container "app" is '
        "not set to runAsNonRoot (check: run-as-non-root, remediation: Set runAsUser.)",
    ),
    (
        T.K8S_MANIFEST,
        '{\n    "check_type": "kubernetes",\n    "results": {\n        "failed_checks": [',
    ),
    # Terraform and its checkers, Pulumi
    (
        T.INFRA_IAC,
        '{\n    "check_type": "terraform",\n    "results": {\n        "failed_checks": [\n'
        '            {\n                "check_id": "CKV_AWS_20",\n'
        '                "check_class": "checkov.terraform.checks.resource.aws.S3PublicACLRead",',
    ),
    (
        T.INFRA_IAC,
        '  {\n   "rule_id": "aws-s3-enable-versioning",\n   "legacy_rule_id": "AWS077",\n'
        '   "rule_provider": "aws",\n   "links": ["https://aquasecurity.github.io/tfsec/'
        'latest/checks/aws/s3/enable-versioning/"],',
    ),
    (T.INFRA_IAC, "  3 potential problem(s) detected."),
    (
        T.INFRA_IAC,
        '{"issues":[{"rule":{"name":"terraform_unused_declarations","severity":"warning",'
        '"link":"https://github.com/terraform-linters/tflint-ruleset-terraform/blob/v0.5.0/'
        'docs/rules/terraform_unused_declarations.md"}}]}',
    ),
    (
        T.INFRA_IAC,
        '{"@level":"error","@message":"Error: Unsupported argument","@module":"terraform.ui",'
        '"type":"diagnostic"}',
    ),
    (
        T.INFRA_IAC,
        '  "valid": false,\n  "error_count": 1,\n  "diagnostics": [\n'
        '      "range": {\n        "filename": "modules/net/main.tf",',
    ),
    (
        T.INFRA_IAC,
        "FAIL - plan.json - main - aws_s3_bucket.logs: server side encryption is not enabled",
    ),
    (T.INFRA_IAC, "error: an error occurred while advancing the preview"),
    (
        T.INFRA_IAC,
        "error: --yes or --skip-preview must be passed in to proceed when running in "
        "non-interactive mode",
    ),
    (
        T.INFRA_IAC,
        "  pulumi:pulumi:Stack (app-dev):\n"
        "    error: an unhandled error occurred: Program exited with non-zero exit code: 1\n"
        "error: update failed",
    ),
    # Lint and secret reports
    (
        T.FRONTEND_LINT,
        '      "messageId": "missingSemi",\n      "nodeType": "ReturnStatement",\n'
        '    "errorCount": 1,\n    "fatalErrorCount": 0,',
    ),
    (T.PYTHON_LINT, '    "messageId": "C0114",\n    "symbol": "missing-module-docstring",'),
    (T.PYTHON_LINT, '    "code": "F401",\n    "message": "`os` imported but unused",'),
    (T.PYTHON_LINT, '    "message": "SyntaxError: Expected an expression",\n    "noqa_row": null,'),
    (
        T.SECURITY_SECRET,
        '    "rule": {\n      "id": "high-entropy",\n      "message": "High Entropy",\n'
        '    },\n    "secret": "964a1afa20dd4a3723002560",',
    ),
    (T.SECURITY_SECRET, '{"branch": "main", "reason": "High Entropy", "stringsFound": ["x"]}'),
    (T.SECURITY_AUDIT, "│     ├ VulnerabilityID : CVE-2024-12798 \n│     ├ PkgName : logback-core"),
    (T.SECURITY_AUDIT, "  - VulnerabilityID: GHSA-xxxx-yyyy-zzzz\n    PkgName: lodash"),
    # Tests and charts
    (T.RUST_TEST, "error: 1 errors occurred comparing output.\nstatus: exit status: 1"),
    (
        T.HELM_TEMPLATE,
        "[ERROR] templates/web.yaml: unable to parse YAML\n\n"
        "\terror converting YAML to JSON: yaml: line 29: did not find expected key\n\n"
        "Error: 1 chart(s) linted, 1 chart(s) failed",
    ),
]


@pytest.mark.parametrize(
    ("label", "text"), FORMS, ids=[f"{t.value}-{i}" for i, (t, _) in enumerate(FORMS)]
)
def test_tool_forms_name_their_type(label: FailureType, text: str) -> None:
    verdict = classify_log([text.encode()])
    assert verdict.failure_type is label, verdict.signals


RUNNER: list[str] = [
    "Pod was rejected: Node didn't have enough resource: cpu, requested: 2000, used: 7000, "
    "capacity: 8000",
    "  Warning  OutOfmemory  2s  kubelet  Node didn't have enough resource: memory",
    "Message: The node was low on resource: memory. Threshold quantity: 100Mi, available: 90Mi.",
    "The node had condition: [DiskPressure].",
    "Error: Process completed with exit code 143.",
]


@pytest.mark.parametrize("text", RUNNER)
def test_the_node_turning_the_job_away_is_a_rerun(text: str) -> None:
    verdict = classify_log([text.encode()])
    assert verdict.failure_type is T.INFRA_RUNNER, verdict.signals
    assert verdict.action is Action.RERUN


def test_checkov_check_ids_are_not_semgrep_findings() -> None:
    text = '            {\n                "check_id": "CKV_AWS_20",\n'
    verdict = classify_log([text.encode()])
    assert verdict.failure_type is not T.SECURITY_CODE_SCAN, verdict.signals


def test_a_semgrep_check_id_still_is_one() -> None:
    text = '{"results":[{"check_id":"python.lang.security.audit.eval-detected.eval-detected",'
    assert classify_log([text.encode()]).failure_type is T.SECURITY_CODE_SCAN


def test_eslint_message_ids_are_not_pylint_ones() -> None:
    text = '      "messageId": "missingReturnValue",\n      "messageId": "missingSemi",\n'
    assert classify_log([text.encode()]).failure_type is not T.PYTHON_LINT


def test_hadolint_json_codes_are_not_python_lint() -> None:
    text = '[{"code":"DL3008","column":1,"file":"Dockerfile","level":"warning","line":4}]'
    assert classify_log([text.encode()]).failure_type is not T.PYTHON_LINT


def test_a_cargo_deny_code_word_outside_a_diagnostic_is_no_evidence() -> None:
    text = '  "code": "duplicate key",\n'
    assert classify_log([text.encode()]).failure_type is not T.RUST_DEPS


def test_a_passing_kubeconform_summary_is_no_evidence() -> None:
    text = "Summary: 3 resources found in 2 files - Valid: 3, Invalid: 0, Errors: 0, Skipped: 0"
    assert classify_log([text.encode()]).failure_type is not T.K8S_MANIFEST


def test_exit_143_is_weaker_than_the_tool_output_before_it() -> None:
    """SIGTERM can be a tool's own timeout; clear test failures before it keep their type."""
    text = (
        "test result: FAILED. 3 passed; 1 failed; 0 ignored\n"
        "error: test failed, to rerun pass `--lib`\n"
        "Error: Process completed with exit code 143.\n"
    )
    assert classify_log([text.encode()]).failure_type is T.RUST_TEST
