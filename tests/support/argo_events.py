"""Argo Events' GitHub path, byte for byte, for tests: what a Healer stage receives from it.

GitHub POSTs a delivery to the EventSource, which (argo-events ``pkg/eventsources/sources/
github/start.go``):

1. checks ``X-Hub-Signature-256`` (else ``X-Hub-Signature``) over the body with go-github's
   ``ValidatePayload``;
2. ``json.Unmarshal``s the body into a ``map[string]interface{}`` (numbers become float64,
   invalid surrogate escapes U+FFFD), sets ``X-GitHub-Event`` and ``X-GitHub-Delivery`` to
   ``r.Header.Get`` of each, and ``json.Marshal``s it again;
3. ``json.Marshal``s ``GithubEventData{Headers http.Header, Body *json.RawMessage,
   Metadata map[string]string `omitempty`}`` as the event data. Go's server has canonicalised
   the header names and removed ``Host``.

The event travels the event bus as a CloudEvent whose JSON data is carried verbatim. The
Sensor (``pkg/sensors/triggers``) applies the trigger's ``parameters`` to the template (sjson
on the template's JSON), then the HTTP trigger's own ``parameters``, builds the body from
``payload`` (``ConstructPayload``: sjson on an empty document, raw values for ``useRawData``
blocks, taken with gjson from the event data), and sets ``headers`` then ``dynamicHeaders``.
``TriggerTemplate`` has no ``parameters`` field, so this emulation, like Argo, never reads one.

Go's ``encoding/json`` is emulated from its source (``encode.go``: ``appendString`` with
``escapeHTML``, ``floatEncoder``, sorted map keys; ``decode.go``: float64 numbers) for the
values a decoded JSON document holds: objects, arrays, strings, float64, booleans and null.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

HEX = "0123456789abcdef"
# Go's textproto token bytes (validHeaderFieldByte).
TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


class ArgoRefused(Exception):
    """Argo answers or logs an error here: no event (EventSource) or no request (Sensor)."""


# --- Go encoding/json ----------------------------------------------------------------------


def go_string(text: str) -> str:
    """``appendString(dst, s, escapeHTML=true)``."""
    out = ['"']
    for char in text:
        code = ord(char)
        if code < 0x80:
            if char in '"\\':
                out.append("\\" + char)
            elif char == "\b":
                out.append("\\b")
            elif char == "\f":
                out.append("\\f")
            elif char == "\n":
                out.append("\\n")
            elif char == "\r":
                out.append("\\r")
            elif char == "\t":
                out.append("\\t")
            elif code < 0x20 or char in "<>&":
                out.append("\\u00" + HEX[code >> 4] + HEX[code & 0xF])
            else:
                out.append(char)
        elif char in "\u2028\u2029":
            out.append("\\u202" + HEX[code & 0xF])
        elif 0xD800 <= code <= 0xDFFF:
            out.append("\\ufffd")  # not valid UTF-8: Go writes the replacement character
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def go_float(value: float) -> str:
    """``floatEncoder(64)``: ``strconv.AppendFloat(f, fmt, -1, 64)`` with ``fmt`` 'e' when
    ``abs < 1e-6 || abs >= 1e21`` else 'f', then ``e-09`` cleaned to ``e-9``.

    ``-1`` precision is the shortest decimal that reads back as the same float64, which is
    what Python's ``repr`` prints too: only the layout differs, so the digits come from there.
    """
    if math.isinf(value) or math.isnan(value):
        raise ArgoRefused(f"json: unsupported value: {value}")
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    sign, digit_tuple, exponent = Decimal(repr(value)).as_tuple()
    assert isinstance(exponent, int)
    digits = "".join(map(str, digit_tuple)).rstrip("0")
    exponent += len("".join(map(str, digit_tuple))) - len(digits)
    point = exponent + len(digits)  # the decimal point sits after this many digits
    minus = "-" if sign else ""
    if abs(value) < 1e-6 or abs(value) >= 1e21:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        exp = point - 1
        text = f"{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
        if len(text) >= 4 and text[-4] == "e" and text[-3] == "-" and text[-2] == "0":
            text = text[:-2] + text[-1]
        return minus + text
    if point <= 0:
        return minus + "0." + "0" * -point + digits
    if point >= len(digits):
        return minus + digits + "0" * (point - len(digits))
    return minus + digits[:point] + "." + digits[point:]


def go_marshal(value: Any) -> str:
    """``json.Marshal`` of a generic value: map keys sorted (byte order), compact."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, str):
        return go_string(value)
    if isinstance(value, list):
        return "[" + ",".join(go_marshal(v) for v in value) + "]"
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: k.encode("utf-8", "surrogatepass"))
        return "{" + ",".join(go_string(k) + ":" + go_marshal(value[k]) for k in keys) + "}"
    # A decoded document never holds ints: encoding/json decodes every number as float64.
    raise TypeError(f"no Go JSON value of type {type(value).__name__}")


