"""Where the agent may push: never to the default branch nor a protected one, unless allowed.

The context names the default branch, but a context can be forged; GitHub's answer is the one
that counts, so spawn asks: ``GET /repos/{o}/{r}`` for ``default_branch`` and
``GET /repos/{o}/{r}/branches/{b}`` for ``protected``. A branch that does not exist (yet) is
not protected. A branch Healer must not push to is not refused: the agent works on a new
``healer/<task>`` branch cut from it instead (``target.diverted``).
"""

from __future__ import annotations

from typing import Any, Protocol

from healer.models import ContextGathered
from healer.policy import shown
from healer.settings import Settings
from healer.target import Target, default_branches, is_fix_branch


class BranchClient(Protocol):
    def get_repository(self, repo: str) -> dict[str, Any]: ...

    def get_branch(self, repo: str, branch: str) -> dict[str, Any]: ...


def push_refusal(
    github: BranchClient, context: ContextGathered, target: Target, settings: Settings
) -> str | None:
    """Why the agent must not push to ``target.branch`` (None: it may)."""
    from healer.github.exceptions import NotFound

    if is_fix_branch(target):
        return None
    branch = target.branch
    if not settings.allow_default_branch_push:
        defaults = default_branches(context)
        default = github.get_repository(target.repository).get("default_branch")
        if isinstance(default, str) and default:
            defaults.add(default)
        if branch in defaults:
            return (
                f"{shown(branch)} is the default branch of {target.repository} "
                "(allow_default_branch_push is off)"
            )
    if not settings.allow_protected_branch_push:
        try:
            protected = github.get_branch(target.repository, branch).get("protected") is True
        except NotFound:
            protected = False
        if protected:
            return (
                f"{shown(branch)} is a protected branch of {target.repository} "
                "(allow_protected_branch_push is off)"
            )
    return None
