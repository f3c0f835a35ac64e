"""The spawn stage: a gathered context in, ``remediation.started`` or ``.skipped`` out.

Nothing is taken on trust: a context whose identity is not well-formed is a 400, and the
repository, branch and fork policy is applied again (``guard``); the agent never pushes to the
default branch or a protected one unless configured to (``branches``). Per the primary
verdict: ``fix`` renders the specialist's prompt, stores it beside the run and creates a
CodeRun; ``rerun`` asks GitHub to re-run the failed jobs; ``ignore`` is skipped. Claims (see
``dedup`` and ``healer.state.limits``) make a redelivery answer the same event, and anything
that fails half-way gives its claims back before the broker retries. A limit that will lift
keeps the task waiting (see ``healer.state.waiting``) instead of dropping it. Event ids are
keyed on (task id, attempt).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cloudevents.http import CloudEvent

from functions.spawn.branches import push_refusal
from functions.spawn.coderun import build_manifest
from functions.spawn.dedup import claim_dedup, finish_dedup
from functions.spawn.guard import check_identity, policy_refusal
from functions.spawn.launcher import Launcher, launcher_for
from functions.spawn.record import planned_agent, record_attempt
from functions.spawn.start import start_sha
from healer.errors import InvalidInput
from healer.events import build_event, event_data
from healer.models import ContextGathered, RemediationSkipped, RemediationStarted
from healer.state import clock, persistence
from healer.state.limits import Claims, Limits, Refusal
from healer.state.records import Attempt, TaskRecord
from healer.state.waiting import Waiting, record_waiting
from healer.state.waiting import started as waiting_started
from healer.stores.keys import branch_key, spawn_dedup_key, task_key
from healer.target import Target, diverted, target_of
from healer.vocabulary import LIFTING, Action, EventType, SkipCode, Stage

if TYPE_CHECKING:
    import jinja2

    from healer.roster import Roster, Specialist
    from healer.services import Services


log = logging.getLogger("healer.spawn")


@dataclass
class Spawner:
    services: Services
    launcher: Launcher | None = None
    env: jinja2.Environment | None = None
    roster: Roster | None = None
    clock: Callable[[], str] = field(default=clock.now)

    def limits(self) -> Limits:
        return Limits.of(self.services.state, self.services.settings)

    def __call__(self, event: CloudEvent) -> CloudEvent:
        if event["type"] != EventType.CONTEXT_GATHERED:
            raise InvalidInput(
                f"event type {event['type']!r} is not handled here; spawn accepts "
                f"{EventType.CONTEXT_GATHERED.value}"
            )
        return self.spawn(parse_context(event_data(event)))

    def spawn(self, context: ContextGathered) -> CloudEvent:
        target = target_of(context)
        check_identity(target)
        action = target.primary.action
        max_attempts = self.services.settings.max_attempts
        refusal = policy_refusal(context, target, self.services.settings)
        if refusal is not None:
            return skipped(target, refusal.code, refusal.reason)
        if action == Action.IGNORE:
            why = target.primary.failure_type.value
            return skipped(target, SkipCode.IGNORE, f"the verdict ({why}) asks for no remediation")
        if action in (Action.FIX, Action.UNSURE):
            floor = self.services.settings.min_confidence
            if target.primary.confidence < floor:
                why = (
                    f"{target.primary.failure_type.value} at confidence {target.primary.confidence}"
                )
                return skipped(
                    target, SkipCode.UNSURE, f"the verdict ({why}) is below min_confidence"
                )
            action = Action.FIX
        if target.attempt > max_attempts:
            return skipped(
                target,
                SkipCode.MAX_ATTEMPTS,
                f"attempt {target.attempt} is past max_attempts ({max_attempts})",
            )
        state = self.services.state
        limits = self.limits()
        claims = Claims()
        done = claim_dedup(state, spawn_dedup_key(target.task_id, target.attempt), claims)
        if done is not None:  # a redelivery: the same answer, nothing started again
            return started(target, RemediationStarted.model_validate(done))
        try:
            if action == Action.FIX:
                target = self.branch_for(context, target)
            refusal = limits.breaker()
            if refusal is None and action == Action.FIX:
                refusal = (
                    limits.branch_busy(target.repository, target.branch, target.task_id)
                    or limits.take_window(target.repository, target.branch, target.task_id, claims)
                    or limits.take_slot(claims)
                )
            if refusal is not None:
                limits.release(claims)
                return self.refused(target, context, refusal)
            payload = (
                self.rerun(target, context) if action == Action.RERUN else self.fix(target, context)
            )
            finish_dedup(state, claims, payload.model_dump(mode="json"))
        except BaseException:
            limits.release(claims)
            raise
        return started(target, payload)

    def refused(self, target: Target, context: ContextGathered, refusal: Refusal) -> CloudEvent:
        """A skip; for a limit that will lift, the task is kept waiting first (its context
        stored where a release reads it back), and the skip says since when."""
        if refusal.code not in LIFTING:
            return skipped(target, refusal.code, refusal.reason)
        self.services.blobs.put(
            target.context_key, context.model_dump_json().encode(), content_type=_JSON
        )
        now = self.clock()
        waiting = Waiting(
            attempt=target.attempt,
            code=refusal.code,
            reason=refusal.reason,
            context_key=target.context_key,
            action=target.primary.action.value,
            repository=target.repository,
            branch=target.branch,
            since=now,
        )
        stored = record_waiting(
            self.services.state, target.task_id, self._base(target), waiting, now
        )
        log.info(
            "%s attempt %d waits (%s): %s",
            target.task_id,
            target.attempt,
            refusal.code,
            refusal.reason,
        )
        return skipped(target, refusal.code, refusal.reason, waiting_since=stored.since)

    def branch_for(self, context: ContextGathered, target: Target) -> Target:
        """The target, moved to a ``healer/<task>`` branch when its own branch is the default
        branch or a protected one (see ``branches``)."""
        why = push_refusal(self.services.github, context, target, self.services.settings)
        if why is None:
            return target
        moved = diverted(target)
        log.info("%s: not pushing to %s: %s", target.task_id, target.branch, why)
        return moved

    def rerun(self, target: Target, context: ContextGathered) -> RemediationStarted:
        """A transient failure: GitHub re-runs the failed jobs; no agent. The context is kept
        so completion-check can retry with an agent if the re-run fails too."""
        self.services.github.rerun_failed_jobs(target.repository, target.run_id)
        blob = context.model_dump_json().encode()
        self.services.blobs.put(target.context_key, blob, content_type=_JSON)
        payload = _started(target, agent="", action=Action.RERUN)
        self._record(target, payload)
        return payload

    def fix(self, target: Target, context: ContextGathered) -> RemediationStarted:
        from healer.prompts import render_prompt

        settings = self.services.settings
        record = persistence.read(self.services.state, task_key(target.task_id), TaskRecord)
        specialist = self.specialist(planned_agent(record, target.attempt) or target.primary.agent)
        prompt = render_prompt(
            self._env(),
            context,
            specialist,
            max_attempts=settings.max_attempts,
            branch=target.branch,
        )
        blobs = self.services.blobs
        blobs.put(target.context_key, context.model_dump_json().encode(), content_type=_JSON)
        blobs.put(target.prompt_key, prompt.encode("utf-8"), content_type=_MARKDOWN)
        start = start_sha(self.services.github, target)
        manifest = build_manifest(
            target,
            specialist,
            namespace=settings.namespace,
            service=settings.coderun_service,
            cli=settings.cli,
            model=settings.model,
            prompt=prompt,
            start_sha=start,
        )
        launched = self._launcher().launch(manifest)
        payload = _started(
            target,
            agent=specialist.key,
            action=Action.FIX,
            coderun_name=launched.name,
            launched_to=launched.location,
        )
        self._record(target, payload, start_sha=start)
        return payload

    def specialist(self, agent: str) -> Specialist:
        """The verdict's specialist, or the roster's fallback for a name it does not know."""
        if self.roster is None:
            from healer.roster import load_roster

            self.roster = load_roster()
        known = self.roster.specialists
        return known.get(agent) or known[self.roster.fallback]

    def _env(self) -> jinja2.Environment:
        if self.env is None:
            from healer.prompts import environment

            self.env = environment()
        return self.env

    def _launcher(self) -> Launcher:
        if self.launcher is None:
            self.launcher = launcher_for(self.services.settings)
        return self.launcher

    @staticmethod
    def _base(target: Target) -> TaskRecord:
        return TaskRecord(
            task_id=target.task_id,
            repository=target.repository,
            run_id=target.run_ref,
            branch=target.branch,
            failure_type=target.primary.failure_type.value,
        )

    def _record(self, target: Target, payload: RemediationStarted, start_sha: str = "") -> None:
        base = self._base(target)
        entry = Attempt(
            attempt=target.attempt,
            agent=payload.agent,
            action=payload.action,
            coderun_name=payload.coderun_name,
            prompt_key=payload.prompt_key,
            context_key=target.context_key,
            branch=target.branch,
            start_sha=start_sha,
            started_at=self.clock(),
            outcome="",
        )
        record_attempt(self.services.state, target.task_id, base, entry, self.clock())
        self.services.state.set(branch_key(target.repository, target.branch), target.task_id)
        waiting_started(self.services.state, target.task_id, target.attempt)


_JSON = "application/json"
_MARKDOWN = "text/markdown; charset=utf-8"


def _started(
    target: Target,
    *,
    agent: str,
    action: Action,
    coderun_name: str = "",
    launched_to: str = "",
) -> RemediationStarted:
    fix = action == Action.FIX
    return RemediationStarted(
        task_id=target.task_id,
        repository=target.repository,
        run_id=target.run_id,
        attempt=target.attempt,
        agent=agent,
        action=action,
        failure_type=target.primary.failure_type,
        branch=target.branch if fix else "",
        base_branch=target.base_branch if fix else "",
        prompt_key=target.prompt_key if fix else "",
        context_key=target.context_key if fix else "",
        coderun_name=coderun_name,
        launched_to=launched_to,
    )


def started(target: Target, payload: RemediationStarted) -> CloudEvent:
    return _event(EventType.REMEDIATION_STARTED, target, payload)


def skipped(target: Target, code: SkipCode, reason: str, waiting_since: str = "") -> CloudEvent:
    payload = RemediationSkipped(
        task_id=target.task_id,
        repository=target.repository,
        run_id=target.run_id,
        attempt=target.attempt,
        reason=reason,
        code=code,
        waiting_since=waiting_since,
    )
    return _event(EventType.REMEDIATION_SKIPPED, target, payload)


def _event(
    kind: EventType, target: Target, payload: RemediationStarted | RemediationSkipped
) -> CloudEvent:
    return build_event(
        kind,
        Stage.SPAWN,
        payload,
        key=(target.task_id, target.attempt),
        repository=target.repository,
        run_id=target.run_ref,
        attempt=target.attempt,
    )


def parse_context(data: dict[str, Any]) -> ContextGathered:
    """The payload, or a 400 naming the first field that is wrong."""
    from pydantic import ValidationError

    try:
        return ContextGathered.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "data"
        raise InvalidInput(
            f"{EventType.CONTEXT_GATHERED.value} data is not a valid ContextGathered: "
            f"{exc.error_count()} error(s), first at {where}: {first['msg']}"
        ) from exc
