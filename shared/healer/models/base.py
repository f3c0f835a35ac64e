"""Common model configuration: frozen, strict about unknown fields."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Payload(BaseModel):
    """Base of every event payload: immutable and closed, so typos fail loudly."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
