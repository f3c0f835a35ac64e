"""Leased work: one delivery at a time, progress kept, the result remembered."""

from __future__ import annotations

import pytest

from healer.state.leases import Lease, LeaseHeld, finished
from healer.state.records import Leased
from healer.stores.memory import MemoryStateStore


class Work(Lease[Leased]):
    model = Leased
    lease_seconds = 60
    keep_seconds = 3600


def test_a_held_lease_turns_others_away_until_it_runs_out() -> None:
    state, now = MemoryStateStore(), [1000.0]
    mine = Work(state, "work:1", "mine", clock=lambda: now[0])
    assert mine.acquire().lease == "mine"
    now[0] += 20
    with pytest.raises(LeaseHeld) as caught:
        Work(state, "work:1", "theirs", clock=lambda: now[0]).acquire()
    assert caught.value.status == 503 and caught.value.retry_after == 40
    assert "work:1 is being worked on by another delivery" in str(caught.value)
    now[0] += 41
    theirs = Work(state, "work:1", "theirs", clock=lambda: now[0])
    assert theirs.acquire().lease == "theirs"
    with pytest.raises(LeaseHeld, match="taken over"):  # the first holder lost it
        mine.release()


def test_finished_work_answers_its_payload_without_a_lease() -> None:
    state = MemoryStateStore()
    work = Work(state, "work:2", "mine")
    work.acquire()
    assert finished(state, "work:2", Leased) is None
    work.finish({"id": "done-1"})
    assert finished(state, "work:2", Leased) == {"id": "done-1"}
    again = Work(state, "work:2", "later").acquire()
    assert (again.state, again.lease, again.payload) == ("done", "", {"id": "done-1"})


def test_a_released_lease_can_be_taken_at_once() -> None:
    state = MemoryStateStore()
    Work(state, "work:3", "mine").acquire()
    Work(state, "work:3", "mine").release()
    assert Work(state, "work:3", "next").acquire().lease == "next"
