"""The shape of an evidence rule and of a name/path hint; the tables live in ``rules_*``.

A rule names a literal ``needle`` (a substring that must be present; all needles together form
the one-pass prefilter) and, optionally, a regular expression that confirms the hit on the
ANSI-stripped line. Weights: ~4 decisive, ~3 strong, ~1.5 supporting, below 1 a hint.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from healer.vocabulary import FailureType


@dataclass(frozen=True)
class Rule:
    type: FailureType
    weight: float
    needle: str
    label: str
    regex: re.Pattern[str] | None = None
    boost: re.Pattern[str] | None = None  # step command/name that makes this rule decisive
    boosted: float = 0.0
    command: bool = False  # group 1 (and 2) name a command or npm script that failed


def rule(
    type_: FailureType,
    weight: float,
    needle: str,
    label: str,
    regex: str | None = None,
    *,
    flags: int = 0,
    boost: str | None = None,
    boosted: float = 0.0,
    command: bool = False,
) -> Rule:
    return Rule(
        type=type_,
        weight=weight,
        needle=needle,
        label=label,
        regex=re.compile(regex, flags) if regex else None,
        boost=re.compile(boost, re.I) if boost else None,
        boosted=boosted,
        command=command,
    )


@dataclass(frozen=True)
class ContextRule:
    """A keyword in a step command/name, job or workflow name, or a changed path."""

    type: FailureType
    pattern: re.Pattern[str]


def context_rule(type_: FailureType, pattern: str) -> ContextRule:
    return ContextRule(type_, re.compile(pattern, re.I))
