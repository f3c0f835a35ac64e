"""Dead letters come back: an outage dead-letters work, the CLI lists, shows and replays it
through the same pipeline once the outage ends, and the work finishes exactly once."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from functions.status import deadletters
from healer.services import Services
from healer.settings import Settings
from healer.stores.file import FileBlobStore
from healer.stores.memory import MemoryStateStore
from healer_dev.broker.hops import Outcome
from healer_dev.broker.pipeline import Pipeline, in_process, offline_settings
from healer_dev.broker.replay import load_delivery, to_cloudevent
from healer_dev.broker.transport import Answer, Sender
from healer_dev.cli import main

ROOT = Path(__file__).resolve().parents[2]
DELIVERY = ROOT / "examples" / "deliveries" / "workflow_job-failure.json"


class Outage:
    """The spawn Service answering 503 (a failing revision) while ``down``; else the real one."""

    def __init__(self, real: Sender, service: str) -> None:
        self.real, self.service, self.down, self.calls = real, service, True, 0

    def has(self, service: str) -> bool:
        return self.real.has(service)

    def url(self, service: str, path: str) -> str:
        return self.real.url(service, path)

    def send(self, service: str, path: str, headers: Mapping[str, str], body: bytes) -> Answer:
        if service == self.service:
            self.calls += 1
            if self.down:
                problem = b'{"title":"unavailable","detail":"spawn is restarting"}'
                return Answer(503, {"retry-after": "1"}, problem)
        return self.real.send(service, path, headers, body)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HEALER_CONFIG", str(tmp_path / "absent.json"))
    monkeypatch.setenv("HEALER_BLOB_DIR", str(tmp_path / "blobs"))
    monkeypatch.setenv("HEALER_CODERUN_OUTBOX", str(tmp_path / "outbox"))
    monkeypatch.chdir(tmp_path)  # no .healer/dev.json here: the CLI runs in-process
    return tmp_path


@pytest.fixture
def services(env: Path) -> Services:
    settings = offline_settings(Settings.load(), ROOT)
    return Services(settings, state=MemoryStateStore(), blobs=FileBlobStore(env / "blobs"))


@pytest.fixture
def pipeline(services: Services) -> Iterator[tuple[Pipeline, Outage]]:
    built = in_process(services, root=ROOT)
    outage = Outage(built.broker.sender, "spawn")
    built.broker.sender = outage
    yield built, outage
    built.close()


def coderuns(env: Path) -> list[str]:
    outbox = env / "outbox"
    return sorted(p.name for p in outbox.iterdir()) if outbox.is_dir() else []


def test_an_outage_is_dead_lettered_then_replayed_and_the_work_finishes_once(
    pipeline: tuple[Pipeline, Outage], services: Services, env: Path
) -> None:
    built, outage = pipeline
    hops = built.broker.publish(to_cloudevent(load_delivery(DELIVERY)))
    failed = next(h for h in hops if h.stage == "spawn")
    assert failed.outcome == Outcome.FAILED and failed.dead_lettered
    assert coderuns(env) == []
    (key,) = services.blobs.list(deadletters.PREFIX)
    stored = deadletters.read(services.blobs, key)
    assert stored["error"]["reason"].startswith("HTTP 503 from http://spawn.")
    assert stored["error"]["reason"].endswith(": spawn is restarting")

    outage.down = False
    for _ in range(2):  # replayed twice: the second is a duplicate the stages absorb
        event = deadletters.to_event(stored)
        assert "knativeerrorcode" not in event.get_attributes()
        replayed = built.broker.publish(event)
        assert not any(h.failed for h in replayed)
        assert replayed[0].stage == "spawn" and replayed[0].status == 200
    assert len(coderuns(env)) == 1


def test_the_cli_lists_shows_replays_and_clears_dead_letters(
    pipeline: tuple[Pipeline, Outage],
    services: Services,
    env: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    built, outage = pipeline
    event = to_cloudevent(load_delivery(DELIVERY))
    built.broker.publish(event)
    built.broker.publish(event)  # the same failure again: a second letter, not an overwrite
    keys = services.blobs.list(deadletters.PREFIX)
    assert len(keys) == 2
    capsys.readouterr()

    assert main(["deadletters", "list", "--json"]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {d["key"] for d in listed} == set(keys)
    assert all(d["code"] == 503 and "spawn is restarting" in d["reason"] for d in listed)
    assert main(["deadletters", "list"]) == 0
    assert "2 dead letters in" in capsys.readouterr().out

    first = listed[0]["letter"]
    assert main(["deadletters", "show", first]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["key"] == listed[0]["key"] and shown["type"] == "dev.healer.context.gathered"

    assert main(["deadletters", "show", "no-such-letter"]) == 2
    assert "no dead letter 'no-such-letter'" in capsys.readouterr().err

    # The outage is over: replay both letters of the event through an in-process pipeline.
    outage.down = False
    event_id = listed[0]["id"]
    assert main(["deadletters", "replay", event_id]) == 0
    out = capsys.readouterr().out
    assert "[spawn]" in out and out.count("replayed; removed") == 2
    assert services.blobs.list(deadletters.PREFIX) == []
    assert len(coderuns(env)) == 1

    built.broker.publish(event)  # a letter again (spawn is reached through the outage double)
    assert main(["deadletters", "clear", "--all"]) == 0
    assert services.blobs.list(deadletters.PREFIX) == []


def test_healer_replay_accepts_a_dead_letter_file(
    pipeline: tuple[Pipeline, Outage], services: Services, env: Path
) -> None:
    built, _ = pipeline
    built.broker.publish(to_cloudevent(load_delivery(DELIVERY)))
    (key,) = services.blobs.list(deadletters.PREFIX)
    letter = env / "letter.json"
    letter.write_bytes(services.blobs.get(key))
    assert main(["replay", str(letter)]) == 0
    assert len(coderuns(env)) == 1


def test_a_replay_that_fails_again_keeps_the_letter(
    pipeline: tuple[Pipeline, Outage], services: Services, env: Path
) -> None:
    built, _ = pipeline
    built.broker.publish(to_cloudevent(load_delivery(DELIVERY)))
    (key,) = services.blobs.list(deadletters.PREFIX)
    stored = json.loads(services.blobs.get(key))
    stored["attributes"]["type"] = "dev.healer.context.gathered"
    stored["data"] = {"not": "a context"}  # spawn rejects it: the replay fails
    services.blobs.put(key, json.dumps(stored).encode())
    assert main(["deadletters", "replay", deadletters.letter_id(key)]) == 1
    assert services.blobs.list(deadletters.PREFIX)[0] == key
