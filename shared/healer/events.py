"""Building the CloudEvents Healer emits: deterministic ids, subject and routing extensions.

Ids derive from upstream identity (delivery id, or job id + run attempt) plus the emitting
stage, so a redelivered input produces the same output id and the broker's consumers can
dedupe on (source, id).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from cloudevents.http import CloudEvent

from healer.vocabulary import EXT_ATTEMPT, EXT_REPO, EXT_RUN, EventType, Stage, source_of

if TYPE_CHECKING:
    from pydantic import BaseModel

Model = TypeVar("Model", bound="BaseModel")


def event_id(stage: Stage | str, *parts: object) -> str:
    """A stable id for what ``stage`` emits about the upstream thing named by ``parts``."""
    text = "\x1f".join([str(stage), *(str(p) for p in parts)])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def task_id(repository: str, run_id: int | str) -> str:
    """The remediation task's name: one per workflow run (or alert), shown to users."""
    slug = "".join(c if c.isalnum() else "-" for c in repository.lower()).strip("-")
    return f"{slug}-{run_id}"


def build_event(
    event_type: EventType,
    stage: Stage,
    data: Mapping[str, Any] | BaseModel,
    *,
    key: tuple[object, ...],
    repository: str,
    run_id: int | str,
    attempt: int = 1,
) -> CloudEvent:
    """A CloudEvent with the contract's attributes; ``key`` is the upstream identity."""
    payload = data if isinstance(data, Mapping) else data.model_dump(mode="json")
    attributes = {
        "type": event_type.value,
        "source": source_of(stage),
        "id": event_id(stage, event_type.value, *key),
        "subject": f"{repository}#{run_id}",
        "datacontenttype": "application/json",
        EXT_REPO: repository,
        EXT_RUN: str(run_id),
        EXT_ATTEMPT: str(attempt),
    }
    return CloudEvent(attributes, dict(payload))


def event_data(event: CloudEvent) -> dict[str, Any]:
    """The event's data as a JSON object, whatever form it arrived in."""
    from healer.errors import InvalidInput
    from healer.wire import loads

    data = event.get_data()
    try:
        if isinstance(data, (bytes, bytearray)):
            data = data.decode("utf-8")
        if isinstance(data, str):
            data = loads(data)
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError alike
        raise InvalidInput(f"event {event['id']} data is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidInput(
            f"event {event['id']} data must be a JSON object, got {type(data).__name__}"
        )
    return data


def parse_data(model: type[Model], event: CloudEvent) -> Model:
    """The event's data validated as ``model``; a mismatch is permanent (400) and says where."""
    from pydantic import ValidationError

    from healer.errors import InvalidInput

    try:
        return model.model_validate(event_data(event))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "data"
        raise InvalidInput(
            f"{event['type']} data is not a valid {model.__name__}: {exc.error_count()} "
            f"error(s), first at {where}: {first['msg']}"
        ) from exc
