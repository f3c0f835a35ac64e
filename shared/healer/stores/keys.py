"""Where things live in the blob store: laid out by repo, run and attempt so a person can browse."""

from __future__ import annotations

import hashlib
import re

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
MAX_PART = 120  # well under a file name's 255 bytes, with room for a suffix


def _part(value: object) -> str:
    """One path step from any value: safe characters only, and bounded; a longer value keeps
    its start and gains a digest of the whole, so distinct values stay distinct."""
    raw = str(value)
    text = _UNSAFE.sub("-", raw).strip("-.")
    if len(text) > MAX_PART:
        digest = hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        text = f"{text[: MAX_PART - 17].rstrip('-.')}-{digest}"
    return text or "_"


def repo_prefix(repository: str) -> str:
    owner, _, name = repository.partition("/")
    return f"repos/{_part(owner)}/{_part(name or '_')}"


def run_prefix(repository: str, run_id: int | str, attempt: int | str) -> str:
    return f"{repo_prefix(repository)}/runs/{_part(run_id)}/attempt-{_part(attempt)}"


def job_log_key(repository: str, run_id: int | str, attempt: int | str, job_id: int | str) -> str:
    return f"{run_prefix(repository, run_id, attempt)}/jobs/{_part(job_id)}.log"


def changed_files_key(repository: str, run_id: int | str, attempt: int | str) -> str:
    return f"{run_prefix(repository, run_id, attempt)}/changed-files.json"


def delivery_key(delivery_id: str) -> str:
    return f"deliveries/{_part(delivery_id)}.json"


def dead_letter_key(event_id: str, suffix: str) -> str:
    """One letter of ``event_id``; ``suffix`` (time and hash) keeps every letter apart. The id
    part is bounded so a long id cannot make a file name too long."""
    return f"dead-letters/{_part(event_id)}--{_part(suffix)}.json"


def prompt_key(repository: str, run_id: int | str, run_attempt: int | str, attempt: int) -> str:
    """The prompt spawn rendered for remediation ``attempt``, beside the run's logs."""
    return f"{run_prefix(repository, run_id, run_attempt)}/prompt-{_part(attempt)}.md"


def context_key(repository: str, run_id: int | str, run_attempt: int | str, attempt: int) -> str:
    """The gathered context remediation ``attempt`` started from (for retries and escalation)."""
    return f"{run_prefix(repository, run_id, run_attempt)}/context-{_part(attempt)}.json"
