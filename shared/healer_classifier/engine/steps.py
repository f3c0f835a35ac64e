"""Splitting a log into steps: GitHub Actions framing, ``gh run view --log``, Travis, bare output.

The scanner hands over only the lines worth a look (framing markers and prefilter hits); the
``StepTracker`` keeps bounded state per step: weighted evidence, the first hit lines with their
context, and the lines just before a failure marker.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field

from healer.vocabulary import FailureType
from healer_classifier.engine.excerpt import clean_line
from healer_classifier.engine.rules import CANCEL_MARKERS

_GH_PREFIX = re.compile(r"^([^\t]*)\t([^\t]*)\t(?=\ufeff?\d{4}-\d\d-\d\dT)")
_TIMESTAMP = re.compile(r"^\ufeff?\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z ?")
_EXIT = re.compile(r"Process completed with exit code (\d+)")
_TRAVIS_EXIT = re.compile(r"The command \"(.*)\" exited with (\d+)\.")
# The same failure marker as copied from the web UI, or from GitLab and CircleCI job logs.
_PLAIN_EXIT = re.compile(
    r"^(?:Error: Process completed with exit code |ERROR: Job failed: exit code "
    r"|Exited with code (?:exit status )?)(\d+)"
)
_TRAVIS_TIME = re.compile(r"^travis_time:start:\w+")
_UNKNOWN_STEP = "UNKNOWN STEP"

MAX_HITS = 200  # hit records kept per step
MAX_LINES = 600  # excerpt lines kept per step
CONTEXT_BEFORE = 3
CONTEXT_AFTER = 6
CONTEXT_HITS = 60  # hits whose surrounding lines are kept
TAIL_LINES = 40  # lines kept before a failure marker
MAX_LINE_CHARS = 2000


def split_prefix(line: str) -> tuple[str | None, str]:
    """(gh step name or None, content) with the ``job<TAB>step<TAB>`` and timestamp removed."""
    step = None
    if "\t" in line:
        m = _GH_PREFIX.match(line)
        if m:
            step = m.group(2)
            line = line[m.end() :]
    if line[:1].isdigit() or line[:1] == "\ufeff":
        m = _TIMESTAMP.match(line)
        if m:
            line = line[m.end() :]
    return step, line


@dataclass(frozen=True)
class Hit:
    line_no: int
    type: FailureType
    label: str
    contribution: float
    text: str


@dataclass
class Step:
    """One step of a job, with bounded evidence."""

    index: int
    name: str
    framed: bool = False  # started by CI framing, so "no failure marker" means it passed
    command: str = ""
    start_line: int = 0
    exit_code: int | None = None
    errored: bool = False
    failure_line: int | None = None
    passed: bool = False
    scores: dict[FailureType, float] = field(default_factory=dict)
    rule_counts: dict[int, int] = field(default_factory=dict)
    hits: list[Hit] = field(default_factory=list)
    recent: deque[Hit] = field(default_factory=lambda: deque(maxlen=64))
    lines: dict[int, str] = field(default_factory=dict)
    tail: list[int] = field(default_factory=list)
    context_hits: int = 0

    @property
    def failed(self) -> bool:
        return (self.exit_code is not None and self.exit_code != 0) or self.errored

    @property
    def context_text(self) -> str:
        return f"{self.name}\n{self.command}"

    def keep_line(self, line_no: int, text: str) -> None:
        if line_no in self.lines or len(self.lines) >= MAX_LINES:
            return
        self.lines[line_no] = text[:MAX_LINE_CHARS]

    def drop_lines(self) -> None:
        """A step that passed needs no excerpt; keep only what its signals mention."""
        self.lines = {}
        self.tail = []
        del self.hits[5:]


class StepTracker:
    """Receives interesting lines in order and keeps the steps they belong to."""

    def __init__(self) -> None:
        self.steps: list[Step] = [Step(index=0, name="")]
        self.canceled = False
        self.total_lines = 0
        self.framing = ""  # "github", "gh", "travis" or "" (bare)
        self.binary = False  # the input is not text (an image, an archive)

    @property
    def current(self) -> Step:
        return self.steps[-1]

    def begin_step(self, name: str, line_no: int, *, framed: bool) -> Step:
        prev = self.current
        if not prev.failed and prev.framed and prev.exit_code is None:
            prev.passed = True
        if prev.passed:
            prev.drop_lines()
        step = Step(index=len(self.steps), name=name[:200], framed=framed, start_line=line_no)
        if len(self.steps) == 1 and not prev.hits and not prev.failed and line_no == 0:
            self.steps[0] = step
            step.index = 0
        else:
            self.steps.append(step)
        return step

    def framing_line(self, content: str, gh_step: str | None, line_no: int) -> bool:
        """Handle a CI framing marker; True when the line was one (it may still carry evidence)."""
        if gh_step is not None and gh_step != _UNKNOWN_STEP:
            self.framing = "gh"
            if gh_step != self.current.name:
                self.begin_step(gh_step, line_no, framed=True)
        if content.startswith("##["):
            if not self.framing:
                self.framing = "github"  # "Set up job" only once the runner header is seen
            if content.startswith("##[group]Run "):
                if gh_step is None or gh_step == _UNKNOWN_STEP:
                    self.framing = self.framing or "github"
                    self.begin_step(content[9:], line_no, framed=True)
                else:
                    self.current.command = content[9:]
                return True
            if content.startswith("##[section]Starting: "):  # Azure Pipelines
                self.begin_step(content[21:], line_no, framed=True)
                return True
            if content.startswith("##[error]"):
                step = self.current
                m = _EXIT.search(content)
                if m:
                    step.exit_code = int(m.group(1))
                else:
                    step.errored = True
                if step.failure_line is None:
                    step.failure_line = line_no
                if any(marker in content for marker in CANCEL_MARKERS):
                    self.canceled = True
                return True
            return False
        if content.startswith(("> Run ", "▶ Run ")) and gh_step is None:
            # A step header as copied from the web UI.
            self.framing = self.framing or "github"
            self.begin_step(content[2:], line_no, framed=True)
            return True
        if content[:1] in "EX":
            m = _PLAIN_EXIT.match(content)
            if m:
                code = int(m.group(1))
                step = self.current
                if code and step.exit_code in (None, 0):
                    step.exit_code = code
                    step.failure_line = line_no
                return True
        if content.startswith("Current runner version:") and len(self.steps) == 1:
            self.framing = self.framing or "github"
            self.steps[0].name = self.steps[0].name or "Set up job"
            return True
        if content.startswith("Post job cleanup."):
            self.begin_step("Post job cleanup", line_no, framed=True)
            return True
        if content.startswith("Cleaning up orphan processes"):
            self.begin_step("Complete job", line_no, framed=True)
            return True
        if content.startswith("travis_time:start:"):
            content = _TRAVIS_TIME.sub("", content, count=1)
        if content.startswith("$ ") and self.framing in ("", "travis"):
            self.framing = "travis"
            self.begin_step(content, line_no, framed=False)
            self.current.command = content[2:]
            return True
        if content.startswith('The command "'):
            m = _TRAVIS_EXIT.match(content)
            if m:
                code = int(m.group(2))
                step = self.current
                self.framing = self.framing or "travis"
                step.command = step.command or m.group(1)
                if code == 0:
                    step.passed = True
                else:
                    step.exit_code = code
                    step.failure_line = line_no
                return True
        if any(marker in content for marker in CANCEL_MARKERS):
            self.canceled = True
        return False


def line_text(raw: bytes) -> tuple[str | None, str]:
    """Decode one raw log line and return (gh step, cleaned content)."""
    text = raw[: MAX_LINE_CHARS * 4].decode("utf-8", "replace")
    if text.endswith("\r"):
        text = text[:-1]
    step, content = split_prefix(text)
    return step, clean_line(content)
