"""Decode every form a GitHub delivery reaches a stage in to one ``Delivery``.

Forms: a plain webhook POST (JSON or ``payload=`` form), Argo Events' envelope
``{headers, body, metadata}`` (bare, or as the base64 ``data`` of Argo's whole-event HTTP trigger
payload, or as a CloudEvent's data), and a CloudEvent whose data is the bare payload. Each keeps
the bytes GitHub signed, or the candidates for them when only a parsed body survived.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeGuard

from healer.errors import InvalidInput
from healer.vocabulary import EXT_GITHUB_EVENT

if TYPE_CHECKING:
    from cloudevents.http import CloudEvent

    from healer.runtime import Inbound

EVENT = "x-github-event"
DELIVERY = "x-github-delivery"
SIGNATURE = "x-hub-signature-256"
# CloudEvent extensions a sender may use to carry the webhook headers next to a bare payload.
CE_EVENT_EXTENSIONS = (EXT_GITHUB_EVENT, "xgithubevent")
CE_DELIVERY_EXTENSIONS = ("githubdelivery", "xgithubdelivery")
CE_SIGNATURE_EXTENSIONS = ("githubsignature", "xhubsignature256")
_INJECTED = ("X-GitHub-Event", "X-GitHub-Delivery")


_SPACE = re.compile(r"[ \t\n\r]*")


def _skip_space(text: str, at: int) -> int:
    """The index of the first non-whitespace character at or after ``at``."""
    match = _SPACE.match(text, at)
    return match.end() if match else at


@dataclass(frozen=True)
class Delivery:
    """One webhook delivery: lower-cased headers, the payload, and the signed-bytes candidates.

    The candidates are worked out only when a signature is checked: re-serialising and
    re-scanning the body is wasted work on every delivery when no secret is configured.
    """

    headers: Mapping[str, str]
    payload: dict[str, Any]
    candidates: Callable[[], tuple[bytes, ...]] = field(repr=False)
    form: str
    # The envelope as received (``{headers, body, metadata}``), for the envelope forms: what
    # ``healer.webhooks.argo`` checks against the shape Argo's EventSource produces.
    envelope: Mapping[str, Any] | None = field(default=None, repr=False)

    @property
    def signed(self) -> tuple[bytes, ...]:
        """The byte forms GitHub may have signed, most likely first."""
        return self.candidates()

    @property
    def event_name(self) -> str:
        return self.headers.get(EVENT, "")

    @property
    def delivery_id(self) -> str:
        return self.headers.get(DELIVERY, "")

    @property
    def signature(self) -> str:
        return self.headers.get(SIGNATURE, "")


def flatten_headers(raw: object) -> dict[str, str]:
    """Argo-style ``{Name: [values]}`` or plain ``{name: value}`` → ``{lower-name: value}``."""
    if not isinstance(raw, Mapping):
        raise InvalidInput("envelope 'headers' must be a JSON object of header names to values")
    headers: dict[str, str] = {}
    for name, value in raw.items():
        if isinstance(value, list):
            value = next((v for v in value if isinstance(v, str)), None)
        if isinstance(name, str) and isinstance(value, str):
            headers[name.lower()] = value
    return headers


def loads(data: bytes | str, what: str) -> Any:
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise InvalidInput(f"{what} is not valid JSON: {exc}") from None


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidInput(f"{what} must be a JSON object, got {type(value).__name__}")
    return value


def compact_candidates(body: dict[str, Any]) -> tuple[bytes, ...]:
    """The byte forms a re-serialised body may have had when it was signed."""
    forms = [body]
    if any(key in body for key in _INJECTED):
        forms.append({k: v for k, v in body.items() if k not in _INJECTED})
    out: list[bytes] = []
    for form in forms:
        for ascii_only in (True, False):
            text = json.dumps(form, separators=(",", ":"), ensure_ascii=ascii_only)
            encoded = text.encode("utf-8", "surrogatepass")
            if encoded not in out:
                out.append(encoded)
    return tuple(out)


def raw_member(document: bytes, key: str) -> bytes | None:
    """The exact bytes of a top-level member's value in a JSON object, as they were sent.

    Argo's sensor splices GitHub's body into the envelope byte for byte, so the signed bytes
    are there even when re-serialising the parsed body would format them differently. A
    repeated member gives its last value, the one ``json.loads`` keeps: the bytes verified are
    then always the bytes the stages go on to read.
    """
    try:
        text = document.decode("utf-8")
    except UnicodeDecodeError:
        return None
    decoder = json.JSONDecoder()
    at = _skip_space(text, 0)
    if text[at : at + 1] != "{":
        return None
    at += 1
    found: bytes | None = None
    try:
        while True:
            at = _skip_space(text, at)
            name, at = decoder.raw_decode(text, at)
            at = _skip_space(text, at)
            if not isinstance(name, str) or text[at : at + 1] != ":":
                return None
            start = _skip_space(text, at + 1)
            _, end = decoder.raw_decode(text, start)
            if name == key:
                found = text[start:end].encode("utf-8", "surrogatepass")
            at = _skip_space(text, end)
            if text[at : at + 1] == "}":
                return found
            if text[at : at + 1] != ",":
                return None
            at += 1
    except (ValueError, RecursionError):
        return None


def _from_body_keys(headers: dict[str, str], body: dict[str, Any]) -> None:
    """Argo's GitHub source copies the event name and delivery id into the body."""
    for name in _INJECTED:
        value = body.get(name)
        if isinstance(value, str) and name.lower() not in headers:
            headers[name.lower()] = value


