"""One streaming pass over a log in bounded memory.

Bytes arrive in chunks and are processed in ~1 MiB blocks. One prefilter (RE2, linear time)
finds framing markers and rule needles; only those lines are decoded and looked at. A little of
the previous block is carried over so that context lines before a hit (and a failure marker) are
still at hand, and a little look-ahead is held back so that lines after a hit are too.
"""

from __future__ import annotations

import codecs
import functools
import re

import re2

from healer.vocabulary import FailureType
from healer_classifier.engine.names import command_type
from healer_classifier.engine.rules import CANCEL_MARKERS, NEEDLES, RULES
from healer_classifier.engine.steps import (
    CONTEXT_AFTER,
    CONTEXT_BEFORE,
    CONTEXT_HITS,
    MAX_HITS,
    TAIL_LINES,
    Hit,
    Step,
    StepTracker,
    line_text,
)

BLOCK = 1 << 20
LOOKBEHIND = 32 * 1024
LOOKAHEAD = 16 * 1024
SNIFF = 512  # bytes read before deciding whether the log is UTF-16
MAX_CARRY = 4 * BLOCK  # a "line" longer than this is split
DECAY = 0.6  # each repeat of the same rule in a step counts 60% of the previous one
SATURATED = 30  # past this many repeats a rule adds nothing and keeps no record

_FRAMING = (
    "##[group]Run ",
    "##[section]Starting: ",
    "> Run ",
    "▶ Run ",
    "##[error]",
    "Post job cleanup.",
    "Cleaning up orphan processes",
    'The command "',
    "travis_time:start:",
    "Current runner version:",
    "Error: Process completed with exit code ",
    "ERROR: Job failed: exit code ",
    "Exited with code ",
    *CANCEL_MARKERS,
)
# RE2's default 8 MiB budget no longer holds the DFA for this many needles; past it RE2 falls
# back to its much slower NFA on every line. The DFA's state cache grows only as it is used.
_PREFILTER_OPTIONS = re2.Options()
_PREFILTER_OPTIONS.max_mem = 32 << 20
_PREFILTER = re2.compile(
    (
        r"(?m)^(?:\x1b\[0K)*\$ |"
        + "|".join(re.escape(s) for s in sorted({*_FRAMING, *NEEDLES}, key=len, reverse=True))
        + r"|\x1b\[|\^\[\["
    ).encode("utf-8"),
    _PREFILTER_OPTIONS,
)
_NEEDLES = frozenset(needle.encode("utf-8") for needle in NEEDLES)


@functools.cache
def _rules_by_needle(found: bytes) -> tuple[int, ...]:
    """Every rule whose needle lies inside a matched needle (overlapping needles share a
    match). Worked out when a needle is first met: a log meets a few dozen of them, and the
    whole table up front cost a scaled-to-zero classify about 40 ms."""
    if found not in _NEEDLES:
        return ()  # framing
    text = found.decode("utf-8")
    return tuple(i for i, r in enumerate(RULES) if r.needle in text)


_ESCAPES = {b"\x1b[", b"^[["}
# What wraps a tool's line: an annotation, a workspace runner's package/task prefix
# (turbo ``web:lint:``, pnpm -r ``packages/web test:``), a compose/updater ``name |`` column.
_WRAPPER = re.compile(
    r"^(?:##\[(?:error|warning)\]|(?:@[\w.-]+/)?[\w.-]+:[A-Za-z][\w:-]*: ?"
    r"|(?:@[\w.-]+/)?[\w./-]+ [A-Za-z][\w:-]*: ?|[\w.-]+\s+\| ?)"
)
# A transient error that the tool says it is retrying is weak evidence: the retry may succeed.
_RETRYING = re.compile(r"retry|retrying|tries remaining|will be retried|attempt \d+ of", re.I)
RETRY_FACTOR = 0.25
_SCRIPT_END = (b"##[endgroup]", b"shell: ")


