# ruff: noqa: E501  (tool output samples are kept on one line each)
"""One short, hand-written output per tool: each type in the vocabulary can be produced."""

from __future__ import annotations

import pytest

from healer.vocabulary import FailureType
from healer_classifier.engine import classify_log

SAMPLES: list[tuple[str, str]] = [
    (
        "rust_clippy",
        "error: redundant clone\n   = note: `-D clippy::redundant-clone` implied by `-D warnings`",
    ),
    ("rust_test", "---- tests::it_works stdout ----\ntest result: FAILED. 0 passed; 1 failed"),
    ("rust_build", "error[E0599]: no method named `foo` found\nerror: could not compile `app`"),
    ("rust_deps", 'error: failed to select a version for the requirement `serde = "^9"`'),
    (
        "frontend_deps",
        "npm error code ERESOLVE\nnpm error ERESOLVE unable to resolve dependency tree",
    ),
    ("frontend_deps", ' ERR_PNPM_OUTDATED_LOCKFILE  Cannot install with "frozen-lockfile"'),
    ("frontend_deps", '➤ YN0001: │ Error: Couldn\'t find package "left-pad@npm:9.9.9"'),
    (
        "frontend_deps",
        'error An unexpected error occurred: "https://registry.yarnpkg.com/left-padd: Not found".',
    ),
    ("frontend_typescript", "src/a.ts(3,7): error TS2322: Type 'string' is not assignable."),
    (
        "frontend_lint",
        "/w/src/a.ts\n  12:5  error  'x' is assigned a value but never used  no-unused-vars\n\n✖ 1 problem (1 error, 0 warnings)",
    ),
    (
        "frontend_lint",
        "Checking formatting...\n[warn] src/a.ts\n[warn] Code style issues found in the above file. Run Prettier with --write to fix.",
    ),
    ("frontend_test", "FAIL src/a.test.ts\nTests:       1 failed, 3 passed, 4 total"),
    (
        "frontend_test",
        "  2 failing\n\n  1) cart\n       adds items:\n     AssertionError: expected 1 to equal 2",
    ),
    ("frontend_test", "  1 failed\n    [chromium] › tests/login.spec.ts:3:1 › logs in"),
    ("frontend_build", "Module not found: Error: Can't resolve './Header' in '/app/src'"),
    ("frontend_build", '[vite]: Rollup failed to resolve import "lodash" from "src/main.ts".'),
    ("python_lint", "src/a.py:1:8: F401 [*] `os` imported but unused\nFound 1 error."),
    ("python_lint", "would reformat src/a.py\nOh no! 💥 💔 💥\n1 file would be reformatted."),
    ("python_lint", "ERROR: /w/src/a.py Imports are incorrectly sorted and/or formatted."),
    ("python_type", 'src/a.py:3: error: Argument 1 to "f" has incompatible type  [arg-type]'),
    (
        "python_type",
        '/w/a.py:3:5 - error: "x" is not defined (reportUndefinedVariable)\n1 error, 0 warnings, 0 informations',
    ),
    (
        "python_test",
        "FAILED tests/test_a.py::test_b - assert 1 == 2\n==== 1 failed, 2 passed in 0.1s ====",
    ),
    ("python_test", "Ran 4 tests in 0.01s\n\nFAILED (failures=1)"),
    (
        "python_deps",
        "ERROR: Could not find a version that satisfies the requirement nope==9\nERROR: No matching distribution found for nope==9",
    ),
    (
        "python_deps",
        "  × No solution found when resolving dependencies:\n  ╰─▶ Because there is no version of foo==9",
    ),
    (
        "docker_build",
        '#8 ERROR: process "/bin/sh -c make" did not complete successfully: exit code: 2\n------\n > [build 3/7] RUN make:\nERROR: failed to solve: process "/bin/sh -c make" did not complete successfully: exit code: 2',
    ),
    ("docker_build", 'Error: building at STEP "RUN make": while running runtime: exit status 2'),
    (
        "helm_template",
        "==> Linting ./chart\n[ERROR] templates/deploy.yaml: unable to parse YAML\nError: 1 chart(s) linted, 1 chart(s) failed",
    ),
    (
        "helm_template",
        'Error: template: chart/templates/svc.yaml:7:20: executing "chart/templates/svc.yaml" at <.Values.x.y>: nil pointer evaluating interface {}.y',
    ),
    (
        "k8s_manifest",
        "stdin - Deployment web is invalid: problem validating schema. Check JSON formatting: jsonschema: '/spec/replicas' does not validate",
    ),
    (
        "k8s_manifest",
        'The Deployment "web" is invalid: spec.template.spec.containers[0].image: Required value',
    ),
    (
        "k8s_manifest",
        'error: error validating "d.yaml": error validating data: ValidationError(Deployment.spec): unknown field "replica"',
    ),
    ("argocd_sync", "Message: ComparisonError: failed to load target state: rpc error"),
    (
        "argocd_sync",
        'time="2024-05-01T10:00:00Z" level=fatal msg="Operation has completed with phase: Failed"',
    ),
    ("security_code_scan", "Passed checks: 20, Failed checks: 2, Skipped checks: 0"),
    ("security_code_scan", "Error: Code scanning is not enabled for this repository."),
    (
        "argocd_sync",
        'Operation:  Sync\nMessage:    one or more objects failed to apply, reason: Deployment.apps "web" is invalid',
    ),
    (
        "yaml_syntax",
        "./ci.yaml\n  3:1       error    wrong indentation: expected 2 but found 0  (indentation)",
    ),
    (
        "yaml_syntax",
        'yaml.scanner.ScannerError: mapping values are not allowed here\n  in "config.yml", line 3, column 9',
    ),
    (
        "infra_network",
        "fatal: unable to access 'https://github.com/a/b/': Could not resolve host: github.com",
    ),
    (
        "infra_network",
        "Error response from daemon: toomanyrequests: You have reached your pull rate limit.",
    ),
    ("infra_network", "npm error code ECONNRESET\nnpm error network aborted"),
    (
        "infra_runner",
        "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory",
    ),
    (
        "infra_iac",
        "Error: Reference to undeclared input variable\n\n  on main.tf line 7, in locals:",
    ),
    (
        "security_audit",
        "Crate:     time\nID:        RUSTSEC-2020-0071\nerror: 1 vulnerability found!",
    ),
    ("security_audit", "Found 2 known vulnerabilities in 1 package\nName Version ID Fix Versions"),
    ("security_audit", "Total: 3 (UNKNOWN: 0, LOW: 0, MEDIUM: 1, HIGH: 2, CRITICAL: 0)"),
    (
        "security_secret",
        "Finding:     aws_secret=***\nRuleID:      aws-access-token\n9:00AM WRN leaks found: 1",
    ),
    ("security_secret", "Found verified result 🐷🔑\nDetector Type: Github"),
    (
        "security_code_scan",
        "┌──────────────────┐\n│ 2 Code Findings │\n└──────────────────┘\nRan 120 rules on 30 files: 2 findings.",
    ),
    (
        "security_code_scan",
        ">> Issue: [B105:hardcoded_password_string] Possible hardcoded password",
    ),
    (
        "security_dependabot",
        "updater | ERROR <job_1> Dependabot encountered an error performing the update",
    ),
    (
        "git_merge_conflict",
        "Auto-merging src/a.rs\nCONFLICT (content): Merge conflict in src/a.rs\nAutomatic merge failed; fix conflicts and then commit the result.",
    ),
    (
        "git_permission",
        "remote: Permission to acme/app.git denied to github-actions[bot].\nfatal: unable to access 'https://github.com/acme/app/': The requested URL returned error: 403",
    ),
    ("git_permission", "Error: Resource not accessible by integration"),
    (
        "github_workflow",
        '.github/workflows/ci.yml:12:9: property "foo" is not defined in object type [expression]',
    ),
    (
        "github_workflow",
        "##[error]Unable to resolve action `actions/chekout@v4`, repository not found",
    ),
]


@pytest.mark.parametrize(
    ("label", "text"), SAMPLES, ids=[f"{i}-{s[0]}" for i, s in enumerate(SAMPLES)]
)
def test_tool_output_names_its_type(label: str, text: str) -> None:
    verdict = classify_log([text + "\n"])
    assert verdict.failure_type == label, verdict.signals


def test_every_type_but_general_is_covered() -> None:
    covered = {label for label, _ in SAMPLES}
    assert covered == {t.value for t in FailureType} - {"general"}
