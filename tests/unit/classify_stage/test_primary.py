"""Choosing the primary verdict of a run, and fitting many excerpts into one small event."""

from __future__ import annotations

from healer.models import Verdict
from healer.vocabulary import Action, FailureType, category_of
from healer_classifier.primary import (
    OTHERS_EXCERPT_BYTES,
    PRIMARY_EXCERPT_BYTES,
    choose_primary,
    fit_excerpts,
    trim_text,
)


def verdict(kind: FailureType, action: Action, confidence: float, excerpt: str = "") -> Verdict:
    return Verdict(
        failure_type=kind,
        category=category_of(kind),
        agent="a",
        action=action,
        confidence=confidence,
        excerpt=excerpt,
    )


def test_an_agent_fix_beats_a_more_confident_rerun() -> None:
    verdicts = [
        verdict(FailureType.INFRA_NETWORK, Action.RERUN, 0.99),
        verdict(FailureType.FRONTEND_LINT, Action.FIX, 0.6),
    ]
    assert choose_primary(verdicts) == 1


def test_a_rerun_beats_ignore() -> None:
    verdicts = [
        verdict(FailureType.GENERAL, Action.IGNORE, 1.0),
        verdict(FailureType.INFRA_NETWORK, Action.RERUN, 0.3),
    ]
    assert choose_primary(verdicts) == 1


def test_severity_weighs_a_build_over_an_equally_confident_lint() -> None:
    verdicts = [
        verdict(FailureType.RUST_CLIPPY, Action.FIX, 0.9),
        verdict(FailureType.RUST_BUILD, Action.FIX, 0.9),
    ]
    assert choose_primary(verdicts) == 1


def test_confidence_still_wins_over_a_small_severity_gap() -> None:
    verdicts = [
        verdict(FailureType.PYTHON_TEST, Action.FIX, 0.95),
        verdict(FailureType.PYTHON_DEPS, Action.FIX, 0.4),
    ]
    assert choose_primary(verdicts) == 0


def test_ties_go_to_the_first_failed_job() -> None:
    verdicts = [verdict(FailureType.RUST_TEST, Action.FIX, 0.8)] * 3
    assert choose_primary(verdicts) == 0


def test_trim_text_cuts_at_lines_and_says_how_many_were_left_out() -> None:
    text = "\n".join(f"é line {i:04d}" for i in range(1000))
    cut = trim_text(text, 2000)
    assert len(cut.encode()) <= 2000
    assert cut.startswith("é line 0000\n")
    kept = cut.count("é line")
    assert cut.endswith(f"… {1000 - kept} lines omitted …")
    cut.encode().decode("utf-8")  # whole characters only


def test_short_text_is_left_alone() -> None:
    assert trim_text("one\ntwo", 100) == "one\ntwo"


def test_fit_excerpts_keeps_the_primary_and_shares_the_rest() -> None:
    big = "\n".join("x" * 99 for _ in range(400))  # 40 KB
    verdicts = [verdict(FailureType.RUST_TEST, Action.FIX, 0.5, big) for _ in range(6)]
    fitted = fit_excerpts(verdicts, primary=2)
    sizes = [len(v.excerpt.encode()) for v in fitted]
    assert sizes[2] <= PRIMARY_EXCERPT_BYTES and sizes[2] > PRIMARY_EXCERPT_BYTES - 200
    assert sum(sizes) - sizes[2] <= OTHERS_EXCERPT_BYTES
    assert all(s <= OTHERS_EXCERPT_BYTES // 5 for i, s in enumerate(sizes) if i != 2)
