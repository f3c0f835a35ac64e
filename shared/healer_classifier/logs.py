"""Fetch a failed job's log into the blob store and classify it in the same pass.

The log arrives as a stream of chunks; the blob store and the classification engine each
want to pull from an iterable. One of them runs on a worker thread fed by a small bounded
queue, so the log is read from GitHub exactly once and never held whole in memory. What is
stored is masked on the way (``healer.secrets.mask_stream``, in blocks cut at line ends): the
agent is pointed at the stored log, so it must hold no credential the job printed.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, cast

if TYPE_CHECKING:
    from healer.models import Verdict
    from healer.stores.blob import BlobStore

QUEUE_CHUNKS = 8
"""Chunks buffered between the reader and the engine: bounds memory to a few hundred KiB."""

_DONE = object()


class LogSource(Protocol):
    """The GitHub calls this module needs (``healer.github.client.GitHubClient`` has them)."""

    def stream_job_log(self, repo: str, job_id: int) -> Iterator[bytes]: ...

    def get_job(self, repo: str, job_id: int) -> dict[str, object]: ...


class Engine(Protocol):
    """The classification engine's two entry points (``healer_classifier.engine``)."""

    def classify_log(
        self,
        chunks: Iterable[bytes | str],
        *,
        job_name: str = "",
        workflow_name: str = "",
        changed_paths: Sequence[str] = (),
    ) -> Verdict: ...

    def classify_names(
        self,
        *,
        job_name: str = "",
        workflow_name: str = "",
        step_name: str = "",
        changed_paths: Sequence[str] = (),
    ) -> Verdict: ...


@dataclass(frozen=True)
class FailedJob:
    """One failed job of a run: what the engine and the blob key need."""

    job_id: int
    name: str
    failed_step: str = ""


class DefaultEngine:
    """Adapter over ``healer_classifier.engine``, imported on first use (cold start)."""

    def classify_log(
        self,
        chunks: Iterable[bytes | str],
        *,
        job_name: str = "",
        workflow_name: str = "",
        changed_paths: Sequence[str] = (),
    ) -> Verdict:
        from healer_classifier.engine import classify_log

        return classify_log(
            chunks, job_name=job_name, workflow_name=workflow_name, changed_paths=changed_paths
        )

    def classify_names(
        self,
        *,
        job_name: str = "",
        workflow_name: str = "",
        step_name: str = "",
        changed_paths: Sequence[str] = (),
    ) -> Verdict:
        from healer_classifier.engine import classify_names

        return classify_names(
            job_name=job_name,
            workflow_name=workflow_name,
            step_name=step_name,
            changed_paths=changed_paths,
        )


def tee_into(
    chunks: Iterable[bytes],
    sink: Callable[[Iterable[bytes]], int],
    consumer: Callable[[Iterable[bytes]], Verdict],
) -> tuple[int, Verdict]:
    """Feed every chunk to ``sink`` (the blob store) and ``consumer`` (the engine) in one pass.

    The consumer runs on a worker thread reading a bounded queue; the sink pulls on this
    thread. An error in either is raised here after the worker has stopped.
    """
    pipe: queue.Queue[object] = queue.Queue(maxsize=QUEUE_CHUNKS)
    outcome: dict[str, object] = {}
    finished = threading.Event()

    def drain() -> Iterator[bytes]:
        while (item := pipe.get()) is not _DONE:
            assert isinstance(item, bytes)
            yield item
        finished.set()

    def work() -> None:
        try:
            outcome["verdict"] = consumer(drain())
        except BaseException as exc:
            outcome["error"] = exc
        finally:
            # The engine may stop before the end: keep draining so the reader never blocks.
            while not finished.is_set() and pipe.get() is not _DONE:
                pass

    def forward() -> Iterator[bytes]:
        for chunk in chunks:
            if chunk:
                pipe.put(chunk)
                yield chunk

    worker = threading.Thread(target=work, name="log-engine", daemon=True)
    worker.start()
    try:
        size = sink(forward())
    finally:
        pipe.put(_DONE)
        worker.join()
    if "error" in outcome:
        error = outcome["error"]
        assert isinstance(error, BaseException)
        raise error
    return size, cast("Verdict", outcome["verdict"])


def fetch_and_classify(
    github: LogSource,
    blobs: BlobStore,
    engine: Engine,
    *,
    repository: str,
    job: FailedJob,
    log_key: str,
    workflow_name: str = "",
    changed_paths: Sequence[str] = (),
) -> Verdict:
    """Store the job's log at ``log_key`` and classify it; names only if the log is gone.

    ``GitHubUnavailable`` and ``StoreUnavailable`` propagate: the broker retries later.
    """
    from healer.github.exceptions import LogUnavailable
    from healer.secrets import mask_stream

    def classify(stream: Iterable[bytes]) -> Verdict:
        return engine.classify_log(
            stream, job_name=job.name, workflow_name=workflow_name, changed_paths=changed_paths
        )

    try:
        size, verdict = tee_into(
            github.stream_job_log(repository, job.job_id),
            lambda stream: blobs.put_stream(
                log_key, mask_stream(stream), content_type="text/plain; charset=utf-8"
            ),
            classify,
        )
    except LogUnavailable as exc:
        return names_only(
            github,
            engine,
            repository=repository,
            job=job,
            workflow_name=workflow_name,
            changed_paths=changed_paths,
            why=str(exc),
        )
    return verdict.model_copy(
        update={
            "job_id": job.job_id,
            "job_name": job.name,
            "log_key": log_key,
            "signals": [*verdict.signals, f"log stored ({size} bytes)"],
        }
    )


def names_only(
    github: LogSource,
    engine: Engine,
    *,
    repository: str,
    job: FailedJob,
    workflow_name: str,
    changed_paths: Sequence[str] = (),
    why: str = "",
) -> Verdict:
    """A low-confidence verdict from the job, step and workflow names alone."""
    step = job.failed_step or failed_step_of(github, repository, job.job_id)
    verdict = engine.classify_names(
        job_name=job.name, workflow_name=workflow_name, step_name=step, changed_paths=changed_paths
    )
    reason = f"log unavailable: {why}" if why else "log unavailable"
    return verdict.model_copy(
        update={
            "job_id": job.job_id,
            "job_name": job.name,
            "failing_step": verdict.failing_step or step,
            "confidence": min(verdict.confidence, 0.2),
            "signals": [reason, *verdict.signals],
            "log_key": "",
        }
    )


def failed_step_of(github: LogSource, repository: str, job_id: int) -> str:
    """The failed step's name from the job's details; empty when GitHub cannot say."""
    from healer.github.exceptions import GitHubError

    try:
        job = github.get_job(repository, job_id)
    except GitHubError:
        return ""
    return first_failed_step(job)


def first_failed_step(job: dict[str, object]) -> str:
    steps = job.get("steps")
    if not isinstance(steps, list):
        return ""
    for step in steps:
        if isinstance(step, dict) and step.get("conclusion") in ("failure", "timed_out"):
            return str(step.get("name", ""))
    return ""
