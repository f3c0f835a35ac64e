"""The escalate stage: ``remediation.exhausted`` in, ``remediation.escalated`` out.

Humans hear about it on every configured channel: Discord (an incoming webhook; no URL means
the channel is off) and GitHub (a comment on the PR, or a new issue when there is no PR or the
PR cannot take comments). Each channel that took the message is recorded in the claim
``escalated:<task_id>`` at once, so a retry after a partial failure posts only what is missing,
and a redelivery after success posts nothing. The event id is keyed on the task id.

Only a task whose record says it is exhausted is escalated (``admission``): a forged event
for a running, succeeded or unknown task posts nothing and is answered with a skip.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cloudevents.http import CloudEvent

from functions.escalate import comment, discord
from functions.escalate.admission import check_identity, refusal, stored_context
from functions.escalate.facts import Facts, facts_of
from functions.escalate.progress import DONE, Progress, finished, update_task
from healer.errors import HealerError, InvalidInput, PermanentError, RetryableError
from healer.events import build_event, parse_data, task_id
from healer.models import RemediationEscalated, RemediationExhausted
from healer.runtime import Skip
from healer.state import clock, persistence
from healer.state.records import (
    Attempt,
    ChannelResult,
    Escalation,
    EscalationClaim,
    TaskRecord,
    TaskStatus,
)
from healer.stores.keys import task_key
from healer.vocabulary import EventType, Stage

if TYPE_CHECKING:
    from functions.escalate.webhook import DiscordWebhook
    from healer.services import Services

DISCORD = "discord"
GITHUB = "github"
SENT = "sent"
FAILED = "failed"
LABELS = ("healer",)

log = logging.getLogger("healer.escalate")


class EscalationFailed(PermanentError):
    status = 422
    title = "no channel took the escalation"


@dataclass
class Escalator:
    services: Services
    discord: DiscordWebhook | None = None
    clock: Callable[[], str] = field(default=clock.now)
    token: Callable[[], str] = field(default=lambda: uuid.uuid4().hex)
    now: Callable[[], float] = field(default=time.time)  # for leases

    def __call__(self, event: CloudEvent) -> CloudEvent | Skip:
        if event["type"] != EventType.REMEDIATION_EXHAUSTED:
            raise InvalidInput(
                f"event type {event['type']!r} is not handled here; escalate accepts "
                f"{EventType.REMEDIATION_EXHAUSTED.value}"
            )
        return self.escalate(parse_data(RemediationExhausted, event))

    def escalate(self, exhausted: RemediationExhausted) -> CloudEvent | Skip:
        check_identity(exhausted)
        state = self.services.state
        done = finished(state, exhausted.task_id)
        if done is not None:  # a redelivery after success: the same answer, nothing posted
            return escalated(RemediationEscalated.model_validate(done))
        record = persistence.read(state, task_key(exhausted.task_id), TaskRecord)
        why = refusal(exhausted, record)
        if why is not None:
            log.warning("escalate: not escalating: %s", why)
            return Skip(f"not exhausted: {why}")
        assert record is not None  # refusal() said so
        stored = stored_context(self.services.blobs, record)
        if stored is not None:
            exhausted = exhausted.model_copy(update={"context": stored})
        progress = Progress(state, exhausted.task_id, self.token(), self.now)
        claim = progress.acquire()
        if claim.state == DONE and claim.payload is not None:
            return escalated(RemediationEscalated.model_validate(claim.payload))
        try:
            facts = facts_of(exhausted, record)
            payload = self._notify(facts, progress, claim)
        except BaseException:
            _quietly(progress.release)
            raise
        return escalated(payload)

    def _notify(
        self, facts: Facts, progress: Progress, claim: EscalationClaim
    ) -> RemediationEscalated:
        body = comment.comment_body(facts)
        message = discord.message(facts)
        blobs = self.services.blobs
        blobs.put(facts.message_key, body.encode(), content_type="text/markdown; charset=utf-8")
        blobs.put(facts.discord_key, json.dumps(message).encode(), content_type="application/json")
        done = {name: result for name, result in claim.channels.items() if result.status == SENT}
        disabled = [] if self._discord_enabled() else [DISCORD]
        posts: list[tuple[str, Callable[[], dict[str, Any]]]] = [
            (GITHUB, lambda: self._github(facts, body))
        ]
        if not disabled:
            posts.insert(0, (DISCORD, lambda: self._discord(message)))
        errors: dict[str, str] = {}
        retry: RetryableError | None = None
        for name, post in posts:
            if name in done:
                continue
            try:
                result = ChannelResult.model_validate(
                    {"status": SENT, "at": self.clock(), **post()}
                )
            except RetryableError as exc:
                retry = _longer(retry, exc)
                continue
            except HealerError as exc:
                errors[name] = str(exc)
                progress.record_channel(name, ChannelResult(status=FAILED, error=str(exc)))
                continue
            done[name] = progress.record_channel(name, result)
        if retry is not None:
            raise retry
        github = done.get(GITHUB) or ChannelResult(status=FAILED)
        payload = RemediationEscalated(
            task_id=facts.task_id,
            repository=facts.repository,
            run_id=facts.run_id,
            channels=[name for name in (DISCORD, GITHUB) if name in done],
            comment_url=github.url,
            comment_kind=github.kind,
            failure_type=facts.failure_type,
            attempts=len(facts.attempts),
            disabled=disabled,
            errors=errors,
            message_key=facts.message_key,
            discord_key=facts.discord_key,
        )
        self._record(facts, payload)
        if not payload.channels:
            detail = "; ".join(f"{k}: {v}" for k, v in errors.items()) or "no channel enabled"
            raise EscalationFailed(f"task {facts.task_id} reached nobody: {detail}")
        progress.finish(payload.model_dump(mode="json"))
        return payload

    def _record(self, facts: Facts, payload: RemediationEscalated) -> None:
        base = TaskRecord(
            task_id=facts.task_id,
            repository=facts.repository,
            run_id=int(facts.run_ref) if facts.run_ref.isdigit() else facts.run_ref,
            failure_type=facts.failure_type,
            attempts=[Attempt.model_validate(a.model_dump(mode="json")) for a in facts.attempts],
        )
        now = self.clock()
        escalation = Escalation(
            channels=payload.channels,
            comment_url=payload.comment_url,
            comment_kind=payload.comment_kind,
            errors=payload.errors,
            disabled=payload.disabled,
            message_key=payload.message_key,
            at=now,
        )
        status = TaskStatus.ESCALATED if payload.channels else TaskStatus.ESCALATION_FAILED
        fields = TaskRecord(status=status, escalation=escalation)
        if payload.channels:
            fields = fields.model_copy(
                update={"escalated_at": now, "comment_url": payload.comment_url}
            )
        update_task(self.services.state, facts.task_id, base, fields, now)

    # -- channels --------------------------------------------------------------------------

    def _discord_enabled(self) -> bool:
        return self.discord is not None or bool(self.services.settings.discord_webhook_url)

    def _discord(self, message: dict[str, Any]) -> dict[str, Any]:
        if self.discord is None:
            from functions.escalate.webhook import DiscordWebhook

            settings = self.services.settings
            self.discord = DiscordWebhook(
                settings.discord_webhook_url, timeout=settings.discord_timeout
            )
        return {"message_id": self.discord.post(message)}

    def _github(self, facts: Facts, body: str) -> dict[str, Any]:
        """A comment on the PR; a new issue when there is none or it refuses comments."""
        from healer.github.exceptions import GitHubError

        github = self.services.github
        note = ""
        if facts.pull_request is not None:
            try:
                answer = github.create_issue_comment(facts.repository, facts.pull_request, body)
                return {"kind": "comment", "url": _html_url(answer), "number": facts.pull_request}
            except GitHubError as exc:  # gone, locked, or not ours to comment on
                note = f"PR #{facts.pull_request} refused a comment: {exc}"
        answer = github.create_issue(
            facts.repository, comment.issue_title(facts), body, labels=LABELS
        )
        number = answer.get("number")
        result: dict[str, Any] = {"kind": "issue", "url": _html_url(answer), "number": number}
        return {**result, "note": note} if note else result


def _html_url(answer: dict[str, Any]) -> str:
    url = answer.get("html_url")
    return url if isinstance(url, str) else ""


def _longer(current: RetryableError | None, new: RetryableError) -> RetryableError:
    """Of two retryable failures, the one asking the broker to wait longer."""
    if current is None:
        return new
    if (new.retry_after or 0) > (current.retry_after or 0):
        return new
    return current


def _quietly(action: Callable[[], None]) -> None:
    with contextlib.suppress(HealerError):  # the lease runs out on its own
        action()


def escalated(payload: RemediationEscalated) -> CloudEvent:
    return build_event(
        EventType.REMEDIATION_ESCALATED,
        Stage.ESCALATE,
        payload,
        key=(payload.task_id,),
        repository=payload.repository,
        run_id=_run_ref(payload),
        attempt=max(1, payload.attempts),
    )


def _run_ref(payload: RemediationEscalated) -> int | str:
    """The run id, or for an alert the ``dependabot-3`` its task id ends with."""
    if payload.run_id:
        return payload.run_id
    prefix = task_id(payload.repository, "")
    return payload.task_id.removeprefix(prefix) if payload.task_id.startswith(prefix) else 0
