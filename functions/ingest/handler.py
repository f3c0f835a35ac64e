"""ingest: verify, decode, parse, filter, record once, and answer with the detected event.

On every path but the seed's, the answer is the broker's: the event as a CloudEvent reply, or an
empty 202 with the skip reason. The seed's paths (``/api/remediate/ci-failure`` and
``/api/remediate/security-alert``) are for plain HTTP clients and answer the seed's JSON shape
``{status, coderun_name, agent, failure_type, reason}``; their events reach the broker through
``emit`` (a POST to ``broker_url``). With no broker configured they reply with the CloudEvent
like every other path, so a caller that routes replies (the local broker) still carries it on.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from functions.ingest import filters
from functions.ingest.checks import check_detected
from functions.ingest.dedup import archive_document, delivery_ident, record_once
from functions.ingest.fields import shown
from functions.ingest.parse import Finding, event_name_of, parse
from healer.errors import HealerError, InvalidInput, RetryableError
from healer.events import build_event
from healer.forward import BrokerEmitter, Emit
from healer.runtime import Inbound, JSONReply, Reply, Skip
from healer.stores.keys import delivery_key
from healer.vocabulary import PREFIX, EventType, Stage
from healer.webhooks.envelope import EVENT, SIGNATURE, decode
from healer.webhooks.signature import verify
from healer.webhooks.trust import VERIFY, authenticate

if TYPE_CHECKING:
    from cloudevents.http import CloudEvent

    from healer.services import Services

log = logging.getLogger("healer.ingest")

SEED_PATHS = ("/api/remediate/ci-failure", "/api/remediate/security-alert")
_IDENT = re.compile(r"[A-Za-z0-9._:/@-]{1,200}")
_FOREIGN_PREFIXES = (PREFIX, "dev.knative.")


class Ingest:
    """The ingest handler for one function instance."""

    def __init__(self, services: Services, emit: Emit | None = None) -> None:
        self.services = services
        self.settings = services.settings
        if emit is None and self.settings.broker_url:
            emit = BrokerEmitter(self.settings.broker_url)
        self.emit = emit

    def __call__(self, inbound: Inbound) -> Reply:
        if inbound.path.rstrip("/") in SEED_PATHS:
            return self.seed(inbound)
        outcome = self.process(inbound)
        return outcome if isinstance(outcome, Skip) else outcome[0]

    def process(
        self, inbound: Inbound, *, direct: bool = False
    ) -> tuple[CloudEvent, Finding] | Skip:
        """``direct``: a plain HTTP client's call (the seed's paths), never trusted unsigned."""
        if inbound.method != "POST":
            raise InvalidInput(f"{inbound.method} is not supported; POST a GitHub webhook")
        incoming = inbound.event
        if incoming is not None:
            kind = str(incoming["type"])
            if kind.startswith(_FOREIGN_PREFIXES) and kind != EventType.GITHUB_WEBHOOK:
                return Skip(f"CloudEvent type {shown(kind)} is not a GitHub delivery")
        secret = self.settings.webhook_secret
        # A plain webhook is verified over the bytes received, before anything parses them.
        plain = incoming is None and bool(inbound.header(EVENT))
        if secret and plain:
            verify(secret, inbound.header(SIGNATURE), (inbound.body,))
        delivery = decode(inbound)
        if secret and not plain:
            trust = VERIFY if direct else self.settings.envelope_trust
            attributes = incoming.get_attributes() if incoming is not None else None
            authenticate(delivery, secret=secret, trust=trust, attributes=attributes)
        event_name = delivery.event_name or event_name_of(delivery.payload)
        finding = parse(event_name, delivery.payload)
        if isinstance(finding, Skip):
            return finding
        refused = filters.check(finding, self.settings)
        if refused is not None:
            return refused
        ident = delivery_ident(delivery, finding)
        if not _IDENT.fullmatch(ident):
            raise InvalidInput("X-GitHub-Delivery must be 1-200 letters, digits or ._:/@-")
        check_detected(finding.data)
        data: dict[str, Any] = {
            **finding.data,
            "delivery_id": delivery.delivery_id,
            "archive_key": delivery_key(ident),
        }
        key = (delivery.delivery_id,) if delivery.delivery_id else finding.identity
        event = build_event(
            finding.event_type,
            Stage.INGEST,
            data,
            key=key,
            repository=finding.repository,
            run_id=finding.run_id,
            attempt=finding.attempt,
        )
        first = record_once(
            self.services.state,
            self.services.blobs,
            ident,
            str(event["id"]),
            archive_document(delivery, event_name),
        )
        log.info(
            "ingest: %s %s for %s#%s (%s)%s",
            event_name,
            event["type"],
            finding.repository,
            finding.run_id,
            delivery.form,
            "" if first else " - redelivery, already recorded",
        )
        return event, finding

    def seed(self, inbound: Inbound) -> Reply:
        """The seed API: same processing, answered in the seed's JSON shape."""
        try:
            outcome = self.process(inbound, direct=True)
            if isinstance(outcome, Skip):
                return JSONReply(seed_body("skipped", outcome.reason), status=202)
            event, finding = outcome
            if self.emit is None:
                return event
            self.emit(event)
        except HealerError as exc:
            headers = {}
            if isinstance(exc, RetryableError) and exc.retry_after is not None:
                headers["Retry-After"] = str(max(1, round(exc.retry_after)))
            return JSONReply(seed_body("error", str(exc)), status=exc.status, headers=headers)
        reason = f"emitted {event['type']} {event['id']}"
        return JSONReply(seed_body("accepted", reason, finding.failure_type), status=202)


def seed_body(status: str, reason: str, failure_type: str = "") -> dict[str, str]:
    """The seed's response; CodeRun and agent are chosen later, by spawn."""
    return {
        "status": status,
        "coderun_name": "",
        "agent": "",
        "failure_type": failure_type,
        "reason": reason,
    }
