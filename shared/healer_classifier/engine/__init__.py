"""The classification engine: a CI log in, a verdict out (pure, no I/O).

``classify_log`` streams the log once in bounded memory (``scan``), splits it into steps
(``steps``), weighs the evidence (``scoring``) and builds the excerpt and fingerprint.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from healer.models import Verdict
from healer.roster import Roster, load_roster
from healer.secrets import mask
from healer.vocabulary import FailureType, category_of
from healer_classifier.engine.excerpt import render
from healer_classifier.engine.fingerprint import fingerprint
from healer_classifier.engine.scan import Scanner
from healer_classifier.engine.scoring import Scoring, action_for, context_scores, decide
from healer_classifier.engine.steps import CONTEXT_AFTER, CONTEXT_BEFORE, Step

__all__ = ["classify_log", "classify_names"]

NAMES_ONLY_CAP = 0.2


def classify_log(
    chunks: Iterable[bytes | str],
    *,
    job_name: str = "",
    workflow_name: str = "",
    changed_paths: Sequence[str] = (),
    roster: Roster | None = None,
) -> Verdict:
    """Name the failure in a job log given as chunks of bytes or text."""
    scanner = Scanner()
    for chunk in chunks:
        scanner.feed(chunk)
    tracker = scanner.close()
    decision = decide(
        tracker, job_name=job_name, workflow_name=workflow_name, changed_paths=changed_paths
    )
    return _verdict(decision, roster)


def classify_names(
    *,
    job_name: str = "",
    workflow_name: str = "",
    step_name: str = "",
    changed_paths: Sequence[str] = (),
    roster: Roster | None = None,
) -> Verdict:
    """A low-confidence verdict from names and paths alone, for when no log can be had."""
    scores, notes = context_scores(
        command=step_name,
        job_name=job_name,
        workflow_name=workflow_name,
        changed_paths=changed_paths,
    )
    signals = ["no log available: decided from names and paths only"]
    if scores:
        winner = max(scores.items(), key=lambda kv: kv[1])[0]
        confidence = min(NAMES_ONLY_CAP, round(0.05 + scores[winner] / 10, 2))
        signals.extend(notes[:4])
    else:
        winner, confidence = FailureType.GENERAL, 0.05
        signals.append("no name or path suggests a failure type")
    decision = Scoring(winner, action_for(winner, confidence), confidence, None, signals)
    verdict = _verdict(decision, roster)
    return verdict.model_copy(update={"failing_step": step_name})


def _verdict(decision: Scoring, roster: Roster | None) -> Verdict:
    category = category_of(decision.failure_type)
    agent = (roster or load_roster()).for_category(category).key
    step = decision.step
    key_lines = [h.text for h in decision.key_hits]
    if not key_lines and step is not None:
        key_lines = [step.lines[n] for n in step.tail[-3:] if n in step.lines]
    return Verdict(
        failure_type=decision.failure_type,
        category=category,
        agent=agent,
        action=decision.action,
        confidence=decision.confidence,
        failing_step=step.name if step is not None else "",
        signals=[mask(s) for s in decision.signals],
        excerpt=_excerpt(step, decision) if step is not None else "",
        fingerprint=fingerprint(decision.failure_type.value, key_lines)
        if key_lines or step is not None
        else "",
    )


def _excerpt(step: Step, decision: Scoring) -> str:
    wanted: set[int] = set(step.tail)
    winner = decision.failure_type
    chosen = [h for h in step.hits if h.type is winner] or step.hits
    for hit in chosen[:25]:
        wanted.update(range(hit.line_no - CONTEXT_BEFORE, hit.line_no + CONTEXT_AFTER + 1))
    numbered = [(n, step.lines[n]) for n in sorted(wanted) if n in step.lines]
    header = f"[step] {step.name}"
    if step.exit_code not in (None, 0):
        header += f" (exit code {step.exit_code})"
    return render(numbered, header=header, first=step.start_line if step.name else None)
