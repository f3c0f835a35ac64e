"""The routing table, read from the kustomize base in ``knative/``: Brokers, Triggers, Services.

Only what routing needs is kept: each Trigger's broker, compiled filter, subscriber and delivery
spec; each Broker's delivery spec; each Knative Service's name and the function package its
container runs (from ``--source functions/<pkg>/main.py``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from healer_dev.broker.delivery import DEFAULT, DeliverySpec, parse_delivery
from healer_dev.broker.filters import Filter, compile_trigger_filter

KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
DEFAULT_BROKER = "healer"


class ManifestError(ValueError):
    """A manifest the local broker cannot route by; names the file and the problem."""


@dataclass(frozen=True)
class Subscriber:
    """A Trigger's destination: a Knative Service (plus path) or an absolute URI."""

    service: str = ""
    path: str = "/"
    uri: str = ""

    def describe(self) -> str:
        return self.uri or f"ksvc:{self.service}{'' if self.path == '/' else self.path}"


@dataclass(frozen=True)
class Trigger:
    name: str
    broker: str
    filter: Filter
    subscriber: Subscriber
    delivery: DeliverySpec | None = None


@dataclass(frozen=True)
class BrokerManifest:
    name: str
    delivery: DeliverySpec = DEFAULT


@dataclass(frozen=True)
class ServiceManifest:
    """A Knative Service running one function: ``functions/<package>/main.py``."""

    name: str
    package: str
    source: str


@dataclass(frozen=True)
class Topology:
    namespace: str = "default"
    brokers: Mapping[str, BrokerManifest] = field(default_factory=dict)
    triggers: tuple[Trigger, ...] = ()
    services: Mapping[str, ServiceManifest] = field(default_factory=dict)

    def matching(
        self, attributes: Mapping[str, str], broker: str = DEFAULT_BROKER
    ) -> list[Trigger]:
        """Triggers of ``broker`` whose filter passes, in name order (delivery is unordered)."""
        return [t for t in self.triggers if t.broker == broker and t.filter.matches(attributes)]

    def delivery_for(self, trigger: Trigger) -> DeliverySpec:
        """The Trigger's own delivery spec, else its Broker's, else Knative's default."""
        if trigger.delivery is not None:
            return trigger.delivery
        broker = self.brokers.get(trigger.broker)
        return broker.delivery if broker is not None else DEFAULT

    @classmethod
    def load(cls, base: str | Path) -> Topology:
        return topology_from(load_documents(Path(base)), namespace=kustomize_namespace(Path(base)))


def _kustomization(directory: Path) -> Path | None:
    return next((directory / n for n in KUSTOMIZATION_NAMES if (directory / n).is_file()), None)


def _read_yaml(path: Path) -> list[dict[str, Any]]:
    import yaml

    try:
        docs = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError) as exc:
        raise ManifestError(f"{path}: cannot read YAML: {exc}") from exc
    out = []
    for doc in docs:
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise ManifestError(f"{path}: every YAML document must be a mapping")
        out.append(doc)
    return out


def kustomize_namespace(directory: Path) -> str:
    path = _kustomization(directory)
    if path is None:
        return "default"
    docs = _read_yaml(path)
    return str(docs[0].get("namespace") or "default") if docs else "default"


def resource_files(directory: Path) -> Iterator[Path]:
    """The files a kustomization lists (recursing into listed folders), else every YAML file."""
    path = _kustomization(directory)
    if path is None:
        yield from sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
        return
    docs = _read_yaml(path)
    resources = (docs[0].get("resources") or []) if docs else []
    for entry in resources:
        target = (directory / str(entry)).resolve()
        if target.is_dir():
            yield from resource_files(target)
        elif target.is_file():
            yield target
        else:
            raise ManifestError(f"{path}: resource {entry!r} does not exist")


def load_documents(directory: Path) -> list[tuple[Path, dict[str, Any]]]:
    if not directory.is_dir():
        raise ManifestError(f"manifest folder {directory} does not exist")
    return [(path, doc) for path in resource_files(directory) for doc in _read_yaml(path)]


def _subscriber(raw: Any, where: str) -> Subscriber:
    if not isinstance(raw, Mapping):
        raise ManifestError(f"{where}: spec.subscriber must be a mapping")
    ref = raw.get("ref") or {}
    uri = str(raw.get("uri") or "")
    if ref:
        if not isinstance(ref, Mapping) or not ref.get("name"):
            raise ManifestError(f"{where}: spec.subscriber.ref needs a name")
        path = uri if uri.startswith("/") else ("/" + uri if uri else "/")
        return Subscriber(service=str(ref["name"]), path=path)
    if not uri:
        raise ManifestError(f"{where}: spec.subscriber needs a ref or a uri")
    return Subscriber(uri=uri)


def _service(doc: Mapping[str, Any], where: str) -> ServiceManifest:
    name = str(doc["metadata"]["name"])
    containers = (((doc.get("spec") or {}).get("template") or {}).get("spec") or {}).get(
        "containers"
    ) or []
    args: list[str] = []
    for container in containers:
        args += [str(a) for a in (container.get("command") or [])] + [
            str(a) for a in (container.get("args") or [])
        ]
    source = ""
    if "--source" in args and args.index("--source") + 1 < len(args):
        source = args[args.index("--source") + 1]
    parts = Path(source).parts
    if source and (len(parts) != 3 or parts[0] != "functions" or parts[2] != "main.py"):
        raise ManifestError(f"{where}: --source {source!r} is not functions/<package>/main.py")
    package = parts[1] if source else name.replace("-", "_")
    return ServiceManifest(
        name=name, package=package, source=source or f"functions/{package}/main.py"
    )


def topology_from(
    documents: list[tuple[Path, dict[str, Any]]], namespace: str = "default"
) -> Topology:
    from healer_dev.broker.filters import FilterError

    brokers: dict[str, BrokerManifest] = {}
    triggers: list[Trigger] = []
    services: dict[str, ServiceManifest] = {}
    for path, doc in documents:
        kind = doc.get("kind")
        name = str((doc.get("metadata") or {}).get("name") or "")
        where = f"{path.name}: {kind} {name!r}"
        spec = doc.get("spec") or {}
        try:
            if kind == "Broker" and str(doc.get("apiVersion", "")).startswith(
                "eventing.knative.dev/"
            ):
                brokers[name] = BrokerManifest(
                    name, parse_delivery(spec.get("delivery"), where) or DEFAULT
                )
            elif kind == "Trigger" and str(doc.get("apiVersion", "")).startswith(
                "eventing.knative.dev/"
            ):
                triggers.append(
                    Trigger(
                        name=name,
                        broker=str(spec.get("broker") or "default"),
                        filter=compile_trigger_filter(spec, where),
                        subscriber=_subscriber(spec.get("subscriber"), where),
                        delivery=parse_delivery(spec.get("delivery"), where),
                    )
                )
            elif kind == "Service" and str(doc.get("apiVersion", "")).startswith(
                "serving.knative.dev/"
            ):
                services[name] = _service(doc, where)
        except (FilterError, ValueError, KeyError, TypeError) as exc:
            if isinstance(exc, ManifestError):
                raise
            raise ManifestError(f"{where}: {exc}") from exc
    triggers.sort(key=lambda t: t.name)
    return Topology(
        namespace=namespace, brokers=brokers, triggers=tuple(triggers), services=services
    )
