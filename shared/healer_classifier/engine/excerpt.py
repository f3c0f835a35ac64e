"""Readable, bounded excerpts: escapes stripped, gaps marked, secrets masked."""

from __future__ import annotations

import re
from collections.abc import Iterable

from healer.secrets import mask_lines

MAX_LINES = 200
MAX_BYTES = 16 * 1024

_ANSI = re.compile(r"(?:\x1b|\^\[)(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean_line(text: str) -> str:
    """Strip ANSI escapes (raw or caret-notation ``^[[31m``) and control characters."""
    if "\x1b" in text or "^[" in text:
        text = _ANSI.sub("", text)
    if "\r" in text:
        text = text.rsplit("\r", 1)[-1] or text.replace("\r", "")
    return _CONTROL.sub("", text) if _CONTROL.search(text) else text


def omitted(count: int) -> str:
    return f"… {count} line{'s' if count != 1 else ''} omitted …"


def render(
    numbered: Iterable[tuple[int, str]],
    *,
    max_lines: int = MAX_LINES,
    max_bytes: int = MAX_BYTES,
    header: str = "",
    first: int | None = None,
) -> str:
    """Join ``(line_no, text)`` in order, marking gaps and cutting to the budget.

    Over budget, the head and the tail are kept (the tail is where the error usually is) and the
    middle is replaced by an omission marker; a single overlong line is cut at a character
    boundary, so the result is always valid UTF-8.
    """
    lines: list[str] = [header] if header else []
    prev: int | None = first
    for no, text in sorted(numbered):
        if prev is not None and no - prev > 1:
            lines.append(omitted(no - prev - 1))
        lines.append(clean_line(text))
        prev = no
    # Masked together, so that a private key spread over several lines is masked whole.
    lines = mask_lines(lines)
    return fit(lines, max_lines=max_lines, max_bytes=max_bytes)


def fit(lines: list[str], *, max_lines: int = MAX_LINES, max_bytes: int = MAX_BYTES) -> str:
    """Cut a list of lines to ``max_lines`` and ``max_bytes`` (UTF-8) keeping head and tail."""
    per_line = max(80, max_bytes // 8)
    lines = [_cut(line, per_line) for line in lines]
    if len(lines) > max_lines:
        keep_head = max_lines // 3
        keep_tail = max_lines - keep_head - 1
        lines = [
            *lines[:keep_head],
            omitted(len(lines) - keep_head - keep_tail),
            *lines[len(lines) - keep_tail :],
        ]
    sizes = [len(line.encode("utf-8")) + 1 for line in lines]
    if sum(sizes) <= max_bytes:
        return "\n".join(lines)
    budget = max_bytes - 64  # room for the marker
    head_budget = budget // 3
    head: list[str] = []
    used = 0
    i = 0
    while i < len(lines) and used + sizes[i] <= head_budget:
        head.append(lines[i])
        used += sizes[i]
        i += 1
    tail: list[str] = []
    j = len(lines) - 1
    while j >= i and used + sizes[j] <= budget:
        tail.append(lines[j])
        used += sizes[j]
        j -= 1
    tail.reverse()
    dropped = j - i + 1
    return "\n".join([*head, omitted(dropped), *tail]) if dropped else "\n".join(head + tail)


def _cut(line: str, max_bytes: int) -> str:
    data = line.encode("utf-8")
    if len(data) <= max_bytes:
        return line
    return data[: max_bytes - 8].decode("utf-8", "ignore") + " …[cut]"
