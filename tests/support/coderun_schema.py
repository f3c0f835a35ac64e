"""The CodeRun CRD's schema as the test API server enforces it, written by hand from the
platform's documented facts (group ``agents.platform``, version ``v1``, structural, no
``x-kubernetes-preserve-unknown-fields`` on ``spec`` or ``status``). A separate test checks
Healer's contract against the platform's published CRD; this one keeps the double honest
without depending on that file."""

from __future__ import annotations

from typing import Any


def _s(default: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "string"}
    if default is not None:
        out["default"] = default
    return out


def _b(default: bool | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "boolean"}
    if default is not None:
        out["default"] = default
    return out


_INT: dict[str, Any] = {"type": "integer"}

SPEC: dict[str, Any] = {
    "type": "object",
    "required": [
        "service",
        "repositoryUrl",
        "docsRepositoryUrl",
        "workingDirectory",
        "model",
        "githubApp",
    ],
    "properties": {
        "runType": {
            "type": "string",
            "default": "implementation",
            "enum": ["implementation", "documentation", "intake", "review", "remediate"],
        },
        "taskId": _INT,
        "service": _s(),
        "repositoryUrl": _s(),
        "docsRepositoryUrl": _s(),
        "skillsUrl": _s(),
        "docsProjectDirectory": _s(),
        "docsBranch": _s("main"),
        "workingDirectory": _s(),
        "model": _s(),
        "githubUser": _s(),
        "githubApp": _s(),
        "localTools": _s(),
        "remoteTools": _s(),
        "contextVersion": {"type": "integer", "default": 1},
        "promptModification": _s(),
        "continueSession": _b(False),
        "overwriteMemory": _b(False),
        "env": {"type": "object", "additionalProperties": {"type": "string"}},
        "envFromSecrets": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "secretName", "secretKey"],
                "properties": {"name": _s(), "secretName": _s(), "secretKey": _s()},
            },
        },
        "enableDocker": _b(True),
        "taskRequirements": _s(),
        "serviceAccountName": _s(),
        "cliConfig": {
            "type": "object",
            "required": ["cliType", "model"],
            "properties": {
                "cliType": _s(),
                "model": _s(),
                "settings": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "maxTokens": {"type": "integer", "format": "int32"},
                "temperature": {"type": "number", "format": "float"},
                "modelRotation": {"type": "array", "items": _s()},
            },
        },
        "linearIntegration": {
            "type": "object",
            "properties": {
                "sessionId": _s(),
                "issueId": _s(),
                "teamId": _s(),
                "enabled": _b(False),
            },
        },
    },
}

STATUS: dict[str, Any] = {
    "type": "object",
    "properties": {
        **{
            name: _s()
            for name in (
                "phase",
                "message",
                "lastUpdate",
                "jobName",
                "pullRequestUrl",
                "remediationStatus",
                "qaStatus",
                "configmapName",
                "promptModification",
                "promptMode",
                "sessionId",
                "finishedAt",
                "expireAt",
                "cleanupCompletedAt",
            )
        },
        "retryCount": _INT,
        "contextVersion": _INT,
        "workCompleted": _b(),
        "conditions": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["type", "status"],
                "properties": {
                    "type": _s(),
                    "status": _s(),
                    "lastTransitionTime": _s(),
                    "reason": _s(),
                    "message": _s(),
                },
            },
        },
    },
}

SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["spec"],
    "properties": {
        "apiVersion": _s(),
        "kind": _s(),
        "metadata": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        "spec": SPEC,
        "status": STATUS,
    },
}