def utf16_decoder(head: bytes) -> codecs.IncrementalDecoder | None:
    """A decoder when the log is UTF-16 (a BOM, or NULs in every other byte), as logs saved
    by Windows PowerShell are; ``None`` for UTF-8 and ASCII logs."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return codecs.getincrementaldecoder("utf-16")("replace")
    sample = head[:512]
    if len(sample) < 16:
        return None
    odd_nuls, even_nuls = sample[1::2].count(0), sample[0::2].count(0)
    half = len(sample) // 2
    if odd_nuls > 0.8 * half and even_nuls < 0.1 * half:
        return codecs.getincrementaldecoder("utf-16-le")("replace")
    if even_nuls > 0.8 * half and odd_nuls < 0.1 * half:
        return codecs.getincrementaldecoder("utf-16-be")("replace")
    return None


_BINARY_BYTES = bytes([*range(0, 8), 11, *range(14, 27), *range(28, 32)])


def looks_binary(head: bytes) -> bool:
    """True for data that is no text log: NUL bytes, or many control bytes (an image, an
    archive). ESC, tabs and line ends are text."""
    sample = head[:SNIFF]
    if not sample:
        return False
    if b"\x00" in sample:
        return True
    control = len(sample) - len(sample.translate(None, _BINARY_BYTES))
    return control > len(sample) // 10


class Scanner:
    """Feed chunks, then ``close()``; the tracker then holds every step's evidence."""

    def __init__(self, tracker: StepTracker | None = None) -> None:
        self.tracker = tracker or StepTracker()
        self.bytes_seen = 0
        self._pending: list[bytes] = []
        self._pending_len = 0
        self._carry = b""
        self._scan_from = 0  # offset in carry where unscanned data begins
        self._line_base = 0  # newlines before carry[_scan_from]
        self._last_data = b""
        self._last_end = 0
        self._utf16: codecs.IncrementalDecoder | None = None
        self._head: bytes | None = b""

    def feed(self, chunk: bytes | str) -> None:
        data = chunk.encode("utf-8") if isinstance(chunk, str) else chunk
        if not data:
            return
        self.bytes_seen += len(data)
        if self._head is not None:  # the encoding is decided on the first bytes
            self._head += data
            if len(self._head) < SNIFF:
                return
            data, self._head = self._head, None
            self._sniff(data)
        self._append(data)

    def _sniff(self, head: bytes) -> None:
        self._utf16 = utf16_decoder(head)
        self.tracker.binary = self._utf16 is None and looks_binary(head)

    def _append(self, data: bytes) -> None:
        if self._utf16 is not None:
            data = self._utf16.decode(data).encode("utf-8", "replace")
        self._pending.append(data)
        self._pending_len += len(data)
        if self._pending_len >= BLOCK:
            self._process(final=False)

    def close(self) -> StepTracker:
        if self._head:
            head, self._head = self._head, None
            self._sniff(head)
            self._append(head)
        if self._utf16 is not None:
            self._pending.append(self._utf16.decode(b"", final=True).encode("utf-8", "replace"))
        self._process(final=True)
        data, end = self._last_data, self._last_end
        step = self.tracker.current
        if not step.passed and step.failure_line is None:
            self._keep_tail(step, data, end, self._line_base)
        self.tracker.total_lines = self._line_base
        self._carry = self._last_data = b""
        return self.tracker

    def _process(self, *, final: bool) -> None:
        data = self._carry + b"".join(self._pending)
        self._pending, self._pending_len = [], 0
        if final and data and not data.endswith(b"\n"):
            data += b"\n"
        start = self._scan_from
        if final:
            end = len(data)
        else:
            end = data.rfind(b"\n", start, max(start, len(data) - LOOKAHEAD)) + 1
            if end <= start:
                if len(data) - start < MAX_CARRY:
                    self._carry = data
                    return
                end = len(data) - LOOKAHEAD
        self._scan(data, start, end)
        self._line_base += data.count(b"\n", start, end)
        keep = data.rfind(b"\n", 0, max(0, end - LOOKBEHIND)) + 1
        self._carry = data[keep:]
        self._scan_from = end - keep
        self._last_data, self._last_end = data, end

    def _scan(self, data: bytes, start: int, end: int) -> None:
        line_no = self._line_base
        cursor = start
        ls = -1
        found: set[bytes] = set()
        for m in _PREFILTER.finditer(data, start, end):
            at = data.rfind(b"\n", 0, m.start()) + 1
            if at != ls:
                if ls >= 0:
                    self._line(data, ls, end, line_no, found)
                    found = set()
                line_no += data.count(b"\n", cursor, at)
                cursor = ls = at
            found.add(m.group())
        if ls >= 0:
            self._line(data, ls, end, line_no, found)

    def _line(self, data: bytes, ls: int, end: int, line_no: int, found: set[bytes]) -> None:
        tracker = self.tracker
        le = data.find(b"\n", ls, end)
        if le < 0:
            le = end
        gh_step, content = line_text(data[ls:le])
        before = tracker.current
        if tracker.framing_line(content, gh_step, line_no):
            if before is not tracker.current:
                self._on_step_change(before, data, ls, line_no)
            step = tracker.current
            if content.startswith("##[group]Run ") and step.start_line == line_no:
                step.command = _script(data, le)
            if step.failure_line == line_no:
                self._keep_tail(step, data, ls, line_no)
        # Needles may overlap ("npm error code ECONNRESET"): collect every one on this line.
        # Colours may split a needle, so a coloured line is searched again once cleaned.
        if _ESCAPES & found:
            found = _needles_in(content.encode("utf-8"), 0, None)
        elif len(found) < 8:
            found = _needles_in(data, ls, le)
        rules: set[int] = set()
        for needle in found:
            rules.update(_rules_by_needle(needle))
        if rules:
            self._match(tracker.current, content, sorted(rules), data, ls, le, line_no)

    def _on_step_change(self, previous: Step, data: bytes, ls: int, line_no: int) -> None:
        if not previous.passed and previous.failure_line is None and previous.hits:
            self._keep_tail(previous, data, ls, line_no)

    def _match(
        self,
        step: Step,
        content: str,
        rules: list[int],
        data: bytes,
        ls: int,
        le: int,
        line_no: int,
    ) -> None:
        hit_here = False
        body: str | None = None
        for idx in rules:
            rule = RULES[idx]
            if rule.needle not in content:
                continue
            m = None
            if rule.regex is not None:
                m = rule.regex.search(content)
                if m is None:
                    if body is None:
                        body = _unwrap(content)
                    m = rule.regex.search(body) if body != content else None
                    if m is None:
                        continue
            weight = rule.weight
            type_, label = rule.type, rule.label
            if rule.command:
                named = _failed_command(m)
                if named is None:
                    continue
                type_, words = named
                label = f"{rule.label} ({words})"
            elif rule.boost is not None and rule.boost.search(step.context_text):
                weight = rule.boosted
            if type_ is FailureType.INFRA_NETWORK and _RETRYING.search(content):
                weight *= RETRY_FACTOR
            count = step.rule_counts.get(idx, 0)
            step.rule_counts[idx] = count + 1
            if count >= SATURATED:
                continue
            contribution = weight * DECAY**count
            step.scores[type_] = step.scores.get(type_, 0.0) + contribution
            hit = Hit(line_no, type_, label, contribution, content[:500])
            step.recent.append(hit)
            if len(step.hits) < MAX_HITS:
                step.hits.append(hit)
            hit_here = True
        if hit_here and step.context_hits < CONTEXT_HITS and not step.passed:
            step.context_hits += 1
            for no, text in _around(data, ls, le, line_no):
                step.keep_line(no, text)

    def _keep_tail(self, step: Step, data: bytes, ls: int, line_no: int) -> None:
        """Keep the lines just before ``ls`` (a failure marker or the end of the step)."""
        pos = ls
        no = line_no
        kept: list[int] = []
        floor = max(0, ls - LOOKBEHIND)
        for _ in range(TAIL_LINES):
            if pos <= floor or no <= step.start_line:
                break
            prev = data.rfind(b"\n", 0, pos - 1) + 1
            no -= 1
            step.keep_line(no, line_text(data[prev : pos - 1])[1])
            kept.append(no)
            pos = prev
        if line_no not in step.lines and ls < len(data):
            le = data.find(b"\n", ls)
            step.keep_line(line_no, line_text(data[ls : le if le >= 0 else len(data)])[1])
            kept.append(line_no)
        step.tail = sorted(kept)


