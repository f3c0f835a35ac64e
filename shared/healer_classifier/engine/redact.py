"""Masking secrets in anything the classifier lets out of a log (excerpt, signals)."""

from __future__ import annotations

import re

MASK = "***"

_PRIVATE_KEY = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)", re.S
)
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b(?:ghp|gho|ghs|ghu|ghr)_[A-Za-z0-9]{20,}"), MASK),
    (re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,}"), MASK),
    (re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"), MASK),
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), MASK),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{20,}"), MASK),
    (re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}"), MASK),
    (re.compile(r"\bnpm_[A-Za-z0-9]{36}\b"), MASK),
    (re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"), MASK),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"), MASK),
    (re.compile(r"(?i)\b(bearer|token|basic)(\s+)[A-Za-z0-9._~+/=-]{16,}"), rf"\1\2{MASK}"),
    (
        re.compile(
            r"(?i)\b((?:aws_)?(?:secret(?:_access)?_key|password|passwd|pwd|api[_-]?key|"
            r"access[_-]?token|auth[_-]?token|client[_-]?secret|secret)\"?\s*[:=]\s*\"?)"
            r"([^\s\"',;]{3,})"
        ),
        rf"\1{MASK}",
    ),
    (re.compile(r"(?i)(://[^/\s:@]+:)([^@\s/]+)(@)"), rf"\1{MASK}\3"),
    (re.compile(r"(?i)(_authToken=)(\S+)"), rf"\1{MASK}"),
    (re.compile(r"(?m)^\s*[A-Za-z0-9+/]{60,}={0,2}\s*$"), MASK),  # a PEM body line
)


def redact(text: str) -> str:
    """Replace tokens, keys, passwords and private key blocks with ``***``."""
    if "PRIVATE KEY" in text:
        text = _PRIVATE_KEY.sub(f"-----PRIVATE KEY {MASK}-----", text)
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text
