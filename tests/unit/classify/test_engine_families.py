"""Tool output families: reports in non-default formats, Kubernetes validation and policy, Rust
dependency policy, the runner's own failures, infrastructure as code; and the "not sure" verdict."""

from __future__ import annotations

import pytest

from healer.vocabulary import Action, FailureType
from healer_classifier.engine import classify_log, classify_names

T = FailureType

FAMILIES: list[tuple[FailureType, str]] = [
    # machine-readable reports
    (T.SECURITY_AUDIT, '{"auditReportVersion": 2, "vulnerabilities": {"minimist": {}}}'),
    (T.SECURITY_AUDIT, '{"type":"auditAdvisory","data":{"resolution":{"id":1179}}}'),
    (
        T.SECURITY_AUDIT,
        '{"dependencies": [{"name": "jinja2", "version": "2.4.1", "vulns": '
        '[{"id": "PYSEC-2014-8", "fix_versions": ["2.7.3"]}]}]}',
    ),
    (
        T.SECURITY_AUDIT,
        '      "VulnerabilityID": "CVE-2023-44487",\n      "PkgName": "golang.org/x/net",',
    ),
    (
        T.SECURITY_AUDIT,
        '{"database":{},"vulnerabilities":{"found":true,"count":1,"list":[]}}',
    ),
    (T.SECURITY_AUDIT, '          "ruleId": "CVE-2024-24790",\n          "level": "error",'),
    (T.SECURITY_CODE_SCAN, '      "issue_severity": "HIGH",\n      "test_id": "B602",'),
    (T.SECURITY_CODE_SCAN, '{"Issues": [{"severity": "HIGH", "rule_id": "G304"}]}'),
    (T.SECURITY_SECRET, '      "hashed_secret": "513e0a36963ae1e8431c041b744679ee578b7c44",'),
    (T.SECURITY_SECRET, '  {\n    "RuleID": "generic-api-key",\n    "Secret": "REDACTED",'),
    (T.SECURITY_SECRET, '{"DetectorName":"AWS","Verified":true,"Raw":"AKIA"}'),
    (T.SECURITY_SECRET, "[ERROR] Matched one or more prohibited patterns"),
    (T.SECURITY_SECRET, "remote:   - Push cannot contain secrets"),
    (T.PYTHON_LINT, '    "url": "https://docs.astral.sh/ruff/rules/unused-import"'),
    (T.PYTHON_LINT, "app.py:1: [F401] `os` imported but unused"),
    (T.PYTHON_LINT, '    "message-id": "C0114",\n    "symbol": "missing-module-docstring",'),
    (T.PYTHON_TYPE, '    "generalDiagnostics": [\n      {"rule": "reportAttributeAccessIssue"}'),
    (T.FRONTEND_LINT, '[{"filePath":"/w/src/a.js","messages":[],"errorCount":2}]'),
    (T.FRONTEND_LINT, "/w/src/a.js: line 1, col 7, Error - 'x' is unused. (no-unused-vars)"),
    (T.RUST_CLIPPY, '{"reason":"compiler-message","message":{"code":"clippy::needless_return"}}'),
    # Kubernetes validation and policy
    (
        T.K8S_MANIFEST,
        '  "kind": "Status",\n  "status": "Failure",\n'
        '  "message": "Deployment.apps \\"web\\" is invalid: spec.replicas: Invalid value",\n'
        '  "reason": "Invalid",',
    ),
    (T.K8S_MANIFEST, '        "reason": "FieldValueRequired",'),
    (T.K8S_MANIFEST, '{"filename":"d.yaml","kind":"Deployment","status":"statusInvalid"}'),
    (
        T.K8S_MANIFEST,
        'd.yaml: (object: <no namespace>/web apps/v1, Kind=Deployment) container "app" does '
        "not have a read-only root file system (check: no-read-only-root-fs)\n"
        "Error: found 1 lint errors",
    ),
    (T.K8S_MANIFEST, "policy require-labels -> resource default/Deployment/web failed:"),
    (T.K8S_MANIFEST, "pass: 0, fail: 2, warn: 0, error: 0, skip: 0"),
    (T.K8S_MANIFEST, "FAIL - deploy.yaml - main - Containers must not run as root"),
    # Rust dependency policy
    (T.RUST_DEPS, "error[rejected]: failed to satisfy license requirements"),
    (T.RUST_DEPS, "error[banned]: crate 'openssl = 0.10.55' is explicitly banned"),
    (T.RUST_DEPS, "advisories ok, bans FAILED, licenses ok, sources ok"),
    (T.RUST_DEPS, "Vetting Failed!\n\n1 unvetted dependencies:\n  foo:1.0.0 missing"),
    # infrastructure as code
    (T.INFRA_IAC, "Error: Unsupported argument\n\n  on main.tf line 4, in resource:"),
    (T.INFRA_IAC, "│ Error: Missing required argument\n│\n│   on vpc.tofu line 9, in module:"),
    (
        T.INFRA_IAC,
        "2 issue(s) found:\n\nWarning: variable not used (terraform_unused_declarations)",
    ),
    (T.INFRA_IAC, 'fatal: [web1]: FAILED! => {"changed": false}'),
]


