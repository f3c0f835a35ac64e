"""The in-process broker: publish an event, deliver it to every matching Trigger's subscriber.

Replies re-enter the broker (breadth first) carrying ``knativebrokerttl`` one lower than the
event they answer; at 0 they are dropped, the only guard against reply loops. Failed deliveries
are retried per the Trigger's (or Broker's) delivery spec, then sent to the dead-letter sink with
``knativeerrordest``, ``knativeerrorcode`` and ``knativeerrordata``. A 429 or 503 answer's
``Retry-After`` is honoured as Knative's ``retryAfterMax`` does (see ``delivery``): up to the
spec's ``retryAfterMax``, else up to the broker's ``retry_after_max``, within the same number
of retries.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from cloudevents.http import CloudEvent

from healer.errors import InvalidInput
from healer.runtime import REASON_HEADER, is_cloudevent, parse_cloudevent
from healer.vocabulary import EXT_ERROR_CODE, EXT_ERROR_DATA, EXT_ERROR_DEST, EXT_TTL
from healer_dev.broker.delivery import (
    RETRY_AFTER_STATUSES,
    DeadLetterSink,
    DeliverySpec,
    is_retryable,
    is_success,
    retry_after_seconds,
)
from healer_dev.broker.hops import Hop, Outcome
from healer_dev.broker.transport import Answer, Sender
from healer_dev.broker.triggers import DEFAULT_BROKER, Topology, Trigger

DEFAULT_TTL = 255
DEFAULT_RETRY_AFTER_MAX = 120.0  # seconds a local delivery waits at most for one Retry-After
ERROR_DATA_MAX_CHARS = 1024
_ERROR_DATA_MAX_BYTES = ERROR_DATA_MAX_CHARS // 4 * 3  # base64 of this many bytes fits the limit


def attributes_of(event: CloudEvent) -> dict[str, str]:
    """Context attributes and extensions as strings: all a Trigger filter may look at."""
    return {str(k): str(v) for k, v in event.get_attributes().items() if v is not None}


def reason_of(answer: Answer) -> str:
    """Why a stage answered as it did: ``X-Healer-Reason``, a problem's ``detail``, or the text."""
    header = answer.headers.get(REASON_HEADER.lower())
    if header:
        return header
    if answer.error:
        return answer.error
    if not answer.body:
        return ""
    try:
        body = json.loads(answer.body)
    except ValueError:
        return answer.body[:200].decode("utf-8", "replace").strip()
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("title") or body.get("reason") or "")
    return ""


def with_attributes(event: CloudEvent, extra: Mapping[str, str]) -> CloudEvent:
    attributes = dict(event.get_attributes())
    attributes.update(extra)
    return CloudEvent(attributes, event.get_data())


def encode(event: CloudEvent) -> tuple[dict[str, str], bytes]:
    """Binary-mode HTTP form, as the broker's dispatcher sends it."""
    from cloudevents.conversion import to_binary

    headers, body = to_binary(event)
    if body is None:
        body = b""
    elif isinstance(body, str):
        body = body.encode()
    return {str(k): str(v) for k, v in headers.items()}, body


@dataclass(frozen=True)
class _Attempts:
    answer: Answer
    attempts: int
    duration_ms: float
    reply: CloudEvent | None = None


