"""Each credential shape is masked wherever text leaves Healer: the excerpt, the prompt, the
CodeRun and the stored job log."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from contexts import widgets_failure
from credentials import PEM_BODY, PRIVATE_KEY, SHAPES

from functions.spawn.coderun import build_manifest
from healer.models import (
    AttemptSummary,
    ChangedFile,
    ContextGathered,
    FailureClassified,
    PullRequestInfo,
    Verdict,
)
from healer.prompts import environment, render_prompt
from healer.roster import load_roster
from healer.stores.file import FileBlobStore
from healer.target import target_of
from healer.vocabulary import Action, Category, FailureType
from healer_classifier.engine.excerpt import render
from healer_classifier.logs import DefaultEngine, FailedJob, fetch_and_classify

SECRETS = [secret for _, _, secret in SHAPES if secret] + [PEM_BODY]
ALL_LINES = [line for _, line, _ in SHAPES] + PRIVATE_KEY.split("\n")
IDS = [shape for shape, _, secret in SHAPES if secret]


def _leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


def test_the_excerpt_masks_every_shape() -> None:
    excerpt = render(enumerate(ALL_LINES, start=1))
    assert _leaks(excerpt) == []


def _context(text: str, attempt: int = 2) -> ContextGathered:
    verdict = Verdict(
        failure_type=FailureType.RUST_BUILD,
        category=Category.RUST,
        agent="rex",
        action=Action.FIX,
        confidence=0.9,
        failing_step=text.split("\n")[0],
        job_id=90001,
        job_name=text.split("\n")[0],
        signals=[text],
        excerpt=text,
        log_key="repos/acme/widgets/runs/7001/attempt-1/jobs/90001.log",
    )
    failure = widgets_failure()
    return ContextGathered(
        classified=FailureClassified(failure=failure, verdicts=[verdict], primary=verdict),
        task_id="acme-widgets-7001",
        attempt=attempt,
        pull_request=PullRequestInfo(number=42, title=text, head_ref="feature/parser"),
        changed_files=[ChangedFile(filename=text)],
        changed_files_total=1,
        previous_attempts=[AttemptSummary(attempt=1, agent="rex", summary=text, error=text)],
    )


@pytest.mark.parametrize(("shape", "line", "secret"), [s for s in SHAPES if s[2]], ids=IDS)
def test_the_prompt_and_the_coderun_mask_each_shape(shape: str, line: str, secret: str) -> None:
    context = _context(line)
    rex = load_roster().specialists["rex"]
    prompt = render_prompt(environment(), context, rex)
    assert secret not in prompt
    manifest = build_manifest(
        target_of(context),
        rex,
        namespace="cto",
        service="healer",
        cli="claude",
        model="m-1",
        prompt=prompt,
    )
    assert secret not in json.dumps(manifest, ensure_ascii=False)


def test_the_coderun_masks_a_prompt_it_is_handed_unmasked() -> None:
    """The manifest masks its own text too: a prompt from elsewhere cannot carry a key."""
    context = _context("plain", attempt=1)
    rex = load_roster().specialists["rex"]
    raw = "\n".join(ALL_LINES)
    manifest = build_manifest(
        target_of(context), rex, namespace="cto", service="healer", cli="c", model="m", prompt=raw
    )
    assert _leaks(json.dumps(manifest)) == []


def test_a_private_key_in_a_previous_error_is_masked_in_the_retry_prompt() -> None:
    prompt = render_prompt(environment(), _context(PRIVATE_KEY), load_roster().specialists["rex"])
    assert PEM_BODY not in prompt and "q1w2e3r4" not in prompt


class _Logs:
    """A job log served in chunks that cut through lines, secrets and the masking blocks."""

    def __init__(self, data: bytes, chunk: int) -> None:
        self.data, self.chunk = data, chunk

    def stream_job_log(self, repo: str, job_id: int) -> Iterator[bytes]:
        for i in range(0, len(self.data), self.chunk):
            yield self.data[i : i + self.chunk]

    def get_job(self, repo: str, job_id: int) -> dict[str, object]:
        raise AssertionError("the log is there: the job is not looked up")


@pytest.mark.parametrize("chunk", [997, 65_536, 1 << 20])
def test_the_stored_log_masks_every_shape_across_block_boundaries(
    tmp_path: Path, chunk: int
) -> None:
    prefix = "2024-03-01T10:00:00.1234567Z "
    noise = "".join(f"{prefix}test module_{i}::case ... ok\n" for i in range(40_000))
    # The secrets sit across the masking block's 1 MiB boundary.
    head = noise.encode()[: (1 << 20) - 700]
    head = head[: head.rfind(b"\n") + 1]
    body = "".join(f"{prefix}{line}\n" for line in ALL_LINES).encode()
    data = head + body + noise.encode()[:5000] + f"{prefix}##[error]exit code 1\n".encode()
    blobs = FileBlobStore(tmp_path)
    verdict = fetch_and_classify(
        _Logs(data, chunk),
        blobs,
        DefaultEngine(),
        repository="acme/widgets",
        job=FailedJob(job_id=1, name="test"),
        log_key="repos/acme/widgets/runs/1/attempt-1/jobs/1.log",
    )
    stored = blobs.get(verdict.log_key).decode()
    assert _leaks(stored) == []
    assert stored.count("\n") == data.count(b"\n")
    assert stored.startswith(head.decode()) and stored.endswith("exit code 1\n")
