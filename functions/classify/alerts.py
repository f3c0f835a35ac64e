"""Verdicts for security alerts: the type comes from the alert kind, not from a log.

The excerpt is a readable summary for the security specialist. It is built from the fields
ingest kept (which never include a secret's value) and masks anything that looks like a
credential anyway, because a summary is free text.
"""

from __future__ import annotations

import hashlib

from healer.models import AlertDetected, Verdict
from healer.roster import Roster, load_roster
from healer.secrets import mask
from healer.vocabulary import ALERT_FAILURE_TYPE, Action, AlertKind, Category

CLOSED_ACTIONS = frozenset({"fixed", "dismissed", "resolved", "auto_dismissed", "closed_by_user"})


def alert_fingerprint(alert: AlertDetected) -> str:
    """Same for the same finding in any alert: kind + the rule, package or secret type."""
    if alert.kind is AlertKind.DEPENDABOT:
        what = f"{alert.ecosystem}:{alert.package}"
    elif alert.kind is AlertKind.CODE_SCANNING:
        what = f"{alert.tool}:{alert.rule_id}"
    else:
        what = alert.secret_type
    return hashlib.sha256(f"{alert.kind.value}|{what}".encode()).hexdigest()[:16]


def alert_summary(alert: AlertDetected) -> str:
    severity = f" ({alert.severity})" if alert.severity else ""
    lines: list[str]
    if alert.kind is AlertKind.DEPENDABOT:
        lines = [f"Dependabot alert #{alert.alert_number}{severity}: {alert.summary}".rstrip(": ")]
        pkg = f"{alert.ecosystem}/{alert.package}" if alert.ecosystem else alert.package
        lines.append(
            f"Package: {pkg}" + (f" in {alert.manifest_path}" if alert.manifest_path else "")
        )
        if alert.vulnerable_range or alert.patched_version:
            lines.append(
                f"Vulnerable: {alert.vulnerable_range or 'unknown range'}; "
                f"patched in: {alert.patched_version or 'no patched version yet'}"
            )
        ids = ", ".join(i for i in (alert.ghsa_id, alert.cve_id) if i)
        if ids:
            lines.append(f"Advisory: {ids}")
    elif alert.kind is AlertKind.CODE_SCANNING:
        tool = f" from {alert.tool}" if alert.tool else ""
        lines = [
            f"Code scanning alert #{alert.alert_number}{severity}{tool}: "
            f"rule {alert.rule_id or 'unknown'}"
        ]
        if alert.summary:
            lines.append(alert.summary)
        if alert.location_path:
            where = alert.location_path + (f":{alert.location_line}" if alert.location_line else "")
            lines.append(f"At: {where}")
    else:
        name = alert.secret_type_display_name or alert.secret_type or "secret"
        lines = [
            f"Secret scanning alert #{alert.alert_number}: "
            f"a {name} ({alert.secret_type}) was committed"
        ]
        if alert.summary:
            lines.append(alert.summary)
        lines.append(
            "The value is not included here: revoke and rotate it, then remove it from the code."
        )
    if alert.ref:
        lines.append(f"Ref: {alert.ref}")
    if alert.html_url:
        lines.append(alert.html_url)
    return mask("\n".join(lines))


def classify_alert(alert: AlertDetected, roster: Roster | None = None) -> Verdict:
    failure_type = ALERT_FAILURE_TYPE[alert.kind]
    specialist = (roster or load_roster()).for_category(Category.SECURITY)
    closed = alert.action in CLOSED_ACTIONS
    return Verdict(
        failure_type=failure_type,
        category=Category.SECURITY,
        agent=specialist.key,
        action=Action.IGNORE if closed else Action.FIX,
        confidence=1.0,
        failing_step="",
        signals=[
            f"{alert.kind.value} {alert.action}"
            + (" (alert closed: nothing to fix)" if closed else "")
        ],
        excerpt=alert_summary(alert),
        fingerprint=alert_fingerprint(alert),
    )
