"""A failure fingerprint that is the same for the same error in two runs.

What varies from run to run (timestamps, temporary paths, runner work directories, hex ids,
durations, addresses, ports of ephemeral servers) is normalised away; line:column positions
stay, since they say where the error is.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

_NORMALISE: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?"), "<ts>"),
    (re.compile(r"\b\d\d:\d\d:\d\d(?:[.,]\d+)?\b"), "<time>"),
    (re.compile(r"(?:/home/runner/work|/Users/runner/work|[A-Za-z]:\\a)/[^/\s]+/[^/\s]+/"), ""),
    (
        re.compile(
            r"(?:/tmp|/var/folders|/private/var|[A-Za-z]:\\Users\\[^\\]+\\AppData\\Local\\Temp|"
            r"/home/runner/work/_temp|/__w/_temp|/runner/_work/_temp)[^\s:'\"]*"
        ),
        "<tmp>",
    ),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"), "<uuid>"),
    (re.compile(r"\b0x[0-9a-fA-F]+\b"), "<hex>"),
    (re.compile(r"\b[0-9a-fA-F]{7,}\b"), "<hex>"),
    (re.compile(r"\b\d+(?:\.\d+)?\s*(?:ms|s|sec|secs|seconds?|m|min|minutes?|h)\b"), "<dur>"),
    (re.compile(r"\(\s*<dur>\s*\)|in <dur>"), "<dur>"),
    (re.compile(r"\b(?:127\.0\.0\.1|localhost|0\.0\.0\.0):\d+\b"), "<addr>"),
    (re.compile(r"\bpid[ =:]\d+\b", re.I), "pid <n>"),
    (re.compile(r"\s+"), " "),
)


def normalise(line: str) -> str:
    """One error line without what changes between runs of the same failure."""
    for pattern, repl in _NORMALISE:
        line = pattern.sub(repl, line)
    return line.strip()


def fingerprint(failure_type: str, key_lines: Iterable[str]) -> str:
    """sha256 over the type and the normalised key error lines (first 32 hex digits)."""
    digest = hashlib.sha256(failure_type.encode("utf-8"))
    for line in key_lines:
        digest.update(b"\n")
        digest.update(normalise(line).encode("utf-8"))
    return digest.hexdigest()[:32]
