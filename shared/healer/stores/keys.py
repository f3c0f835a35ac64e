"""Every key Healer uses, in one place: the state store's keys and the blob store's layout.

State keys are plain ``kind:<parts>`` strings (the backends encode them as they need). Blob keys
are laid out by repo, run and attempt so a person can browse.
"""

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


# -- State store keys ---------------------------------------------------------------------------

TASK_PREFIX = "task:"
ACTIVE_KEY = "active:count"  # CodeRuns started and not yet finished
BREAKER_KEY = "breaker:open"  # while set, nothing starts
FAILURES_KEY = "breaker:failures"  # failed attempts in a row, within the breaker's window
WAITING_INDEX = "waiting:tasks"  # ordered index of waiting tasks, by when they first waited


def task_key(task_id: str) -> str:
    """The task record (:class:`healer.state.records.TaskRecord`)."""
    return f"{TASK_PREFIX}{task_id}"


def branch_key(repository: str, branch: str) -> str:
    """The task working on a branch, so CI deliveries find their task cheaply."""
    return f"branch:{repository}:{branch}"


def window_key(repository: str, branch: str) -> str:
    """The task that started on a branch within the time window."""
    return f"window:{repository}:{branch}"


def spawn_dedup_key(task_id: str, attempt: int) -> str:
    """One remediation per (task, attempt): a :class:`~healer.state.records.SpawnClaim`."""
    return f"dedup:spawn:{task_id}:{attempt}"


def delivery_claim_key(ident: str) -> str:
    """One recorded delivery per GitHub delivery id (ingest)."""
    return f"dedup:delivery:{ident}"


def waiting_lease_key(task_id: str, attempt: int) -> str:
    """The lease of one release of a waiting task back to spawn."""
    return f"waiting:lease:{task_id}:{attempt}"


def escalation_claim_key(task_id: str) -> str:
    """The escalation's progress (:class:`~healer.state.records.EscalationClaim`)."""
    return f"escalated:{task_id}"


def done_key(task_id: str, attempt: int, effect: str = "") -> str:
    """A side effect of a decided attempt that has run (once)."""
    return f"done:{task_id}:{attempt}" + (f":{effect}" if effect else "")


def history_key(fingerprint: str) -> str:
    """Past remediations of a failure fingerprint (:class:`healer.models.HistoryEntry`)."""
    return f"history:{fingerprint}"


def stale_key(task_id: str) -> str:
    """Why a failure was found superseded (:class:`~healer.state.records.StaleMarker`)."""
    return f"stale:{task_id}"


def sweep_key(source: str, ident: str) -> str:
    """What one sweep tick chose (:class:`~healer.state.records.SweepChoice`)."""
    return f"sweep:{source}:{ident}"
