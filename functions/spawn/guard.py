"""What spawn checks before it starts anything, whoever sent the context.

Spawn is the stage that gives an agent write credentials, and anyone who can reach its
Service or the Broker can post a ``context.gathered``. So it does not trust that ingest and
gather already filtered: it checks the context's identity (a malformed one is a 400) and
applies the repository, branch and fork policy again (a refusal is a ``remediation.skipped``
with a code). Pure: no store, no network.
"""

from __future__ import annotations

from healer import policy
from healer.errors import InvalidInput
from healer.events import task_id
from healer.models import ContextGathered
from healer.settings import Settings
from healer.state.limits import Refusal
from healer.target import Target, is_fix_branch
from healer.vocabulary import SkipCode


def check_identity(target: Target) -> None:
    """The task id must be the one its repository and run (or alert) name; pydantic already
    checked each field's shape (``healer.models.identity``)."""
    expected = task_id(target.repository, target.run_ref)
    if target.task_id != expected:
        raise InvalidInput(
            f"task_id {policy.shown(target.task_id)!r} does not match repository "
            f"{target.repository} and run {target.run_ref}: expected {expected!r}"
        )


def policy_refusal(context: ContextGathered, target: Target, settings: Settings) -> Refusal | None:
    """ingest's repository, branch and fork rules, on the context and where the agent pushes."""
    reason = policy.repository_refusal(target.repository, settings)
    if reason is not None:
        return Refusal(SkipCode.REPOSITORY, reason)
    failure = context.classified.failure
    if failure is None:  # alerts: raised by GitHub, about the default branch (as in ingest)
        return None
    branches = [failure.head_branch] if failure.head_branch else []
    if not is_fix_branch(target) and target.branch not in branches:
        branches.append(target.branch)
    for branch in branches:
        reason = policy.branch_refusal(branch, settings)
        if reason is not None:
            return Refusal(SkipCode.BRANCH, reason)
    pull = context.pull_request
    fork = policy.fork_of(pull.head_repository, target.repository) if pull is not None else ""
    reason = policy.fork_refusal(fork, settings)
    if reason is not None:
        return Refusal(SkipCode.FORK, reason)
    return None
