"""Policy on what Healer acts on; each filter answers why it said no.

Bots and fork pull requests are refused because Healer's agents hold write credentials: a bot
loop (an agent's own commit failing) or untrusted fork code must not drive them. Alerts skip the
bot, branch and fork filters: GitHub's own apps raise them, and they concern the default branch.
The repository, branch and fork rules live in ``healer.policy``, which spawn applies again.
"""

from __future__ import annotations

from collections.abc import Callable

from functions.ingest.fields import shown
from functions.ingest.finding import Finding
from healer import policy
from healer.runtime import Skip
from healer.settings import Settings

SKIP_MARKERS = ("[skip-healer]", "[healer skip]")


def repo_allowed(finding: Finding, settings: Settings) -> str | None:
    return policy.repository_refusal(finding.repository, settings)


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
    if finding.branch is None:
        return None
    return policy.branch_refusal(finding.branch, settings)


def not_fork(finding: Finding, settings: Settings) -> str | None:
    if finding.is_alert:
        return None
    return policy.fork_refusal(finding.fork_head, settings)


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
