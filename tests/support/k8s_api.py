"""A small Kubernetes API server for ConfigMaps (and CodeRun custom objects), so Healer's
Kubernetes client (``healer.kube``) is tested against the REST API, not a double of itself; a
test checks the official ``kubernetes`` client agrees with it.

CodeRuns are held to the CRD's structural schema (``coderun_schema``) as the real API server
holds them: with ``fieldValidation=Strict`` an unknown field is a 400 ``BadRequest`` naming
every one; otherwise unknown fields are pruned (with a ``Warning`` header under the default
``Warn``, silently under ``Ignore``); defaults are filled; wrong types, missing required fields
and values outside an enum are a 422 ``Invalid`` Status with its causes. ``status`` is a
subresource: written only through ``.../coderuns/<name>/status``.

It speaks the REST shapes the client relies on: ``resourceVersion`` bumped on every write,
optimistic-concurrency ``409 Conflict`` on a stale PUT, ``409 AlreadyExists`` on a second
create, ``404 NotFound`` and ``Status`` bodies like the real API server's. Switches simulate
an outage (503 or a dropped connection, optionally with ``Retry-After``), missing RBAC verbs
(403) and injected conflicts. A body whose ``Content-Type`` is neither JSON nor YAML is a 415
(none means JSON). Optionally it serves TLS (an ``ssl_context``) and authenticates bearer
tokens (``tokens``; anything else is a 401 before the request is looked at, as the real
authentication filter answers).
"""

from __future__ import annotations

import json
import re
import ssl
import sys
import threading
import uuid
from collections import Counter
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from coderun_schema import SCHEMA as CODERUN_SCHEMA
from structural import Cause, apply_defaults, prune, unknown_fields, validate

_COLLECTION = re.compile(r"^/api/v1/namespaces/([a-z0-9.-]+)/configmaps$")
_ITEM = re.compile(r"^/api/v1/namespaces/([a-z0-9.-]+)/configmaps/([a-z0-9.-]+)$")
_DATA_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
_CR_COLLECTION = re.compile(r"^/apis/agents\.platform/v1/namespaces/([a-z0-9.-]+)/coderuns$")
_CR_ITEM = re.compile(r"^/apis/agents\.platform/v1/namespaces/([a-z0-9.-]+)/coderuns/([^/]+)$")
_CR_STATUS = re.compile(
    r"^/apis/agents\.platform/v1/namespaces/([a-z0-9.-]+)/coderuns/([^/]+)/status$"
)
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
MAX_CONFIGMAP_BYTES = 1024 * 1024
_BODY_TYPES = ("application/json", "application/yaml")
_MERGE_PATCH_TYPES = ("application/merge-patch+json", "application/strategic-merge-patch+json")


def status_body(code: int, reason: str, message: str, name: str = "") -> dict[str, Any]:
    """A ``Status`` object as the API server returns it for failures."""
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if name:
        body["details"] = {"name": name, "kind": "configmaps"}
    return body


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str, name: str = "") -> None:
        super().__init__(message)
        self.body = status_body(code, reason, message, name)
        self.code = code


def invalid_coderun(name: str, causes: list[Cause]) -> ApiError:
    """The 422 the API server answers an object its schema refuses."""
    listed = ", ".join(f"{c.field}: {c.message}" for c in causes)
    error = ApiError(422, "Invalid", f'CodeRun.agents.platform "{name}" is invalid: [{listed}]')
    error.body["details"] = {
        "name": name,
        "group": "agents.platform",
        "kind": "CodeRun",
        "causes": [c.as_status() for c in causes],
    }
    return error


def _merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch (strategic merge acts the same on ConfigMap maps)."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge_patch(result.get(key), value)
    return result


