"""Which repositories, branches and pull requests Healer may act on: pure rules on plain values.

Ingest applies them to a delivery. Spawn applies them again to the context it is given,
because anyone who can reach a Service or the Broker can post a context of their own, and
spawn is the stage that hands an agent write credentials. Each rule answers why it says no
(a reason fit for a header and a log line), or None.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from healer.settings import Settings

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def shown(value: object, limit: int = 80) -> str:
    """An untrusted value made safe for a reason header or log line: one line, bounded."""
    cleaned = _CONTROL.sub("?", str(value))
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def matches(value: str, patterns: Sequence[str], *, fold_case: bool = False) -> bool:
    if fold_case:
        value = value.lower()
        patterns = [p.lower() for p in patterns]
    return any(fnmatchcase(value, pattern) for pattern in patterns)


def repository_refusal(repository: str, settings: Settings) -> str | None:
    """``repo_allow`` (glob patterns, case-insensitive; empty allows every repository)."""
    if settings.repo_allow and not matches(repository, settings.repo_allow, fold_case=True):
        return f"repository {shown(repository)} is not in the allow-list"
    return None


def branch_refusal(branch: str, settings: Settings) -> str | None:
    """``branch_include`` (empty: every branch) and ``branch_exclude`` glob patterns."""
    if settings.branch_include and not matches(branch, settings.branch_include):
        return f"branch {shown(branch)} matches none of the include patterns"
    if settings.branch_exclude and matches(branch, settings.branch_exclude):
        return f"branch {shown(branch)} matches an exclude pattern"
    return None


def fork_refusal(fork_head: str, settings: Settings) -> str | None:
    """``fork_head`` is the fork's full name when the code comes from a fork, else empty."""
    if fork_head and not settings.allow_fork_prs:
        return (
            f"head repository {shown(fork_head)} is a fork; "
            "fork pull requests are not remediated (allow_fork_prs is off)"
        )
    return None


def fork_of(head_repository: str, repository: str) -> str:
    """``head_repository`` when it is another repository than ``repository`` (a fork)."""
    if head_repository and head_repository.lower() != repository.lower():
        return head_repository
    return ""
