"""Weighing: the failing step decides; noise elsewhere and weak names do not."""

from __future__ import annotations

from healer_classifier.engine import classify_log, classify_names


def gha(*lines: str) -> str:
    return "".join(f"2024-01-01T00:00:00.0000000Z {line}\n" for line in lines)


def test_error_words_in_a_passed_step_do_not_win() -> None:
    log = gha(
        "##[group]Run npm ci",
        "##[endgroup]",
        "npm warn ERESOLVE overriding peer dependency",
        "npm error code ERESOLVE",
        "Could not resolve host: registry.npmjs.org",
        "##[group]Run npm test",
        "##[endgroup]",
        " FAIL  src/cart.test.ts > cart > totals",
        " Test Files  1 failed | 3 passed (4)",
        "##[error]Process completed with exit code 1.",
    )
    verdict = classify_log([log])
    assert verdict.failure_type == "frontend_test"
    assert verdict.failing_step == "Run npm test"
    assert any("discounted" in s for s in verdict.signals)


def test_crate_named_clippy_does_not_make_a_clippy_failure() -> None:
    log = gha(
        "##[group]Run cargo build",
        "##[endgroup]",
        "   Compiling clippy-utils v0.1.0",
        "   Compiling clippy_lints v0.1.0",
        "error[E0425]: cannot find value `x` in this scope",
        "  --> src/main.rs:2:13",
        'error: could not compile `app` (bin "app") due to 1 previous error',
        "##[error]Process completed with exit code 101.",
    )
    assert classify_log([log]).failure_type == "rust_build"


def test_cve_in_a_changelog_does_not_make_an_audit_failure() -> None:
    log = gha(
        "##[group]Run pytest",
        "##[endgroup]",
        "  * Fix CVE-2024-12345 in the parser (see CHANGELOG)",
        "  * Backport CVE-2023-9999",
        "FAILED tests/test_parse.py::test_nested - AssertionError: assert 2 == 3",
        "========================= 1 failed, 12 passed in 0.52s =========================",
        "##[error]Process completed with exit code 1.",
    )
    assert classify_log([log]).failure_type == "python_test"


def test_dependabot_branch_name_and_npm_install_audit_summary_do_not_decide() -> None:
    log = gha(
        "##[group]Run npm ci && npm run build",
        "##[endgroup]",
        "Switched to branch 'dependabot/npm_and_yarn/lodash-4.17.21'",
        "added 812 packages, and audited 813 packages in 9s",
        "found 3 vulnerabilities (1 moderate, 2 high)",
        "Module not found: Error: Can't resolve './Header' in '/home/runner/work/web/web/src'",
        "##[error]Process completed with exit code 1.",
    )
    verdict = classify_log([log], job_name="build")
    assert verdict.failure_type == "frontend_build"


def test_npm_audit_in_an_audit_step_is_a_security_audit() -> None:
    log = gha(
        "##[group]Run npm audit --audit-level=high",
        "##[endgroup]",
        "lodash  <4.17.21",
        "3 vulnerabilities (1 moderate, 2 high)",
        "##[error]Process completed with exit code 1.",
    )
    verdict = classify_log([log])
    assert verdict.failure_type == "security_audit"
    assert verdict.agent == "cipher"


def test_network_failures_ask_for_a_rerun() -> None:
    log = gha(
        "##[group]Run cargo fetch",
        "##[endgroup]",
        "warning: spurious network error (2 tries remaining): [6] Could not resolve host: x.io",
        "error: failed to download from `https://index.crates.io/config.json`",
        "Caused by: [6] Could not resolve host: index.crates.io",
        "##[error]Process completed with exit code 101.",
    )
    verdict = classify_log([log])
    assert verdict.failure_type == "infra_network"
    assert verdict.action == "rerun"


def test_step_name_is_weak_evidence_only() -> None:
    log = gha(
        "##[group]Run cargo clippy -- -D warnings",
        "##[endgroup]",
        "error[E0308]: mismatched types",
        "error: could not compile `app` (lib) due to 1 previous error",
        "##[error]Process completed with exit code 101.",
    )
    verdict = classify_log([log])
    assert verdict.failure_type == "rust_build"
    clippy_only = gha(
        "##[group]Run cargo clippy -- -D warnings",
        "##[endgroup]",
        "##[error]Process completed with exit code 101.",
    )
    weak = classify_log([clippy_only])
    assert weak.failure_type == "rust_clippy"
    assert weak.confidence <= 0.35


def test_unrecognised_failure_is_general_with_low_confidence() -> None:
    log = gha(
        "##[group]Run ./deploy.sh",
        "##[endgroup]",
        "boom",
        "##[error]Process completed with exit code 3.",
    )
    verdict = classify_log([log])
    assert verdict.failure_type == "general"
    assert verdict.agent == "atlas"
    assert verdict.confidence <= 0.3


def test_verdict_carries_category_agent_and_readable_signals() -> None:
    log = gha(
        "##[group]Run npx tsc --noEmit",
        "##[endgroup]",
        "src/a.ts(3,7): error TS2322: Type 'string' is not assignable to type 'number'.",
        "##[error]Process completed with exit code 2.",
    )
    verdict = classify_log([log], workflow_name="CI")
    assert (verdict.failure_type, verdict.category, verdict.agent) == (
        "frontend_typescript",
        "frontend",
        "blaze",
    )
    assert verdict.signals[0].startswith("failing step: Run npx tsc --noEmit")
    assert any("TypeScript error" in s for s in verdict.signals)
    assert verdict.job_name == "" and verdict.job_id is None and verdict.log_key == ""


def test_classify_names_is_low_confidence() -> None:
    verdict = classify_names(
        job_name="pytest (3.12)", workflow_name="Tests", step_name="Run pytest"
    )
    assert verdict.failure_type == "python_test"
    assert verdict.confidence <= 0.2
    assert verdict.failing_step == "Run pytest"
    assert "no log" in verdict.signals[0]
    unknown = classify_names(job_name="deploy")
    assert unknown.failure_type == "general" and unknown.confidence <= 0.2
