"""Policy on what Healer acts on; each filter answers why it said no.

Bots and fork pull requests are refused because Healer's agents hold write credentials: a bot
loop (an agent's own commit failing) or untrusted fork code must not drive them. Alerts skip the
bot, branch and fork filters: GitHub's own apps raise them, and they concern the default branch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fnmatch import fnmatchcase

from functions.ingest.fields import shown
from functions.ingest.finding import Finding
from healer.runtime import Skip
from healer.settings import Settings

SKIP_MARKERS = ("[skip-healer]", "[healer skip]")


def matches(value: str, patterns: Sequence[str], *, fold_case: bool = False) -> bool:
    if fold_case:
        value = value.lower()
        patterns = [p.lower() for p in patterns]
    return any(fnmatchcase(value, pattern) for pattern in patterns)


def repo_allowed(finding: Finding, settings: Settings) -> str | None:
    if settings.repo_allow and not matches(finding.repository, settings.repo_allow, fold_case=True):
        return f"repository {finding.repository} is not in the allow-list"
    return None


def not_bot(finding: Finding, settings: Settings) -> str | None:
    if not settings.ignore_bots or finding.is_alert:
        return None
    if finding.sender_type == "Bot" or finding.sender_login.endswith("[bot]"):
        return f"sender {shown(finding.sender_login) or '(unnamed)'} is a bot"
    return None


def no_skip_marker(finding: Finding, settings: Settings) -> str | None:
    message = finding.commit_message.lower()
    for marker in SKIP_MARKERS:
        if marker in message:
            return f"head commit message contains {marker}"
    return None


def branch_allowed(finding: Finding, settings: Settings) -> str | None:
    branch = finding.branch
    if branch is None:
        return None
    if settings.branch_include and not matches(branch, settings.branch_include):
        return f"branch {shown(branch)} matches none of the include patterns"
    if settings.branch_exclude and matches(branch, settings.branch_exclude):
        return f"branch {shown(branch)} matches an exclude pattern"
    return None


def not_fork(finding: Finding, settings: Settings) -> str | None:
    if finding.fork_head and not finding.is_alert and not settings.allow_fork_prs:
        return (
            f"head repository {shown(finding.fork_head)} is a fork; "
            "fork pull requests are not remediated (allow_fork_prs is off)"
        )
    return None


FILTERS: tuple[Callable[[Finding, Settings], str | None], ...] = (
    repo_allowed,
    not_bot,
    no_skip_marker,
    branch_allowed,
    not_fork,
)


def check(finding: Finding, settings: Settings) -> Skip | None:
    """The first filter that refuses the finding, as a ``Skip``; None when it passes them all."""
    for refuse in FILTERS:
        reason = refuse(finding, settings)
        if reason is not None:
            return Skip(reason)
    return None
