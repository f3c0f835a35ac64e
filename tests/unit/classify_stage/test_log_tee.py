"""The log goes to the blob store and the engine in one pass, in bounded memory."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from healer.errors import StoreUnavailable
from healer.models import Verdict
from healer.stores.file import FileBlobStore
from healer.vocabulary import Action, Category, FailureType
from healer_classifier.logs import QUEUE_CHUNKS, tee_into

VERDICT = Verdict(
    failure_type=FailureType.GENERAL,
    category=Category.GENERAL,
    agent="atlas",
    action=Action.FIX,
    confidence=0.5,
)


def counting(chunks: list[bytes], produced: list[int]) -> Iterator[bytes]:
    for chunk in chunks:
        produced.append(1)
        yield chunk


def test_every_byte_reaches_both_the_store_and_the_engine(tmp_path: Path) -> None:
    chunks = [f"line {i}\n".encode() * 50 for i in range(200)]
    store = FileBlobStore(tmp_path)
    seen: list[bytes] = []

    def engine(stream: Iterable[bytes]) -> Verdict:
        seen.extend(stream)
        return VERDICT

    size, verdict = tee_into(iter(chunks), lambda s: store.put_stream("a/log", s), engine)

    assert verdict is VERDICT
    assert size == sum(map(len, chunks))
    assert store.get("a/log") == b"".join(chunks) == b"".join(seen)


def test_the_reader_never_runs_far_ahead_of_a_slow_engine(tmp_path: Path) -> None:
    produced: list[int] = []
    lead: list[int] = []
    consumed = 0
    gate = threading.Event()

    def engine(stream: Iterable[bytes]) -> Verdict:
        nonlocal consumed
        for _ in stream:
            gate.wait(0.001)
            consumed += 1
            lead.append(len(produced) - consumed)
        return VERDICT

    chunks = [b"x" * 1024] * 300
    tee_into(
        counting(chunks, produced), lambda s: FileBlobStore(tmp_path).put_stream("k", s), engine
    )

    assert consumed == 300
    # Memory stays bounded: at most the queue plus the chunks in flight on each side.
    assert max(lead) <= QUEUE_CHUNKS + 2


def test_an_engine_that_stops_early_does_not_block_the_store(tmp_path: Path) -> None:
    def engine(stream: Iterable[bytes]) -> Verdict:
        next(iter(stream))
        return VERDICT

    store = FileBlobStore(tmp_path)
    size, _ = tee_into(iter([b"a"] * 100), lambda s: store.put_stream("k", s), engine)
    assert size == 100 and store.get("k") == b"a" * 100


def test_an_engine_error_is_raised_on_the_callers_thread(tmp_path: Path) -> None:
    def engine(stream: Iterable[bytes]) -> Verdict:
        for chunk in stream:
            if chunk == b"boom":
                raise RuntimeError("engine broke")
        return VERDICT

    with pytest.raises(RuntimeError, match="engine broke"):
        tee_into(
            iter([b"a", b"boom", b"c"] * 20),
            lambda s: FileBlobStore(tmp_path).put_stream("k", s),
            engine,
        )


def test_a_store_outage_propagates_and_the_engine_thread_ends(tmp_path: Path) -> None:
    def sink(stream: Iterable[bytes]) -> int:
        for i, _ in enumerate(stream):
            if i == 3:
                raise StoreUnavailable("bucket unreachable")
        return 0

    before = threading.active_count()
    with pytest.raises(StoreUnavailable):
        tee_into(iter([b"x"] * 50), sink, lambda s: (list(s), VERDICT)[1])
    assert threading.active_count() == before
