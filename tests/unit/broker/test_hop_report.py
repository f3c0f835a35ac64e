"""How hops print: one readable line each, verdicts, and the summary counts."""

from __future__ import annotations

from cloudevents.http import CloudEvent

from healer_dev.broker import report
from healer_dev.broker.hops import Hop, Outcome


def test_reply_and_skip_lines() -> None:
    reply = Hop(
        "ingest",
        "dev.healer.github.webhook",
        "72d3162e-cc78",
        200,
        Outcome.REPLY,
        reply_type="dev.healer.failure.detected",
        reply_id="1a2b3c4d5e6f",
    )
    skip = Hop(
        "ingest",
        "dev.healer.github.webhook",
        "abc",
        202,
        Outcome.SKIPPED,
        reason="sender x[bot] is a bot",
    )
    assert report.lines(report.record(reply)) == [
        "[ingest] dev.healer.github.webhook 72d3162e… → 200 dev.healer.failure.detected 1a2b3c4d…"
    ]
    assert report.lines(report.record(skip)) == [
        "[ingest] dev.healer.github.webhook abc → 202 skipped: sender x[bot] is a bot"
    ]


def test_failures_mention_attempts_and_dead_lettering() -> None:
    hop = Hop(
        "classify", "t", "i", 503, Outcome.FAILED, reason="down", attempts=6, dead_lettered=True
    )
    (line,) = report.lines(report.record(hop))
    assert line == "[classify] t i → 503 failed after 6 attempts: down (dead-lettered)"
    assert report.failed(report.record(hop))


def test_classified_reply_shows_the_verdict() -> None:
    primary = {
        "failure_type": "rust_test",
        "agent": "rex",
        "action": "fix",
        "confidence": 0.9,
        "failing_step": "Run cargo test",
    }
    reply = CloudEvent(
        {"type": "dev.healer.failure.classified", "source": "s", "id": "r"}, {"primary": primary}
    )
    hop = Hop(
        "classify",
        "dev.healer.failure.detected",
        "i",
        200,
        Outcome.REPLY,
        reply_type="dev.healer.failure.classified",
        reply_id="r",
        reply=reply,
    )
    rec = report.record(hop)
    assert rec["verdict"]["failure_type"] == "rust_test"
    assert (
        report.lines(rec)[1]
        == "    verdict: rust_test → rex (fix, confidence 0.90), failing step: Run cargo test"
    )


def test_summary_counts() -> None:
    hops = [
        Hop("ingest", "t", "1", 200, Outcome.REPLY, reply_type="x", reply_id="y"),
        Hop("ingest", "t", "2", 202, Outcome.SKIPPED, reason="r"),
        Hop("ingest", "t", "3", 400, Outcome.REJECTED, dead_lettered=True),
        Hop("status", "t", "3", 202, Outcome.DEAD_LETTER, reason="stored"),
        Hop("classify", "x", "y", None, Outcome.UNDELIVERABLE, reason="missing"),
    ]
    records = [report.record(h) for h in hops]
    assert report.summary(3, records) == (
        "3 deliveries, 1 emitted, 1 skipped, 1 failed, 1 undeliverable (1 dead-lettered)"
    )
    assert [report.failed(r) for r in records] == [False, False, True, False, False]
