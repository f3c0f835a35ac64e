"""Whether a decoded delivery may be believed: its signature, or Argo's word for it.

``envelope_trust = "verify"``: every delivery carries ``X-Hub-Signature-256`` valid over the
bytes received (what ``healer replay`` and ``healer dev`` send). ``"argo"``: a CloudEvent whose
data is an envelope in the form Argo's GitHub EventSource produces is accepted as it stands,
because that EventSource verified GitHub's signature before re-encoding the body, so the
signed bytes no longer exist. Anything else (plain webhooks, the seed's paths, envelopes in
another form) is verified in either mode.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from healer.errors import Unauthorized
from healer.webhooks.argo import form_problem
from healer.webhooks.envelope import CLOUDEVENT_ENVELOPE, Delivery
from healer.webhooks.signature import verify

VERIFY = "verify"
ARGO = "argo"


def authenticate(
    delivery: Delivery,
    *,
    secret: str,
    trust: str,
    attributes: Mapping[str, Any] | None,
) -> None:
    """Raise ``Unauthorized`` unless ``delivery`` is signed with ``secret`` or, under
    ``trust == "argo"``, is an Argo envelope that reached us as a CloudEvent (``attributes``).

    Call only when a secret is configured: without one nothing is verified."""
    problem = ""
    if trust == ARGO and attributes is not None and delivery.form == CLOUDEVENT_ENVELOPE:
        found = form_problem(delivery.envelope or {}, attributes)
        if found is None:
            return
        problem = found
    try:
        verify(secret, delivery.signature, delivery.signed)
    except Unauthorized as exc:
        if not problem:
            raise
        raise Unauthorized(f"not an Argo Events envelope ({problem}); {exc}") from None