@pytest.mark.parametrize(
    ("label", "text"), FAMILIES, ids=[f"{i}-{s[0].value}" for i, s in enumerate(FAMILIES)]
)
def test_report_and_policy_formats_name_their_type(label: FailureType, text: str) -> None:
    assert classify_log([text + "\n"]).failure_type == label


RUNNER: list[str] = [
    "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory",
    "/home/runner/work/_temp/x.sh: line 2:  4242 Killed                  cargo build",
    "Killed",
    "c++: fatal error: Killed signal terminated program cc1plus",
    "collect2: fatal error: ld terminated with signal 9 [Killed]",
    "##[error]Process completed with exit code 137.",
    'ERROR: failed to solve: process "/bin/sh -c make" did not complete successfully: '
    "exit code: 137",
    "System.IO.IOException: No space left on device",
    "##[error]The job running on runner gh-42 has exceeded the maximum execution time of 60 "
    "minutes.",
    "##[error]The self-hosted runner: ci-7 lost communication with the server.",
    "Warning  FailedScheduling  0/3 nodes are available: 3 Insufficient memory.",
    "Error: pod failed to come online with error: Error: Pod is unhealthy with phase Failed",
]


@pytest.mark.parametrize("text", RUNNER)
def test_the_runner_failing_is_a_rerun_not_a_fix(text: str) -> None:
    verdict = classify_log([text + "\n"])
    assert verdict.failure_type == T.INFRA_RUNNER, verdict.signals
    assert verdict.action == Action.RERUN


def test_rustc_killed_mid_compile_is_the_runner_not_rust() -> None:
    log = (
        "   Compiling widgets v0.1.0 (/w)\n"
        "error: could not compile `widgets` (lib)\n\nCaused by:\n"
        "  process didn't exit successfully: `rustc --crate-name widgets` "
        "(signal: 9, SIGKILL: kill)\n"
    )
    verdict = classify_log([log])
    assert (verdict.failure_type, verdict.action) == (T.INFRA_RUNNER, Action.RERUN)
    assert any("process killed" in s for s in verdict.signals)


def test_a_canceled_job_is_the_runner_and_asks_for_nothing() -> None:
    log = "##[group]Run make test\nmake test\n##[endgroup]\n##[error]The operation was canceled.\n"
    verdict = classify_log([log])
    assert (verdict.failure_type, verdict.action) == (T.INFRA_RUNNER, Action.IGNORE)


def test_kubectl_without_an_api_server_is_not_a_manifest_error() -> None:
    log = (
        'error: error validating "deploy.yaml": error validating data: failed to download '
        'openapi: Get "http://localhost:8080/openapi/v2?timeout=32s": dial tcp 127.0.0.1:8080: '
        "connect: connection refused; if you choose to ignore these errors, turn validation off\n"
    )
    verdict = classify_log([log])
    assert verdict.failure_type == T.INFRA_NETWORK and verdict.action == Action.RERUN


def test_a_real_manifest_error_is_still_one() -> None:
    log = (
        'error: error validating "d.yaml": error validating data: ValidationError(Deployment.'
        'spec): unknown field "replica" in io.k8s.api.apps.v1.DeploymentSpec\n'
    )
    assert classify_log([log]).failure_type == T.K8S_MANIFEST


def test_thin_evidence_is_unsure_and_names_the_runner_ups() -> None:
    verdict = classify_log(["something went wrong\nmake: *** [all] Error 2\n"])
    assert verdict.action == Action.UNSURE and verdict.confidence < 0.35


def test_a_confident_fix_stays_a_fix() -> None:
    log = "app/x.py:3: error: Incompatible return value type  [return-value]\n"
    log += "Found 1 error in 1 file (checked 2 source files)\n"
    verdict = classify_log([log])
    assert verdict.action == Action.FIX and verdict.confidence >= 0.35


def test_a_close_call_lists_the_runner_up_types() -> None:
    log = "error: 1 vulnerability found!\nERROR: Potential secrets about to be committed\n"
    verdict = classify_log([log])
    if verdict.action == Action.UNSURE:
        assert any(s.startswith("runner-up types:") for s in verdict.signals)
    else:
        assert any(s.startswith("runner-up:") for s in verdict.signals)


def test_names_only_is_unsure() -> None:
    verdict = classify_names(job_name="clippy", step_name="cargo clippy")
    assert verdict.action == Action.UNSURE


PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x04\x00\x00\x00\x01\x08\x02\x00\x00\x00"
    + bytes(range(256)) * 4
)


@pytest.mark.parametrize("data", [PNG, b"\x1f\x8b\x08\x00" + bytes(range(256)) * 8])
def test_binary_input_is_never_a_fix(data: bytes) -> None:
    verdict = classify_log([data])
    assert verdict.action == Action.UNSURE and verdict.failure_type == T.GENERAL
    assert "binary" in verdict.signals[0]


def test_empty_input_is_never_a_fix() -> None:
    assert classify_log([b""]).action == Action.IGNORE
