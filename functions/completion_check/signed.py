"""The HTTP edge of completion-check: CloudEvents only, and GitHub deliveries signed.

A CI result on an agent's branch can decide that an attempt succeeded, so with
``webhook_secret`` set a ``dev.healer.github.webhook`` must be authenticated exactly as ingest
authenticates it (``healer.webhooks.trust``): a valid ``X-Hub-Signature-256`` over the raw
request body, which is why this stage sees the whole request rather than a parsed event, or,
with ``envelope_trust = "argo"``, an envelope in the form Argo's EventSource produces after it
verified the signature itself.
CodeRun updates and sweep ticks come from the cluster (ApiServerSource, PingSource), carry no
GitHub signature, and pass as before. Without a secret nothing is verified: a production
install must set ``HEALER_WEBHOOK_SECRET`` (in the Secret ``healer-secrets``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from cloudevents.http import CloudEvent

from healer.errors import InvalidInput
from healer.runtime import STRUCTURED, Inbound, Reply
from healer.vocabulary import EventType
from healer.webhooks.envelope import decode
from healer.webhooks.trust import VERIFY, authenticate


@dataclass(frozen=True)
class SignedWebhooks:
    """``stage`` behind the checks: a POSTed CloudEvent, and GitHub's signature when required."""

    stage: Callable[[CloudEvent], Reply]
    secret: str = field(default="", repr=False)
    trust: str = VERIFY

    def __call__(self, inbound: Inbound) -> Reply:
        if inbound.method != "POST":
            raise InvalidInput(f"{inbound.method} is not supported; POST a CloudEvent")
        event = inbound.event
        if event is None:
            raise InvalidInput(
                "expected a CloudEvent: binary mode (ce-* headers) or structured mode "
                f"(Content-Type: {STRUCTURED})"
            )
        if self.secret and event["type"] == EventType.GITHUB_WEBHOOK:
            delivery = decode(inbound)
            authenticate(
                delivery, secret=self.secret, trust=self.trust, attributes=event.get_attributes()
            )
        return self.stage(event)
