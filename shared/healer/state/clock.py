"""The one clock every stage stamps records with: UTC, to the second, ``Z``-suffixed."""

from __future__ import annotations

from datetime import UTC, datetime

STAMP = "%Y-%m-%dT%H:%M:%SZ"


def utcnow() -> datetime:
    return datetime.now(UTC)


def stamp(when: datetime) -> str:
    return when.strftime(STAMP)


def now() -> str:
    """The current time as records store it (``2026-01-31T12:00:00Z``)."""
    return stamp(utcnow())


def parse(value: str) -> datetime | None:
    """A stamp read back (None when unreadable); naive ones are taken as UTC."""
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
