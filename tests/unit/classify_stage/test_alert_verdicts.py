"""Security alerts: type from the kind, the security specialist, a readable summary, no secrets."""

from __future__ import annotations

import pytest

from functions.classify.alerts import alert_fingerprint, classify_alert
from healer.models import AlertDetected
from healer.refs import alert_ref
from healer.vocabulary import Action, AlertKind, Category, FailureType

DEPENDABOT = AlertDetected(
    repository="acme/widgets",
    kind=AlertKind.DEPENDABOT,
    alert_number=3,
    severity="high",
    summary="Uncontrolled recursion in toml parser",
    ecosystem="rust",
    package="toml-edit-lite",
    manifest_path="Cargo.lock",
    vulnerable_range="< 0.9.4",
    patched_version="0.9.4",
    ghsa_id="GHSA-4xq8-v2hj-7mqx",
    cve_id="CVE-2026-31337",
)
CODE_SCAN = AlertDetected(
    repository="acme/widgets",
    kind=AlertKind.CODE_SCANNING,
    alert_number=8,
    severity="high",
    summary="Cleartext logging of sensitive information",
    rule_id="rust/cleartext-logging",
    tool="CodeQL",
    location_path="src/auth/session.rs",
    location_line=57,
)
SECRET = AlertDetected(
    repository="acme/widgets",
    kind=AlertKind.SECRET_SCANNING,
    alert_number=2,
    secret_type="npm_access_token",
    secret_type_display_name="npm Access Token",
)


@pytest.mark.parametrize(
    ("alert", "kind", "expected"),
    [
        (
            DEPENDABOT,
            FailureType.SECURITY_DEPENDABOT,
            [
                "Dependabot alert #3 (high)",
                "rust/toml-edit-lite in Cargo.lock",
                "patched in: 0.9.4",
                "GHSA-4xq8-v2hj-7mqx",
            ],
        ),
        (
            CODE_SCAN,
            FailureType.SECURITY_CODE_SCAN,
            ["from CodeQL", "rule rust/cleartext-logging", "At: src/auth/session.rs:57"],
        ),
        (
            SECRET,
            FailureType.SECURITY_SECRET,
            ["npm Access Token (npm_access_token)", "revoke and rotate"],
        ),
    ],
)
def test_each_kind_gets_its_type_the_security_specialist_and_a_summary(
    alert: AlertDetected, kind: FailureType, expected: list[str]
) -> None:
    verdict = classify_alert(alert)
    assert verdict.failure_type is kind
    assert verdict.category is Category.SECURITY
    assert verdict.agent == "cipher"
    assert verdict.action is Action.FIX
    assert verdict.confidence == 1.0
    for text in expected:
        assert text in verdict.excerpt


def test_the_fingerprint_names_the_finding_not_the_alert() -> None:
    again = DEPENDABOT.model_copy(update={"alert_number": 9, "repository": "acme/api"})
    other = DEPENDABOT.model_copy(update={"package": "serde"})
    assert alert_fingerprint(again) == alert_fingerprint(DEPENDABOT)
    assert alert_fingerprint(other) != alert_fingerprint(DEPENDABOT)
    assert alert_fingerprint(CODE_SCAN) != alert_fingerprint(SECRET)


def test_credentials_in_free_text_are_masked() -> None:
    leaked = SECRET.model_copy(
        update={"summary": "found npm_abcdefghijklmnopqrstuvwxyz0123456789 and ghp_" + "A1" * 18}
    )
    excerpt = classify_alert(leaked).excerpt
    assert "npm_abcdefghij" not in excerpt and "ghp_A1" not in excerpt
    assert excerpt.count("***") == 2


def test_a_closed_alert_needs_nothing() -> None:
    assert classify_alert(SECRET.model_copy(update={"action": "resolved"})).action is Action.IGNORE


def test_alert_reference_stands_in_for_a_run_id() -> None:
    assert alert_ref(CODE_SCAN) == "code-scanning-8"
    assert alert_ref(DEPENDABOT) == "dependabot-3"
