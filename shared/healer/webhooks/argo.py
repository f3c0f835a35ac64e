"""The shape of the envelope Argo Events' GitHub EventSource produces, checked cheaply.

With a webhook secret the EventSource verifies ``X-Hub-Signature-256`` itself, then decodes
the body, adds ``X-GitHub-Event`` and ``X-GitHub-Delivery`` (``http.Header.Get`` of each) and
encodes it again with Go's ``encoding/json``; the headers are Go's ``http.Header`` (canonical
names, array values). The shipped Sensor posts ``{headers, body}`` to the Broker with ``Ce-Id``
set from the body's ``X-GitHub-Delivery`` and ``Ce-Githubevent`` from its ``X-GitHub-Event``.

An envelope that does not look like that did not come from that path: this is what lets a
stage refuse it instead of trusting it unverified. It is hardening, not authentication: the
closed network path to the Broker is what makes trusting Argo's envelopes safe.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Go's textproto token characters: a header name the server kept is made of these only.
_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_KEYS = frozenset({"headers", "body", "metadata"})
# (canonical header name, key the EventSource writes into the body)
INJECTED = (("X-Github-Event", "X-GitHub-Event"), ("X-Github-Delivery", "X-GitHub-Delivery"))
# go-github's ValidatePayload reads the SHA-256 signature, else the SHA-1 one.
SIGNATURE_HEADERS = ("X-Hub-Signature-256", "X-Hub-Signature")


def is_canonical_header(name: str) -> bool:
    """Whether ``name`` is as Go's ``CanonicalMIMEHeaderKey`` leaves a header it accepted:
    a token whose letters are upper case at the start and after each ``-``, else lower case."""
    if not name or any(c not in _TOKEN for c in name):
        return False
    upper = True
    for c in name:
        if c.isalpha() and c.isupper() != upper:
            return False
        upper = c == "-"
    return True


def _first(headers: Mapping[str, Any], name: str) -> str:
    values = headers.get(name)
    return values[0] if isinstance(values, list) and values else ""


def form_problem(envelope: Mapping[str, Any], attributes: Mapping[str, Any]) -> str | None:
    """Why ``envelope`` (in a CloudEvent with ``attributes``) is not what Argo's GitHub
    EventSource and the shipped Sensor produce, or ``None`` when it is."""
    extra = sorted(set(envelope) - _KEYS)
    if extra:
        return f"unexpected envelope members {', '.join(extra)}"
    metadata = envelope.get("metadata")
    if "metadata" in envelope and not (
        isinstance(metadata, dict)
        and metadata
        and all(isinstance(v, str) for v in metadata.values())
    ):
        # Go omits an empty metadata map (omitempty) and writes only strings in it.
        return "'metadata' must be absent or a non-empty object of strings"
    headers = envelope.get("headers")
    if not isinstance(headers, dict) or not headers:
        return "'headers' must be a non-empty object"
    for name, values in headers.items():
        if not is_canonical_header(name):
            return f"header name {name[:64]!r} is not in Go's canonical form"
        if not (isinstance(values, list) and values and all(isinstance(v, str) for v in values)):
            return f"header {name} must be a non-empty array of strings"
    if not any(name in headers for name in SIGNATURE_HEADERS):
        return "no X-Hub-Signature-256 header: the EventSource had nothing to verify"
    body = envelope.get("body")
    if not isinstance(body, dict):
        return "'body' must be the decoded payload object"
    for header, key in INJECTED:
        sent = _first(headers, header)
        if not sent:
            return f"header {header} is missing or empty"
        if body.get(key) != sent:
            return f"body member {key} does not repeat the {header} header"
    delivery = _first(headers, "X-Github-Delivery")
    if str(attributes.get("id", "")) != delivery:
        return "the CloudEvent id is not the X-GitHub-Delivery id"
    event = attributes.get("githubevent")
    if event is not None and event != _first(headers, "X-Github-Event"):
        return "the githubevent extension is not the X-GitHub-Event header"
    return None
