"""What a remediation works on: the task, the run (or alert), the branch the agent pushes to.

Pure: derived from the gathered context alone, so a redelivery names the same branch, the same
blob keys and the same CodeRun.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from healer.errors import InvalidInput
from healer.models import ContextGathered, Verdict
from healer.refs import alert_ref
from healer.stores import keys

FIX_BRANCH_PREFIX = "healer/"
_DEFAULT_NAMES = ("main", "master")


@dataclass(frozen=True)
class Target:
    task_id: str
    repository: str
    run_ref: int | str  # the workflow run id, or ``dependabot-3`` for an alert
    run_attempt: int
    attempt: int
    primary: Verdict
    branch: str
    base_branch: str
    pull_request: int | None
    is_alert: bool

    @property
    def run_id(self) -> int:
        """The numeric run id events carry; 0 for alerts, which have no run."""
        return self.run_ref if isinstance(self.run_ref, int) else 0

    @property
    def repository_url(self) -> str:
        return f"https://github.com/{self.repository}"

    @property
    def prompt_key(self) -> str:
        return keys.prompt_key(self.repository, self.run_ref, self.run_attempt, self.attempt)

    @property
    def context_key(self) -> str:
        return keys.context_key(self.repository, self.run_ref, self.run_attempt, self.attempt)


def fix_branch(task_id: str) -> str:
    """A new branch of Healer's own, for failures on the default branch and for alerts."""
    return f"{FIX_BRANCH_PREFIX}{task_id}"


def is_fix_branch(target: Target) -> bool:
    """Whether the agent works on a branch of Healer's own (``healer/<task_id>``)."""
    return target.branch == fix_branch(target.task_id)


def diverted(target: Target) -> Target:
    """The same remediation on a new ``healer/<task>`` branch cut from the branch it would have
    pushed to: the fix reaches that branch only through a pull request a human merges."""
    if is_fix_branch(target):
        return target
    return replace(
        target,
        branch=fix_branch(target.task_id),
        base_branch=target.branch,
        pull_request=None,
    )


def default_branches(context: ContextGathered) -> set[str]:
    """Branches the context says are the repository's default: the default branch itself and
    the PR's base (a PR whose head is its own base is a push to that branch)."""
    names: set[str] = set()
    failure = context.classified.failure
    if failure is not None:
        names.update([failure.default_branch] if failure.default_branch else _DEFAULT_NAMES)
    if context.pull_request is not None and context.pull_request.base_ref:
        names.add(context.pull_request.base_ref)
    return names


def _strip_ref(ref: str) -> str:
    return ref.removeprefix("refs/heads/")


def target_of(context: ContextGathered) -> Target:
    """Where the agent works: the PR's head branch when there is a PR; a pushed feature branch
    itself; a new ``healer/<task>`` branch off the default branch or for an alert."""
    classified = context.classified
    pull = context.pull_request
    if classified.failure is not None:
        failure = classified.failure
        default = failure.default_branch
        on_default = (
            failure.head_branch == default if default else failure.head_branch in _DEFAULT_NAMES
        )
        if pull is not None and pull.head_ref:
            branch, base = pull.head_ref, pull.base_ref or default
        elif on_default or not failure.head_branch:
            branch, base = fix_branch(context.task_id), failure.head_branch or default
        else:
            branch, base = failure.head_branch, default
        return Target(
            task_id=context.task_id,
            repository=failure.repository,
            run_ref=failure.run_id,
            run_attempt=failure.run_attempt,
            attempt=context.attempt,
            primary=classified.primary,
            branch=branch,
            base_branch=base,
            pull_request=pull.number if pull is not None else None,
            is_alert=False,
        )
    if classified.alert is not None:
        alert = classified.alert
        return Target(
            task_id=context.task_id,
            repository=alert.repository,
            run_ref=alert_ref(alert),
            run_attempt=1,
            attempt=context.attempt,
            primary=classified.primary,
            branch=fix_branch(context.task_id),
            base_branch=_strip_ref(alert.ref),
            pull_request=None,
            is_alert=True,
        )
    raise InvalidInput("context.gathered carries neither a failure nor an alert")
