"""Security alerts → ``alert.detected`` data: one ``AlertKind`` per GitHub alert event.

Only new or reopened alerts are acted on; a secret-scanning alert's secret value is never read.
"""

from __future__ import annotations

from typing import Any

from functions.ingest.fields import at, integer, obj, optional_integer, repository, shown, text
from functions.ingest.finding import Finding
from healer.runtime import Skip
from healer.vocabulary import ALERT_FAILURE_TYPE, AlertKind, EventType

ALERT_ACTIONS = frozenset(
    {"created", "reopened", "reintroduced", "auto_reopened", "reopened_by_user"}
)


def parse_alert(kind: AlertKind, payload: dict[str, Any]) -> Finding | Skip:
    action = text(payload.get("action"))
    alert = payload.get("alert")
    if not isinstance(alert, dict):
        return Skip(f"{kind.value} payload has no 'alert' object")
    if action not in ALERT_ACTIONS:
        return Skip(f"{kind.value} {shown(action) or '(no action)'}: not a new or reopened alert")
    repo = repository(payload)
    number = integer(alert.get("number"), "alert.number")
    data: dict[str, Any] = {
        "repository": repo,
        "kind": kind.value,
        "alert_number": number,
        "action": action,
        "html_url": text(alert.get("html_url")),
        "sender": text(at(payload, "sender", "login")),
        "installation_id": optional_integer(at(payload, "installation", "id")),
        "delivery_id": "",
        "archive_key": "",
    }
    data.update(_ALERT_DETAILS[kind](payload, alert))
    run = f"{kind.value}-{number}"
    identity = ("alert", repo, kind.value, number, action, text(alert.get("updated_at")))
    return Finding(
        EventType.ALERT_DETECTED,
        data,
        repo,
        run,
        1,
        identity,
        sender_login=data["sender"],
        sender_type=text(at(payload, "sender", "type")),
        failure_type=ALERT_FAILURE_TYPE[kind].value,
    )


def _dependabot(payload: dict[str, Any], alert: dict[str, Any]) -> dict[str, Any]:
    advisory = obj(alert.get("security_advisory"))
    vulnerability = obj(alert.get("security_vulnerability"))
    return {
        "severity": text(vulnerability.get("severity")) or text(advisory.get("severity")),
        "summary": text(advisory.get("summary")),
        "ecosystem": text(at(alert, "dependency", "package", "ecosystem")),
        "package": text(at(alert, "dependency", "package", "name")),
        "manifest_path": text(at(alert, "dependency", "manifest_path")),
        "vulnerable_range": text(vulnerability.get("vulnerable_version_range")),
        "patched_version": text(at(vulnerability, "first_patched_version", "identifier")),
        "ghsa_id": text(advisory.get("ghsa_id")),
        "cve_id": text(advisory.get("cve_id")),
    }


def _code_scanning(payload: dict[str, Any], alert: dict[str, Any]) -> dict[str, Any]:
    rule = obj(alert.get("rule"))
    instance = obj(alert.get("most_recent_instance"))
    location = obj(instance.get("location"))
    return {
        "severity": text(rule.get("security_severity_level")) or text(rule.get("severity")),
        "summary": text(rule.get("description")) or text(rule.get("name")),
        "ref": text(payload.get("ref")) or text(instance.get("ref")),
        "rule_id": text(rule.get("id")),
        "tool": text(at(alert, "tool", "name")),
        "location_path": text(location.get("path")),
        "location_line": optional_integer(location.get("start_line")),
    }


def _secret_scanning(payload: dict[str, Any], alert: dict[str, Any]) -> dict[str, Any]:
    # Only the secret's type is read; alert["secret"] (the value) is never touched.
    display = text(alert.get("secret_type_display_name"))
    secret_type = text(alert.get("secret_type"))
    return {
        "severity": "critical",
        "summary": f"{display or secret_type or 'A secret'} committed to the repository",
        "secret_type": secret_type,
        "secret_type_display_name": display,
    }


_ALERT_DETAILS = {
    AlertKind.DEPENDABOT: _dependabot,
    AlertKind.CODE_SCANNING: _code_scanning,
    AlertKind.SECRET_SCANNING: _secret_scanning,
}