class ConfigMapRegistry:
    """The stored objects, behind one lock: every write is atomic, like etcd's."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}
        self.revision = 100

    def _stamp(self, obj: dict[str, Any]) -> dict[str, Any]:
        self.revision += 1
        obj["metadata"]["resourceVersion"] = str(self.revision)
        result: dict[str, Any] = json.loads(
            json.dumps(obj)
        )  # hand out copies, never the stored object
        return result

    @staticmethod
    def _validate(obj: dict[str, Any], name: str) -> None:
        data = obj.get("data") or {}
        if not isinstance(data, dict):
            raise ApiError(400, "BadRequest", "data must be a map of strings", name)
        for key, value in data.items():
            if not _DATA_KEY.match(key) or len(key) > 253 or key in {".", ".."}:
                raise ApiError(
                    422,
                    "Invalid",
                    f'ConfigMap "{name}" is invalid: data[{key}]: Invalid value',
                    name,
                )
            if not isinstance(value, str):
                raise ApiError(400, "BadRequest", f"data[{key}] must be a string", name)
        size = sum(len(k) + len(v.encode()) for k, v in data.items())
        if size > MAX_CONFIGMAP_BYTES:
            raise ApiError(
                422,
                "Invalid",
                f'ConfigMap "{name}" is invalid: []: Too long: may not be more than '
                f"{MAX_CONFIGMAP_BYTES} bytes",
                name,
            )

    def get(self, ns: str, name: str) -> dict[str, Any]:
        with self.lock:
            obj = self.objects.get((ns, name))
            if obj is None:
                raise ApiError(404, "NotFound", f'configmaps "{name}" not found', name)
            result: dict[str, Any] = json.loads(json.dumps(obj))
            return result

    def list(self, ns: str, selector: dict[str, str]) -> dict[str, Any]:
        with self.lock:
            items = [
                json.loads(json.dumps(obj))
                for (space, _), obj in sorted(self.objects.items())
                if space == ns
                and all(obj["metadata"].get("labels", {}).get(k) == v for k, v in selector.items())
            ]
            return {
                "kind": "ConfigMapList",
                "apiVersion": "v1",
                "metadata": {"resourceVersion": str(self.revision)},
                "items": items,
            }

    def create(self, ns: str, obj: dict[str, Any]) -> dict[str, Any]:
        name = str(obj.get("metadata", {}).get("name") or "")
        if not name:
            raise ApiError(422, "Invalid", "ConfigMap is invalid: metadata.name: Required value")
        self._validate(obj, name)
        with self.lock:
            if (ns, name) in self.objects:
                raise ApiError(409, "AlreadyExists", f'configmaps "{name}" already exists', name)
            obj = {**obj, "apiVersion": "v1", "kind": "ConfigMap"}
            obj["metadata"] = {
                **obj["metadata"],
                "namespace": ns,
                "uid": str(uuid.uuid4()),
                "creationTimestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
            self.objects[(ns, name)] = obj
            return self._stamp(obj)

    def replace(
        self, ns: str, name: str, obj: dict[str, Any], conflict: bool = False
    ) -> dict[str, Any]:
        if obj.get("metadata", {}).get("name") != name:
            raise ApiError(400, "BadRequest", "the name of the object does not match the URL")
        with self.lock:
            return self._replace_locked(ns, name, obj, conflict)

    def _replace_locked(
        self, ns: str, name: str, obj: dict[str, Any], conflict: bool
    ) -> dict[str, Any]:
        current = self.objects.get((ns, name))
        if current is None:
            raise ApiError(404, "NotFound", f'configmaps "{name}" not found', name)
        sent = obj["metadata"].get("resourceVersion")
        if conflict or (sent and sent != current["metadata"]["resourceVersion"]):
            raise ApiError(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on configmaps "{name}": the object has '
                "been modified; please apply your changes to the latest version and try again",
                name,
            )
        self._validate(obj, name)
        kept = {k: current["metadata"][k] for k in ("namespace", "uid", "creationTimestamp")}
        stored = {**obj, "apiVersion": "v1", "kind": "ConfigMap"}
        stored["metadata"] = {**obj["metadata"], **kept, "name": name}
        self.objects[(ns, name)] = stored
        return self._stamp(stored)

    def patch(self, ns: str, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        """Merge ``patch`` into the current object; a resourceVersion in it is a precondition."""
        with self.lock:
            current = self.objects.get((ns, name))
            if current is None:
                raise ApiError(404, "NotFound", f'configmaps "{name}" not found', name)
            merged = _merge_patch(current, patch)
            if not (patch.get("metadata") or {}).get("resourceVersion"):
                merged["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
            return self._replace_locked(ns, name, merged, conflict=False)

    def delete(self, ns: str, name: str) -> dict[str, Any]:
        with self.lock:
            if self.objects.pop((ns, name), None) is None:
                raise ApiError(404, "NotFound", f'configmaps "{name}" not found', name)
            self.revision += 1
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": {"name": name, "kind": "configmaps"},
        }


class CustomObjectRegistry:
    """CodeRuns (``agents.platform/v1``) by namespace and name, under the CRD's schema: create
    once, get, list, and write ``status`` through its subresource."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}
        self.revision = 500
        self.warnings: list[str] = []  # Warning headers sent (unknown fields dropped)

    @staticmethod
    def admit(obj: dict[str, Any], name: str, validation: str) -> tuple[dict[str, Any], list[str]]:
        """Decode, default, prune and validate as the API server does; the object to store
        and the warnings to send."""
        unknown = unknown_fields(obj, CODERUN_SCHEMA)
        if unknown and validation == "Strict":
            listed = ", ".join(f'unknown field "{u}"' for u in unknown)
            raise ApiError(
                400,
                "BadRequest",
                f'.CodeRun in version "v1" cannot be handled as a CodeRun: strict decoding '
                f"error: {listed}",
            )
        stored = prune(apply_defaults(obj, CODERUN_SCHEMA), CODERUN_SCHEMA)
        causes = validate(stored, CODERUN_SCHEMA)
        if causes:
            raise invalid_coderun(name, causes)
        warnings = [f'unknown field "{u}"' for u in unknown] if validation == "Warn" else []
        return stored, warnings

    def create(
        self, ns: str, obj: dict[str, Any], validation: str = "Warn"
    ) -> tuple[dict[str, Any], list[str]]:
        if not isinstance(obj, dict):
            raise ApiError(400, "BadRequest", "the body is not a JSON object")
        name = str((obj.get("metadata") or {}).get("name") or "")
        if not _DNS_LABEL.match(name) or len(name) > 63:
            raise ApiError(
                422, "Invalid", f'CodeRun "{name}" is invalid: metadata.name: Invalid value', name
            )
        if obj.get("apiVersion") != "agents.platform/v1" or obj.get("kind") != "CodeRun":
            raise ApiError(400, "BadRequest", "the object is not an agents.platform/v1 CodeRun")
        if validation not in ("Strict", "Warn", "Ignore"):
            raise ApiError(400, "BadRequest", f"invalid fieldValidation {validation!r}")
        body = {k: v for k, v in obj.items() if k != "status"}  # status: its subresource only
        stored, warnings = self.admit(body, name, validation)
        with self.lock:
            if (ns, name) in self.objects:
                raise ApiError(
                    409, "AlreadyExists", f'coderuns.agents.platform "{name}" already exists', name
                )
            self.revision += 1
            stored["metadata"] = {
                **obj["metadata"],
                "namespace": ns,
                "uid": str(uuid.uuid4()),
                "resourceVersion": str(self.revision),
                "creationTimestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
            self.objects[(ns, name)] = stored
            self.warnings += warnings
            return json.loads(json.dumps(stored)), warnings

    def patch_status(self, ns: str, name: str, patch: Any) -> dict[str, Any]:
        """A merge patch of ``status`` only (the status subresource ignores everything else)."""
        if not isinstance(patch, dict):
            raise ApiError(400, "BadRequest", "a merge patch is a JSON object")
        with self.lock:
            current = self.objects.get((ns, name))
            if current is None:
                raise ApiError(
                    404, "NotFound", f'coderuns.agents.platform "{name}" not found', name
                )
            status = _merge_patch(current.get("status") or {}, patch.get("status") or {})
            candidate = {**current, "status": prune(status, CODERUN_SCHEMA["properties"]["status"])}
            causes = validate(candidate, CODERUN_SCHEMA)
            if causes:
                raise invalid_coderun(name, causes)
            self.revision += 1
            candidate["metadata"] = {**current["metadata"], "resourceVersion": str(self.revision)}
            self.objects[(ns, name)] = candidate
            result: dict[str, Any] = json.loads(json.dumps(candidate))
            return result

    def get(self, ns: str, name: str) -> dict[str, Any]:
        with self.lock:
            obj = self.objects.get((ns, name))
            if obj is None:
                message = f'coderuns.agents.platform "{name}" not found'
                raise ApiError(404, "NotFound", message, name)
            result: dict[str, Any] = json.loads(json.dumps(obj))
            return result

    def list(self, ns: str) -> dict[str, Any]:
        with self.lock:
            items = [
                json.loads(json.dumps(o)) for (s, _), o in sorted(self.objects.items()) if s == ns
            ]
        return {"apiVersion": "agents.platform/v1", "kind": "CodeRunList", "items": items}


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up (dropped-connection tests, pooled sockets) are not errors."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class KubeApi:
    """The server and its switches. Use as a context manager; ``url`` is its base URL."""

    def __init__(
        self, *, ssl_context: ssl.SSLContext | None = None, tokens: set[str] | None = None
    ) -> None:
        self.registry = ConfigMapRegistry()
        self.outage: str | None = None  # None | "unavailable" (503) | "drop" (close the socket)
        self.retry_after: str | None = None  # the Retry-After header a 503 carries
        self.tokens = tokens  # None: no authentication; else the bearer tokens accepted
        self.authorizations: list[str] = []  # every Authorization header received, in order
        self.forbidden_verbs: set[str] = set()
        self.conflicts_to_inject = 0
        self.requests: Counter[str] = Counter()  # RBAC verb -> count
        self.coderuns = CustomObjectRegistry()
        self.forbidden_coderun_verbs: set[str] = set()
        self.coderun_requests: Counter[str] = Counter()  # RBAC verb on coderuns -> count
        self._switch_lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _handler_for(self))
        if ssl_context is not None:
            self._server.socket = ssl_context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self.port = int(self._server.server_address[1])
        scheme = "https" if ssl_context is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}"

    def __enter__(self) -> KubeApi:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def reset(self) -> None:
        self.registry = ConfigMapRegistry()
        self.outage = None
        self.retry_after = None
        self.authorizations = []
        self.forbidden_verbs = set()
        self.conflicts_to_inject = 0
        self.requests.clear()
        self.coderuns = CustomObjectRegistry()
        self.forbidden_coderun_verbs = set()
        self.coderun_requests.clear()

    def take_injected_conflict(self) -> bool:
        with self._switch_lock:
            if self.conflicts_to_inject > 0:
                self.conflicts_to_inject -= 1
                return True
            return False

    def configmap(self, namespace: str, name: str) -> dict[str, Any]:
        """A copy of the stored object; KeyError when there is none."""
        try:
            return self.registry.get(namespace, name)
        except ApiError as exc:
            raise KeyError(f"{namespace}/{name}") from exc


