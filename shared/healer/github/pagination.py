"""GitHub pagination: follow the ``Link`` header's ``rel="next"`` URL, never build page numbers."""

from __future__ import annotations

import re

_LINK = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]*)*)")
_REL = re.compile(r'rel\s*=\s*"?([^";]*)"?')

PER_PAGE = 100
MAX_PAGES = 100


def next_link(header: str | None) -> str | None:
    """The ``rel="next"`` URL of a ``Link`` header, or None on the last page."""
    if not header:
        return None
    for match in _LINK.finditer(header):
        rel = _REL.search(match.group(2))
        if rel and "next" in rel.group(1).split():
            return match.group(1).strip()
    return None
