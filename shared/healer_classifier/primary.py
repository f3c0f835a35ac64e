"""One run, one remediation: pick the verdict that chooses the specialist, keep the event small.

The primary verdict is chosen in this order:

1. the action: ``fix`` beats ``rerun`` beats ``unsure`` beats ``ignore``. A job an agent can
   repair decides the remediation even when a sibling job only needs a re-run, because a re-run
   would not make the real failure go away, and the fix attempt re-runs CI anyway; a re-run the
   evidence supports is worth more than a guess;
2. confidence × severity: a build or dependency failure stops everything after it, a failing
   test or type check is a defect, lint and formatting are the mildest, and ``general`` (we
   could not tell) ranks lowest so that a recognised failure wins;
3. the run's job order (the first failed job) breaks ties, so the choice is deterministic.

Excerpts are bounded by the engine, but a run with many failed jobs would still add up; the
primary keeps its excerpt and the others share what is left of the budget.
"""

from __future__ import annotations

from collections.abc import Sequence

from healer.models import FailureClassified, FailureDetected, Verdict
from healer.vocabulary import Action, FailureType

ACTION_RANK = {Action.FIX: 3, Action.RERUN: 2, Action.UNSURE: 1, Action.IGNORE: 0}

_MILD = 0.8
_LOW = 0.5
SEVERITY: dict[FailureType, float] = {
    FailureType.RUST_CLIPPY: _MILD,
    FailureType.FRONTEND_LINT: _MILD,
    FailureType.PYTHON_LINT: _MILD,
    FailureType.YAML_SYNTAX: 0.9,
    FailureType.RUST_TEST: 0.9,
    FailureType.FRONTEND_TEST: 0.9,
    FailureType.PYTHON_TEST: 0.9,
    FailureType.FRONTEND_TYPESCRIPT: 0.9,
    FailureType.PYTHON_TYPE: 0.9,
    FailureType.INFRA_NETWORK: 0.7,
    FailureType.INFRA_RUNNER: 0.7,
    FailureType.GENERAL: _LOW,
}
"""Anything not listed weighs 1.0 (builds, dependencies, security, deploys, git)."""

PRIMARY_EXCERPT_BYTES = 16 * 1024
OTHERS_EXCERPT_BYTES = 24 * 1024
OMITTED = "… {n} lines omitted …"


def severity(failure_type: FailureType) -> float:
    return SEVERITY.get(failure_type, 1.0)


def choose_primary(verdicts: Sequence[Verdict]) -> int:
    """Index of the primary verdict in ``verdicts`` (which must not be empty)."""
    if not verdicts:
        raise ValueError("choose_primary needs at least one verdict")
    ranked = sorted(
        range(len(verdicts)),
        key=lambda i: (
            -ACTION_RANK[verdicts[i].action],
            -(verdicts[i].confidence * severity(verdicts[i].failure_type)),
            i,
        ),
    )
    return ranked[0]


def trim_text(text: str, max_bytes: int) -> str:
    """``text`` cut at line boundaries to ``max_bytes`` of UTF-8, saying how much was left out."""
    if len(text.encode()) <= max_bytes:
        return text
    lines = text.splitlines()
    kept: list[str] = []
    used = 0
    marker_room = len(OMITTED.format(n=len(lines)).encode()) + 1
    for line in lines:
        size = len(line.encode()) + 1
        if used + size + marker_room > max_bytes:
            break
        kept.append(line)
        used += size
    omitted = len(lines) - len(kept)
    return "\n".join([*kept, OMITTED.format(n=omitted)]) if omitted else "\n".join(kept)


def fit_excerpts(verdicts: Sequence[Verdict], primary: int) -> list[Verdict]:
    """Verdicts whose excerpts add up to a bounded size; the primary's is kept first."""
    others = [i for i in range(len(verdicts)) if i != primary]
    share = OTHERS_EXCERPT_BYTES // max(1, len(others))
    fitted: list[Verdict] = []
    for i, verdict in enumerate(verdicts):
        budget = PRIMARY_EXCERPT_BYTES if i == primary else share
        excerpt = trim_text(verdict.excerpt, budget)
        fitted.append(
            verdict
            if excerpt == verdict.excerpt
            else verdict.model_copy(update={"excerpt": excerpt})
        )
    return fitted


def summarise(
    verdicts: list[Verdict], *, failure: FailureDetected, attempt: int = 1
) -> FailureClassified:
    """The payload: every verdict (excerpts fitted to the event budget) and the primary."""
    primary = choose_primary(verdicts)
    fitted = fit_excerpts(verdicts, primary)
    return FailureClassified(
        failure=failure, verdicts=fitted, primary=fitted[primary], attempt=attempt
    )