_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


def _handler_for(api: KubeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body leave at once, no 40 ms ACK stall

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

        def _send(self, code: int, body: dict[str, Any], warnings: list[str] | None = None) -> None:
            payload = json.dumps(body).encode()
            self.send_response(code)
            for warning in warnings or []:
                self.send_header("Warning", warning)
            if code == 503 and api.retry_after is not None:
                self.send_header("Retry-After", api.retry_after)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _body(self) -> Any:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            kind = (self.headers.get("Content-Type") or "").split(";")[0].strip()
            # no Content-Type is the first supported one (JSON), as the API server negotiates
            if self.command in ("POST", "PUT") and kind and kind not in _BODY_TYPES:
                raise ApiError(
                    415,
                    "UnsupportedMediaType",
                    "the body of the request was in an unknown format - accepted media types "
                    "include: application/json, application/yaml",
                )
            try:
                return json.loads(raw or b"{}")
            except ValueError as exc:
                raise ApiError(400, "BadRequest", f"invalid JSON body: {exc}") from exc

        def _authenticated(self) -> bool:
            """Without a token it accepts, a 401 before the request is looked at."""
            header = self.headers.get("Authorization") or ""
            api.authorizations.append(header)
            if api.tokens is None or header in {f"Bearer {t}" for t in api.tokens}:
                return True
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            self._send(401, status_body(401, "Unauthorized", "Unauthorized"))
            return False

        def _handle(self, method: str) -> None:
            if not self._authenticated():
                return
            parts = urlsplit(self.path)
            coderuns = (_CR_ITEM, _CR_STATUS, _CR_COLLECTION)
            if any(pattern.match(parts.path) for pattern in coderuns):
                self._handle_coderuns(method, parts.path, parts.query)
                return
            item, collection = _ITEM.match(parts.path), _COLLECTION.match(parts.path)
            verb = ("get" if item else "list") if method == "GET" else _VERBS[method]
            body = self._body() if method in {"POST", "PUT", "PATCH"} else None
            api.requests[verb] += 1
            if api.outage == "drop":
                self.close_connection = True
                self.connection.shutdown(2)
                return
            try:
                if api.outage == "unavailable":
                    raise ApiError(
                        503,
                        "ServiceUnavailable",
                        "the server is currently unable to handle the request",
                    )
                found = item or collection
                ns = found.group(1) if found else ""
                if verb in api.forbidden_verbs:
                    target = f'configmaps "{item.group(2)}"' if item else '"configmaps"'
                    raise ApiError(
                        403,
                        "Forbidden",
                        f'{target} is forbidden: User "system:serviceaccount:{ns}:healer" cannot '
                        f'{verb} resource "configmaps" in API group "" in the namespace "{ns}"',
                    )
                self._send(*self._dispatch(method, parts.query, item, collection, body))
            except ApiError as err:
                self._send(err.code, err.body)

        def _dispatch(
            self,
            method: str,
            query: str,
            item: re.Match[str] | None,
            collection: re.Match[str] | None,
            body: Any,
        ) -> tuple[int, dict[str, Any]]:
            registry = api.registry
            if collection and method == "GET":
                selector = parse_qs(query).get("labelSelector", [""])[0]
                pairs = dict(p.split("=", 1) for p in selector.split(",") if "=" in p)
                return 200, registry.list(collection.group(1), pairs)
            if collection and method == "POST":
                return 201, registry.create(collection.group(1), body)
            if item is None:
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            ns, name = item.group(1), item.group(2)
            if method == "GET":
                return 200, registry.get(ns, name)
            if method == "PUT":
                return 200, registry.replace(ns, name, body, api.take_injected_conflict())
            if method == "PATCH":
                kind = (self.headers.get("Content-Type") or "").split(";")[0].strip()
                if kind not in _MERGE_PATCH_TYPES:
                    raise ApiError(415, "UnsupportedMediaType", f"patch type {kind} unsupported")
                return 200, registry.patch(ns, name, body)
            if method == "DELETE":
                return 200, registry.delete(ns, name)
            raise ApiError(405, "MethodNotAllowed", f"{method} is not supported")

        def _handle_coderuns(self, method: str, path: str, query: str) -> None:
            status_item = _CR_STATUS.match(path)
            item = status_item or _CR_ITEM.match(path)
            collection = _CR_COLLECTION.match(path)
            verb = ("get" if item else "list") if method == "GET" else _VERBS[method]
            body: Any = self._body() if method in {"POST", "PUT", "PATCH"} else None
            api.coderun_requests[verb] += 1
            if api.outage == "drop":
                self.close_connection = True
                self.connection.shutdown(2)
                return
            match = item or collection
            ns = match.group(1) if match else ""
            try:
                if api.outage == "unavailable":
                    raise ApiError(
                        503,
                        "ServiceUnavailable",
                        "the server is currently unable to handle the request",
                    )
                if verb in api.forbidden_coderun_verbs:
                    raise ApiError(
                        403,
                        "Forbidden",
                        f'coderuns.agents.platform is forbidden: User "system:serviceaccount:'
                        f'{ns}:healer" cannot {verb} resource "coderuns" in API group '
                        f'"agents.platform" in the namespace "{ns}"',
                    )
                validation = parse_qs(query).get("fieldValidation", ["Warn"])[0]
                if collection and method == "POST":
                    created, warnings = api.coderuns.create(ns, body, validation)
                    self._send(201, created, [f'299 - "{w}"' for w in warnings])
                elif collection and method == "GET":
                    self._send(200, api.coderuns.list(ns))
                elif status_item and method == "PATCH":
                    self._send(200, api.coderuns.patch_status(ns, status_item.group(2), body))
                elif item and method == "GET":
                    self._send(200, api.coderuns.get(ns, item.group(2)))
                else:
                    raise ApiError(405, "MethodNotAllowed", f"{method} is not supported here")
            except ApiError as err:
                self._send(err.code, err.body)

        def _guarded(self, method: str) -> None:
            """A body refused before dispatch (format, JSON) is a Status answer too."""
            try:
                self._handle(method)
            except ApiError as err:
                self._send(err.code, err.body)

        def do_GET(self) -> None:
            self._guarded("GET")

        def do_POST(self) -> None:
            self._guarded("POST")

        def do_PUT(self) -> None:
            self._guarded("PUT")

        def do_PATCH(self) -> None:
            self._guarded("PATCH")

        def do_DELETE(self) -> None:
            self._guarded("DELETE")

    return Handler