def _needles_in(data: bytes, start: int, end: int | None) -> set[bytes]:
    out: set[bytes] = set()
    end = len(data) if end is None else end
    pos = start
    while (m := _PREFILTER.search(data, pos, end)) is not None:
        out.add(m.group())
        pos = m.start() + 1
    return out


def _unwrap(content: str) -> str:
    """The tool's own line inside an annotation or a workspace runner's prefix."""
    for _ in range(2):
        m = _WRAPPER.match(content)
        if m is None or not m.end():
            break
        content = content[m.end() :]
    return content


def _failed_command(m: re.Match[str] | None) -> tuple[FailureType, str] | None:
    """The type a captured command or npm script points to (npm scripts read as ``npm run``)."""
    if m is None:
        return None
    groups = m.groupdict()
    script, cmd = groups.get("script"), groups.get("cmd")
    text = f"npm run {script} " if script else ""
    if cmd:
        text += " ".join(part.rsplit("/", 1)[-1] for part in cmd.split()[:12])
    return command_type(text)


def _around(data: bytes, ls: int, le: int, line_no: int) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    pos, no = ls, line_no
    for _ in range(CONTEXT_BEFORE):
        if pos <= 0:
            break
        prev = data.rfind(b"\n", 0, pos - 1) + 1
        no -= 1
        out.append((no, line_text(data[prev : pos - 1])[1]))
        pos = prev
    out.append((line_no, line_text(data[ls:le])[1]))
    pos, no = le + 1, line_no
    for _ in range(CONTEXT_AFTER):
        if pos >= len(data):
            break
        nxt = data.find(b"\n", pos)
        if nxt < 0:
            nxt = len(data)
        no += 1
        out.append((no, line_text(data[pos:nxt])[1]))
        pos = nxt + 1
    return out


def _script(data: bytes, le: int) -> str:
    """The first lines of a step's script, after its ``##[group]Run`` header."""
    lines: list[str] = []
    pos = le + 1
    for _ in range(12):
        if pos >= len(data):
            break
        nxt = data.find(b"\n", pos)
        if nxt < 0:
            nxt = len(data)
        raw = data[pos:nxt]
        if any(marker in raw for marker in _SCRIPT_END):
            break
        lines.append(line_text(raw)[1])
        pos = nxt + 1
    return "\n".join(lines)