def _no_constant(name: str) -> Any:
    raise ArgoRefused(f"invalid character {name[0]!r} looking for beginning of value")


def _float64(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise ArgoRefused(f"json: cannot unmarshal number {text} into Go value of type float64")
    return number


def _replace_surrogates(value: Any) -> Any:
    """Go's decoder turns an escaped surrogate that is not half of a pair into U+FFFD."""
    if isinstance(value, str):
        if any(0xD800 <= ord(c) <= 0xDFFF for c in value):
            return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in value)
        return value
    if isinstance(value, list):
        return [_replace_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {_replace_surrogates(k): _replace_surrogates(v) for k, v in value.items()}
    return value


def go_unmarshal(data: bytes) -> Any:
    """``json.Unmarshal`` into ``interface{}``: float64 numbers, the last of repeated keys.

    GitHub sends UTF-8; Go would replace each invalid byte with U+FFFD, which this refuses
    instead of guessing."""
    try:
        text = data.decode("utf-8")
        parsed = json.loads(
            text, parse_int=_float64, parse_float=_float64, parse_constant=_no_constant
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise ArgoRefused(f"invalid JSON: {exc}") from exc
    return _replace_surrogates(parsed)


# --- Go net/http headers -------------------------------------------------------------------


def canonical_mime_header_key(name: str) -> str:
    """``textproto.CanonicalMIMEHeaderKey``: names with a non-token byte stay as they are."""
    if not name or any(c not in TOKEN for c in name):
        return name
    out = []
    upper = True
    for c in name:
        out.append(c.upper() if upper else c.lower())
        upper = c == "-"
    return "".join(out)


def server_header(raw: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """The ``http.Header`` Go's server hands a handler: canonical names, values in order,
    ``Host`` moved to ``Request.Host``."""
    header: dict[str, list[str]] = {}
    for name, value in raw:
        key = canonical_mime_header_key(name)
        if key == "Host":
            continue
        header.setdefault(key, []).append(value)
    return header


def header_get(header: Mapping[str, Sequence[str]], name: str) -> str:
    values = header.get(canonical_mime_header_key(name)) or []
    return values[0] if values else ""


# --- GitHub → EventSource ------------------------------------------------------------------


@dataclass(frozen=True)
class GitHubRequest:
    """A webhook POST as it reaches the EventSource: headers in wire order, and the body."""

    headers: tuple[tuple[str, str], ...]
    body: bytes


def github_request(
    file: Mapping[str, Any],
    secret: str,
    *,
    body: bytes | None = None,
    ingress: bool = True,
) -> GitHubRequest:
    """A delivery file (``{headers, body}``) as GitHub sends it, signed with ``secret``.

    ``body`` overrides the bytes (default: the payload as compact JSON with raw UTF-8, the way
    GitHub writes it); ``ingress`` adds what an ingress controller puts in front."""
    raw = body if body is not None else _github_bytes(file["body"])
    headers: list[tuple[str, str]] = [("Host", "hooks.example.com")]
    for name, value in file["headers"].items():
        for one in value if isinstance(value, list) else [value]:
            if name.lower() not in {"x-hub-signature", "x-hub-signature-256", "content-length"}:
                headers.append((name, str(one)))
    headers += [
        ("Content-Length", str(len(raw))),
        ("X-Hub-Signature", "sha1=" + hmac.new(secret.encode(), raw, hashlib.sha1).hexdigest()),
        (
            "X-Hub-Signature-256",
            "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest(),
        ),
    ]
    if ingress:
        headers += [
            ("X-Forwarded-For", "140.82.115.5"),
            ("X-Forwarded-Proto", "https"),
            ("X-Real-Ip", "140.82.115.5"),
            ("X-Request-Id", "8f2a71c4d09e5b36a1c7e0d4f95b2c18"),
        ]
    return GitHubRequest(tuple(headers), raw)


def _github_bytes(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def validate_payload(header: Mapping[str, Sequence[str]], body: bytes, secret: str) -> None:
    """go-github ``ValidatePayload`` for a JSON delivery: SHA-256 signature, else SHA-1."""
    content_type = header_get(header, "Content-Type").split(";", 1)[0].strip()
    if content_type != "application/json":
        raise ArgoRefused(f"webhook request has unsupported Content-Type {content_type!r}")
    if not secret:
        return
    signature = header_get(header, "X-Hub-Signature-256") or header_get(header, "X-Hub-Signature")
    algorithm, _, digest = signature.partition("=")
    hashes = {"sha256": hashlib.sha256, "sha1": hashlib.sha1}
    if algorithm not in hashes:
        raise ArgoRefused("error parsing signature")
    expected = hmac.new(secret.encode(), body, hashes[algorithm]).hexdigest()
    if not hmac.compare_digest(expected, digest):
        raise ArgoRefused("payload signature check failed")


def eventsource_data(
    request: GitHubRequest, secret: str, *, metadata: Mapping[str, str] | None = None
) -> bytes:
    """The Argo event data the GitHub EventSource dispatches for ``request``."""
    header = server_header(request.headers)
    validate_payload(header, request.body, secret)
    payload = go_unmarshal(request.body)
    if not isinstance(payload, dict):
        raise ArgoRefused("json: cannot unmarshal non-object into map[string]interface {}")
    for name in ("X-GitHub-Event", "X-GitHub-Delivery"):
        payload[name] = header_get(header, name)
    body = go_marshal(payload)  # json.Marshal(payload); RawMessage compaction keeps it as is
    data = '{"headers":' + go_marshal(header) + ',"body":' + body
    if metadata:  # omitempty
        data += ',"metadata":' + go_marshal(dict(metadata))
    return (data + "}").encode("utf-8")


# --- gjson / sjson, as far as the Sensor uses them ------------------------------------------

_DECODER = json.JSONDecoder()


def _skip(text: str, at: int) -> int:
    while at < len(text) and text[at] in " \t\r\n":
        at += 1
    return at


def _path(path: str) -> list[str]:
    if any(c in path for c in "*?#@|!"):
        raise NotImplementedError(f"gjson path {path!r} uses syntax this emulation lacks")
    parts, current, escaped = [], "", False
    for char in path:
        if escaped:
            current += char
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ".":
            parts.append(current)
            current = ""
        else:
            current += char
    return [*parts, current]


def gjson_get(document: str, path: str) -> tuple[str, str] | None:
    """``gjson.Get(document, path)``: the value's raw text and its type (``String``,
    ``JSON``, ``Number``, ``True``, ``False``, ``Null``), or ``None`` when it does not exist.
    In an object the first member of that name wins, as in gjson."""
    at = _skip(document, 0)
    for part in _path(path):
        if document[at : at + 1] == "{":
            at = _skip(document, at + 1)
            found = None
            while document[at : at + 1] != "}":
                key, at = _DECODER.raw_decode(document, at)
                at = _skip(document, _skip(document, at) + 1)  # past ':'
                _, end = _DECODER.raw_decode(document, at)
                if key == part and found is None:
                    found = at
                at = _skip(document, end)
                if document[at : at + 1] == ",":
                    at = _skip(document, at + 1)
            if found is None:
                return None
            at = found
        elif document[at : at + 1] == "[" and part.isdigit():
            at = _skip(document, at + 1)
            index = 0
            found = None
            while document[at : at + 1] != "]":
                _, end = _DECODER.raw_decode(document, at)
                if index == int(part):
                    found = at
                index += 1
                at = _skip(document, end)
                if document[at : at + 1] == ",":
                    at = _skip(document, at + 1)
            if found is None:
                return None
            at = found
        else:
            return None
    value, end = _DECODER.raw_decode(document, at)
    raw = document[at:end]
    if isinstance(value, str):
        return raw, "String"
    if isinstance(value, dict | list):
        return raw, "JSON"
    if value is None:
        return raw, "Null"
    if isinstance(value, bool):
        return raw, "True" if value else "False"
    return raw, "Number"


def sjson_set_raw(document: str, key: str, raw: str) -> str:
    """``sjson.SetRawBytes`` for a top-level key: appended before ``}`` (replaced if there)."""
    if "." in key or not key:
        raise NotImplementedError("nested sjson paths are not emulated")
    if not document.strip():
        document = "{}"
    if gjson_get(document, key) is not None:
        raise NotImplementedError("replacing a member is not emulated")
    end = document.rindex("}")
    inner = document[1:end].strip()
    return document[:end] + ("," if inner else "") + go_string(key) + ":" + raw + "}"


# --- Sensor --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SensorRequest:
    """The HTTP request the Sensor's trigger sends: Go sets each header under the exact name."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes


def _resolve(
    src: Mapping[str, Any], dependencies: Sequence[str], data: str
) -> tuple[str, str] | None:
    """``ResolveParamValue`` for ``dataKey`` sources: (value, type) or ``None`` (skipped)."""
    default = src.get("value")
    if src.get("dependencyName") not in dependencies:
        return (str(default), "String") if default is not None else None
    key = src.get("dataKey")
    if not key:
        raise NotImplementedError("only dataKey sources are emulated")
    found = gjson_get(data, key)
    if found is None:
        if default is not None:
            return str(default), "String"
        raise ArgoRefused(f"unable to resolve {src.get('dependencyName')!r}: no {key} in data")
    raw, kind = found
    if kind == "String":
        return json.loads(raw), kind
    return raw, kind


def _apply(target: dict[str, Any], parameters: Any, dependencies: Sequence[str], data: str) -> None:
    """``ApplyParams`` onto a template's JSON: ``dest`` a dot path, the value a string unless a
    raw block was asked for."""
    for parameter in parameters or []:
        resolved = _resolve(parameter["src"], dependencies, data)
        if resolved is None:
            continue
        value, kind = resolved
        if parameter.get("operation") not in (None, "", "overwrite"):
            raise NotImplementedError("append/prepend parameters are not emulated")
        set_value: Any = value
        if kind != "String" and parameter["src"].get("useRawData"):
            set_value = json.loads(value)
        *parents, last = _path(parameter["dest"])
        node = target
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = set_value


def sensor_request(sensor: Mapping[str, Any], data: bytes) -> SensorRequest:
    """What the Sensor's single HTTP trigger sends for one event with ``data``."""
    spec = sensor["spec"]
    dependencies = [d["name"] for d in spec["dependencies"]]
    (trigger,) = spec["triggers"]
    document = data.decode("utf-8")
    # TriggerTemplate knows these members only; anything else is dropped on unmarshal.
    template = {
        k: copy.deepcopy(v) for k, v in trigger["template"].items() if k in {"name", "http"}
    }
    _apply(template, trigger.get("parameters"), dependencies, document)  # ApplyTemplateParameters
    http = template["http"]
    _apply(http, http.get("parameters"), dependencies, document)  # ApplyResourceParameters
    body = ""
    for parameter in http.get("payload") or []:  # ConstructPayload
        resolved = _resolve(parameter["src"], dependencies, document)
        if resolved is None:
            continue
        value, kind = resolved
        if parameter["dest"] == "":
            body = value
            break
        if kind != "String" and parameter["src"].get("useRawData"):
            body = sjson_set_raw(body, parameter["dest"], value)
        else:
            body = sjson_set_raw(body, parameter["dest"], go_string(value))
    headers: dict[str, str] = {}
    for name, value in (http.get("headers") or {}).items():
        if not isinstance(value, str):
            raise ArgoRefused(f"header {name} is not a string after parameters")
        headers[name] = value
    for dynamic in http.get("dynamicHeaders") or []:
        resolved = _resolve(dynamic["src"], dependencies, document)
        if resolved is None:
            raise ArgoRefused(f"failed to resolve the value for dynamicHeader {dynamic['dest']}")
        headers[dynamic["dest"]] = resolved[0]
    return SensorRequest(http.get("method") or "POST", http["url"], headers, body.encode("utf-8"))


# --- Broker ingress ------------------------------------------------------------------------


def broker_delivery(request: SensorRequest) -> tuple[dict[str, str], bytes]:
    """The binary CloudEvent the Broker accepts from the Sensor and hands a subscriber, or
    ``ArgoRefused`` where the Broker answers 400 (a required attribute missing or empty)."""
    lower = {name.lower(): value for name, value in request.headers.items()}
    for attribute in ("specversion", "id", "source", "type"):
        if not lower.get(f"ce-{attribute}"):
            raise ArgoRefused(f"broker answers 400: ce-{attribute} is missing or empty")
    if lower["ce-specversion"] != "1.0":
        raise ArgoRefused("broker answers 400: specversion must be 1.0")
    for name in lower:
        if name.startswith("ce-") and not name[3:].isalnum():
            raise ArgoRefused(f"broker answers 400: bad extension name {name}")
    return lower, request.body


def argo_delivery(
    sensor: Mapping[str, Any],
    file: Mapping[str, Any],
    secret: str,
    *,
    body: bytes | None = None,
) -> tuple[dict[str, str], bytes]:
    """A delivery file through GitHub, the EventSource, the Sensor and the Broker: the request
    a Trigger's subscriber (ingest, completion-check) receives."""
    request = github_request(file, secret, body=body)
    return broker_delivery(sensor_request(sensor, eventsource_data(request, secret)))
