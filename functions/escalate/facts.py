"""What an escalation says, gathered once from the exhausted event and the task record.

The event's context is the richest source (PR, job, failing step, excerpt); the task record
``task:<task_id>`` fills in what an event without context lacks (failure type, branch). Every
free text that came from CI or an agent is masked here, before any channel sees it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from healer.models import AttemptSummary, RemediationExhausted
from healer.secrets import mask
from healer.state.records import TaskRecord
from healer.stores import keys

GITHUB = "https://github.com"


@dataclass(frozen=True)
class Facts:
    task_id: str
    repository: str
    run_ref: str  # the workflow run id, or ``dependabot-3`` for an alert
    run_id: int
    run_attempt: int
    failure_type: str
    run_url: str
    workflow: str = ""
    job_name: str = ""
    failing_step: str = ""
    branch: str = ""
    pull_request: int | None = None
    pull_url: str = ""
    pull_title: str = ""
    attempts: list[AttemptSummary] = field(default_factory=list)
    last_error: str = ""
    excerpt: str = ""
    log_key: str = ""
    is_alert: bool = False

    @property
    def subject(self) -> str:
        return f"{self.repository}#{self.run_ref}"

    @property
    def message_key(self) -> str:
        """Where the rendered GitHub text is kept, beside the repository's other blobs."""
        return f"{keys.repo_prefix(self.repository)}/escalations/{_safe(self.task_id)}.md"

    @property
    def discord_key(self) -> str:
        return f"{keys.repo_prefix(self.repository)}/escalations/{_safe(self.task_id)}.discord.json"


def _safe(value: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in value) or "_"


def _github_url(url: str) -> str:
    """Only links into github.com are shown (API URLs and anything else are dropped)."""
    return url if url.startswith(GITHUB + "/") else ""


def _attempt(summary: AttemptSummary) -> AttemptSummary:
    return summary.model_copy(
        update={"summary": mask(summary.summary), "error": mask(summary.error)}
    )


def facts_of(event: RemediationExhausted, record: TaskRecord | None = None) -> Facts:
    """The escalation's content; ``record`` is the task record, when there is one."""
    record = record or TaskRecord()
    context = event.context
    failure = context.classified.failure if context is not None else None
    alert = context.classified.alert if context is not None else None
    primary = context.classified.primary if context is not None else None
    pull = context.pull_request if context is not None else None
    run_ref = str(record.run_id or event.run_id)
    if alert is not None:
        from healer.refs import alert_ref

        run_ref = alert_ref(alert)
    run_url = ""
    if alert is not None:
        run_url = _github_url(alert.html_url)
    elif event.run_id > 0:
        run_url = f"{GITHUB}/{event.repository}/actions/runs/{event.run_id}"
    last_error = event.last_error or next(
        (a.error for a in reversed(event.attempts) if a.error), ""
    )
    return Facts(
        task_id=event.task_id,
        repository=event.repository,
        run_ref=run_ref,
        run_id=event.run_id,
        run_attempt=failure.run_attempt if failure is not None else 1,
        failure_type=(primary.failure_type.value if primary is not None else "")
        or (record.failure_type or "unknown"),
        run_url=run_url,
        workflow=mask(failure.workflow_name) if failure is not None else "",
        job_name=mask(primary.job_name) if primary is not None else "",
        failing_step=mask(primary.failing_step) if primary is not None else "",
        branch=mask(
            (pull.head_ref if pull is not None else "")
            or (failure.head_branch if failure is not None else "")
            or record.branch
        ),
        pull_request=pull.number if pull is not None else None,
        pull_url=_github_url(pull.html_url) if pull is not None else "",
        pull_title=mask(pull.title) if pull is not None else "",
        attempts=[_attempt(a) for a in sorted(event.attempts, key=lambda a: a.attempt)],
        last_error=mask(last_error),
        excerpt=mask(primary.excerpt) if primary is not None else "",
        log_key=primary.log_key if primary is not None else "",
        is_alert=alert is not None,
    )