class LocalBroker:
    """Routes by ``topology``; reaches subscribers through ``sender``.

    ``backoff_scale`` multiplies every retry delay (0 in tests, 1 for Knative's real timing);
    ``sleep`` is injectable for the same reason. ``retry_after_max`` caps a ``Retry-After`` wait
    where the delivery spec sets no ``retryAfterMax`` (0 ignores the header, as a cluster
    without Knative's ``delivery-retryafter`` feature does). ``unavailable`` explains Services
    that exist in the manifests but cannot be reached (their function is not written yet).
    """

    def __init__(
        self,
        topology: Topology,
        sender: Sender,
        *,
        broker: str = DEFAULT_BROKER,
        unavailable: Mapping[str, str] | None = None,
        backoff_scale: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        on_hop: Callable[[Hop], None] | None = None,
        retry_after_max: float = DEFAULT_RETRY_AFTER_MAX,
    ) -> None:
        self.topology = topology
        self.sender = sender
        self.broker = broker
        self.unavailable = dict(unavailable or {})
        self.backoff_scale = backoff_scale
        self.sleep = sleep
        self.on_hop = on_hop
        self.retry_after_max = retry_after_max
        self._lock = threading.Lock()

    def publish(self, event: CloudEvent) -> list[Hop]:
        """Deliver ``event`` and every reply it leads to; return the hops in delivery order."""
        if EXT_TTL not in event.get_attributes():
            event = with_attributes(event, {EXT_TTL: str(DEFAULT_TTL)})
        hops: list[Hop] = []
        queue: deque[CloudEvent] = deque([event])
        while queue:
            current = queue.popleft()
            for trigger in self.topology.matching(attributes_of(current), self.broker):
                hop, extra = self._deliver(trigger, current)
                self._record(hops, hop, *extra)
                if hop.reply is not None:
                    reply = self._reenter(current, hop.reply, trigger, hops)
                    if reply is not None:
                        queue.append(reply)
        return hops

    def _record(self, hops: list[Hop], *new: Hop) -> None:
        for hop in new:
            hops.append(hop)
            if self.on_hop is not None:
                with self._lock:
                    self.on_hop(hop)

    def _reenter(
        self, current: CloudEvent, reply: CloudEvent, trigger: Trigger, hops: list[Hop]
    ) -> CloudEvent | None:
        try:
            ttl = int(str(current.get_attributes().get(EXT_TTL, DEFAULT_TTL))) - 1
        except ValueError:
            ttl = DEFAULT_TTL - 1
        if ttl <= 0:
            dropped = Hop(
                stage="broker",
                trigger=trigger.name,
                type=str(reply["type"]),
                id=str(reply["id"]),
                status=None,
                outcome=Outcome.DROPPED,
                reason=f"{EXT_TTL} reached 0: reply dropped (a reply loop?)",
                attempts=0,
            )
            self._record(hops, dropped)
            return None
        return with_attributes(reply, {EXT_TTL: str(ttl)})

    def _deliver(self, trigger: Trigger, event: CloudEvent) -> tuple[Hop, tuple[Hop, ...]]:
        service, path = trigger.subscriber.service, trigger.subscriber.path
        hop = Hop(
            stage=service or trigger.subscriber.uri,
            trigger=trigger.name,
            type=str(event["type"]),
            id=str(event["id"]),
            status=None,
            outcome=Outcome.UNDELIVERABLE,
            attempts=0,
        )
        if not service or not self.sender.has(service):
            reason = self.unavailable.get(service) or (
                f"no Knative Service named {service!r} in the manifests"
                if service and service not in self.topology.services
                else f"subscriber {trigger.subscriber.describe()} is not reachable locally"
            )
            return replace(hop, reason=reason), ()
        spec = self.topology.delivery_for(trigger)
        result = self._attempt(service, path, event, spec, parse_reply=True)
        answer = result.answer
        hop = replace(
            hop,
            status=answer.status,
            reason=reason_of(answer),
            attempts=result.attempts,
            duration_ms=result.duration_ms,
        )
        if answer.status is not None and is_success(answer.status):
            if result.reply is not None:
                reply = result.reply
                hop = replace(
                    hop,
                    outcome=Outcome.REPLY,
                    reply_type=str(reply["type"]),
                    reply_id=str(reply["id"]),
                    reply=reply,
                )
                return hop, ()
            return replace(hop, outcome=Outcome.SKIPPED if hop.reason else Outcome.ACCEPTED), ()
        hop = replace(
            hop, outcome=Outcome.FAILED if is_retryable(answer.status) else Outcome.REJECTED
        )
        if spec.dead_letter is None:
            return hop, ()
        dest = self.sender.url(service, path)
        letter = self._dead_letter(spec.dead_letter, event, dest, answer, spec, hop)
        stored = letter.status is not None and is_success(letter.status)
        return replace(hop, dead_lettered=stored), (letter,)

    def _attempt(
        self, service: str, path: str, event: CloudEvent, spec: DeliverySpec, *, parse_reply: bool
    ) -> _Attempts:
        headers, body = encode(event)
        spent = 0.0
        answer = Answer(None, error="not attempted")
        if spec.retry_after_max is None:
            spec = replace(spec, retry_after_max=self.retry_after_max)
        for n in range(spec.attempts):
            if n:
                asked = _retry_after(answer)
                self.sleep(spec.delay_before_retry(n, asked) * self.backoff_scale)
            started = time.perf_counter()
            answer = self.sender.send(service, path, headers, body)
            spent += (time.perf_counter() - started) * 1000
            if answer.status is not None and is_success(answer.status):
                if not parse_reply or not answer.body:
                    return _Attempts(answer, n + 1, spent)
                reply = _parse_reply(answer)
                if isinstance(reply, CloudEvent):
                    return _Attempts(answer, n + 1, spent, reply)
                answer = Answer(502, answer.headers, answer.body, reply)
            if not is_retryable(answer.status):
                return _Attempts(answer, n + 1, spent)
        return _Attempts(answer, spec.attempts, spent)

    def _dead_letter(
        self,
        sink: DeadLetterSink,
        event: CloudEvent,
        dest: str,
        answer: Answer,
        spec: DeliverySpec,
        failed: Hop,
    ) -> Hop:
        extensions = {EXT_ERROR_DEST: dest}
        if answer.status is not None:
            extensions[EXT_ERROR_CODE] = str(answer.status)
        if answer.body:
            data = answer.body[:_ERROR_DATA_MAX_BYTES]
            extensions[EXT_ERROR_DATA] = base64.b64encode(data).decode()
        letter = with_attributes(event, extensions)
        hop = replace(
            failed,
            stage=sink.service or sink.uri,
            outcome=Outcome.DEAD_LETTER,
            status=None,
            attempts=0,
            duration_ms=0.0,
            reason="",
        )
        if sink.uri or not self.sender.has(sink.service):
            target = sink.uri or sink.service
            reason = (
                self.unavailable.get(sink.service) or f"dead-letter sink {target} is not reachable"
            )
            return replace(hop, reason=reason)
        result = self._attempt(sink.service, sink.path, letter, spec, parse_reply=False)
        status = result.answer.status
        stored = status is not None and is_success(status)
        return replace(
            hop,
            status=status,
            reason=reason_of(result.answer) or ("stored" if stored else ""),
            attempts=result.attempts,
            duration_ms=result.duration_ms,
        )


def _retry_after(answer: Answer) -> float | None:
    """The wait a 429 or 503 answer asked for, if it asked."""
    if answer.status not in RETRY_AFTER_STATUSES:
        return None
    header = answer.headers.get("retry-after")
    return retry_after_seconds(header) if header else None


def _parse_reply(answer: Answer) -> CloudEvent | str:
    """The reply event, or why the 2xx body is not one (the real broker answers that with 502)."""
    headers = dict(answer.headers)
    if not is_cloudevent(headers):
        kind = headers.get("content-type", "no content type")
        return f"2xx reply with a body that is not a CloudEvent ({kind})"
    try:
        return parse_cloudevent(headers, answer.body)
    except InvalidInput as exc:
        return f"2xx reply is not a valid CloudEvent: {exc}"