def from_envelope(
    envelope: dict[str, Any], form: str, raw: Callable[[], bytes | None] | None = None
) -> Delivery:
    """``raw``, when given, yields the envelope's bytes as received: its body member is the
    first candidate for the bytes GitHub signed (looked up only if a signature is checked)."""
    headers = flatten_headers(envelope.get("headers"))
    body = envelope.get("body")
    if isinstance(body, str):
        payload = _object(loads(body, "envelope 'body' string"), "envelope 'body'")
        text = body

        def signed() -> tuple[bytes, ...]:
            return (text.encode("utf-8", "surrogatepass"),)
    else:
        payload = _object(body, "envelope 'body'")

        def signed() -> tuple[bytes, ...]:
            document = raw() if raw is not None else None
            exact = raw_member(document, "body") if document is not None else None
            return (*((exact,) if exact else ()), *compact_candidates(payload))

    _from_body_keys(headers, payload)
    return Delivery(headers, payload, signed, form, envelope)


CLOUDEVENT_ENVELOPE = "cloudevent-envelope"


def is_envelope(value: object) -> TypeGuard[dict[str, Any]]:
    return isinstance(value, dict) and "headers" in value and "body" in value


def is_whole_event(value: object) -> TypeGuard[dict[str, Any]]:
    return isinstance(value, dict) and isinstance(value.get("context"), dict) and "data" in value


def from_whole_event(event: dict[str, Any]) -> Delivery:
    """Argo's HTTP trigger without a payload mapping: ``{context, data: base64(envelope)}``."""
    import base64
    import binascii

    data = event["data"]
    decoded: bytes | None = None
    if isinstance(data, str):
        try:
            decoded = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput("Argo event 'data' must be base64-encoded JSON") from None
        data = loads(decoded, "Argo event 'data'")
    if not is_envelope(data):
        raise InvalidInput("Argo event 'data' must hold the envelope {headers, body, metadata}")
    return from_envelope(data, "argo-event", lambda: decoded)


def from_webhook(inbound: Inbound) -> Delivery:
    """A plain POST: GitHub itself, or Argo's HTTP trigger, or a client of the seed API."""
    content_type = inbound.header("content-type").split(";", 1)[0].strip().lower()
    if content_type == "application/x-www-form-urlencoded":
        from urllib.parse import parse_qs

        try:
            fields = parse_qs(inbound.body.decode("utf-8"), strict_parsing=False)
        except UnicodeDecodeError:
            raise InvalidInput("form body is not UTF-8") from None
        if not fields.get("payload"):
            raise InvalidInput("form-encoded webhook must carry a 'payload' field")
        parsed: Any = loads(fields["payload"][0], "form field 'payload'")
    else:
        parsed = loads(inbound.body, "request body")
    if inbound.header(EVENT) == "":
        if is_whole_event(parsed):
            return from_whole_event(parsed)
        if is_envelope(parsed):
            raw = inbound.body if content_type != "application/x-www-form-urlencoded" else None
            return from_envelope(parsed, "envelope", lambda: raw)
    payload = _object(parsed, "webhook payload")
    body = inbound.body
    return Delivery(dict(inbound.headers), payload, lambda: (body,), "webhook")


def from_cloudevent(event: CloudEvent, raw_body: bytes, structured: bool) -> Delivery:
    """A CloudEvent carrying the envelope, Argo's whole event, or the bare payload."""
    data = event.get_data()
    if isinstance(data, (bytes, bytearray)):
        data = loads(bytes(data), "CloudEvent data")
    elif isinstance(data, str):
        data = loads(data, "CloudEvent data")
    if is_envelope(data):

        def envelope_bytes() -> bytes | None:
            return raw_member(raw_body, "data") if structured else raw_body

        return from_envelope(data, CLOUDEVENT_ENVELOPE, envelope_bytes)
    if is_whole_event(data):
        return from_whole_event(data)
    payload = _object(data, "CloudEvent data")
    headers: dict[str, str] = {}
    attributes = event.get_attributes()
    for target, names in (
        (EVENT, CE_EVENT_EXTENSIONS),
        (DELIVERY, CE_DELIVERY_EXTENSIONS),
        (SIGNATURE, CE_SIGNATURE_EXTENSIONS),
    ):
        value = next((attributes[n] for n in names if isinstance(attributes.get(n), str)), "")
        if value:
            headers[target] = value
    _from_body_keys(headers, payload)

    def signed() -> tuple[bytes, ...]:
        compact = compact_candidates(payload)
        return compact if structured else (raw_body, *compact)

    return Delivery(headers, payload, signed, "cloudevent")


def decode(inbound: Inbound) -> Delivery:
    if inbound.event is not None:
        structured = inbound.header("content-type").startswith("application/cloudevents")
        return from_cloudevent(inbound.event, inbound.body, structured)
    return from_webhook(inbound)
