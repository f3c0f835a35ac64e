"""The closed sets docs/architecture.md lists agree with the enums the code uses."""

from __future__ import annotations

import re
from pathlib import Path

from healer.vocabulary import SkipCode

DOC = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"


def _listed(label: str) -> list[str]:
    """The backticked names on the line that starts with ``label`` (one per set)."""
    lines = [ln.strip() for ln in DOC.read_text(encoding="utf-8").splitlines()]
    found = [ln for ln in lines if ln.startswith(label)]
    assert len(found) == 1, f"docs/architecture.md should list {label!r} once"
    return re.findall(r"`([^`]+)`", found[0])


def test_the_documented_skip_codes_are_the_enum() -> None:
    listed = _listed("skip codes:")
    assert len(listed) == len(set(listed))
    assert set(listed) == {code.value for code in SkipCode}
