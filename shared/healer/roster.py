"""The specialist roster: data, not code. Maps a failure category to the agent sent to fix it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from healer.vocabulary import Category


@dataclass(frozen=True)
class Specialist:
    key: str
    name: str
    github_app: str
    template: str
    model: str
    categories: tuple[str, ...]


@dataclass(frozen=True)
class Roster:
    specialists: dict[str, Specialist]
    fallback: str

    def for_category(self, category: Category) -> Specialist:
        for specialist in self.specialists.values():
            if category.value in specialist.categories:
                return specialist
        return self.specialists[self.fallback]

    @classmethod
    def from_json(cls, text: str) -> Roster:
        raw = json.loads(text)
        specialists = {
            key: Specialist(
                key=key,
                name=spec["name"],
                github_app=spec["github_app"],
                template=spec["template"],
                model=spec.get("model", ""),
                categories=tuple(spec.get("categories", ())),
            )
            for key, spec in raw["specialists"].items()
        }
        return cls(specialists=specialists, fallback=raw["fallback"])


@cache
def load_roster(path: str | None = None) -> Roster:
    """The roster from ``path`` or the packaged default."""
    text = (
        Path(path).read_text("utf-8")
        if path
        else resources.files("healer").joinpath("data/roster.json").read_text("utf-8")
    )
    return Roster.from_json(text)
