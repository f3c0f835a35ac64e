"""The shape of an evidence rule and of a name/path hint; the tables live in ``rules_*``.

A rule names a literal ``needle`` (a substring that must be present; all needles together form
the one-pass prefilter) and, optionally, a regular expression that confirms the hit on the
ANSI-stripped line. Weights: ~4 decisive, ~3 strong, ~1.5 supporting, below 1 a hint.

Patterns are compiled on first use, not when the tables load: a log touches a few dozen of
the hundreds of rules, and compiling all of them (Python's ``re`` compiles in Python) cost a
scaled-to-zero classify about 45 ms of its cold start.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from healer.vocabulary import FailureType


@dataclass(frozen=True)
class Rule:
    type: FailureType
    weight: float
    needle: str
    label: str
    regex_source: str | None = None
    flags: int = 0
    boost_source: str | None = None  # step command/name that makes this rule decisive
    boosted: float = 0.0
    command: bool = False  # group 1 (and 2) name a command or npm script that failed

    @cached_property
    def regex(self) -> re.Pattern[str] | None:
        return re.compile(self.regex_source, self.flags) if self.regex_source else None

    @cached_property
    def boost(self) -> re.Pattern[str] | None:
        return re.compile(self.boost_source, re.I) if self.boost_source else None


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
        regex_source=regex,
        flags=flags,
        boost_source=boost,
        boosted=boosted,
        command=command,
    )


@dataclass(frozen=True)
class ContextRule:
    """A keyword in a step command/name, job or workflow name, or a changed path."""

    type: FailureType
    source: str

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        return re.compile(self.source, re.I)


def context_rule(type_: FailureType, pattern: str) -> ContextRule:
    return ContextRule(type_, pattern)
