"""Cold start of every stage beside functions-framework's hello-world, as the stages will run.

Functions scale to zero, so a request arriving at a scaled-to-zero Service waits for the
interpreter, the imports, readiness and the first handling. For each stage, in two
configurations, this measures over fresh processes (medians):

- ready: process start until ``/health/readiness`` answers 200 (the probe Knative waits for);
- first: the first real request after that (its status is printed too);
- cold: process start until that first real answer;
- ratio: cold divided by hello-world's cold, measured the same way in the same run.

A second yardstick, ``floor``, is hello-world that first imports pydantic (one small model
validated) and httpx (a transport built): what every stage but ingest and status must load
before doing anything of its own, with no Healer code at all.

Configurations:

- embedded: the defaults (in-process memory state, blobs in a folder, CodeRuns to an outbox);
- production: state in a real ``redis-server``, blobs in S3 (moto's server), CodeRuns created
  through the Kubernetes API (the project's test API server), all three on loopback.

The first real request of each stage is the one it gets when the recorded failing job
(``examples/deliveries/workflow_job-failure.json``) goes through the pipeline with a failing
agent until escalation: captured once in-process, offline (recorded GitHub responses). In the
production configuration the shared stores first get what the earlier stages wrote (their
requests replayed in-process), so each stage does the work it would do in a cluster; the
embedded state store lives in one process, so there each stage starts from empty state.
status's first request is ``GET /api/status``.

``--image TAG`` also measures the production configuration inside the built image: each case
is ``podman run`` (host network, the servers on loopback) until the readiness probe answers, then
the request, so the figures include starting the container, as a scaled-to-zero pod does.
Bytecode is compiled (a ``PYTHONPYCACHEPREFIX`` warmed by one unmeasured run per case), as it
is in the image.

Usage: ``.venv/bin/python bench/cold_start.py [--runs 5] [--stage ingest] [--image healer:dev]``
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
HELLO = ROOT / "bench" / "hello_main.py"
FLOOR = ROOT / "bench" / "floor_main.py"
DELIVERY = ROOT / "examples" / "deliveries" / "workflow_job-failure.json"
RECORDED_GITHUB = ROOT / "examples" / "github"
STAGES = ["ingest", "classify", "gather", "spawn", "completion-check", "escalate", "status"]
TARGET = 1.5
AWS_SETTINGS = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_DEFAULT_REGION",
    "AWS_EC2_METADATA_DISABLED",
)
CONTAINERS_CONF = (
    '[engine]\nruntime = "runc"\n\n'
    '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n'
)


@dataclass(frozen=True)
class Request:
    """One HTTP request a stage received: what the broker (or a reader) sent it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Result:
    ready: list[float] = field(default_factory=list)
    first: list[float] = field(default_factory=list)
    statuses: set[int] = field(default_factory=set)

    @property
    def cold(self) -> float:
        return statistics.median(r + f for r, f in zip(self.ready, self.first, strict=True))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing listens on 127.0.0.1:{port}") from None
            time.sleep(0.02)


def webhook_request() -> Request:
    """The CloudEvent the Argo sensor posts for the recorded failed job."""
    delivery = json.loads(DELIVERY.read_text(encoding="utf-8"))
    headers = {k: [v] for k, v in delivery["headers"].items()}
    body = json.dumps({"headers": headers, "body": delivery["body"], "metadata": {}}).encode()
    return Request(
        "POST",
        "/",
        {
            "ce-specversion": "1.0",
            "ce-id": delivery["headers"]["X-GitHub-Delivery"],
            "ce-source": "https://github.com/acme/widgets",
            "ce-type": "dev.healer.github.webhook",
            "content-type": "application/json",
        },
        body,
    )


class RecordingSender:
    """The in-process sender, keeping every request in delivery order."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.sent: list[tuple[str, Request]] = []

    def has(self, service: str) -> bool:
        return bool(self.inner.has(service))

    def url(self, service: str, path: str) -> str:
        return str(self.inner.url(service, path))

    def send(self, service: str, path: str, headers: Any, body: bytes) -> Any:
        self.sent.append((service, Request("POST", path, dict(headers), body)))
        return self.inner.send(service, path, headers, body)


def capture_pipeline(settings: Any) -> list[tuple[str, Request]]:
    """Every request each stage gets for the recorded failure, a failing agent, escalation."""
    from cloudevents.http import from_http

    from healer.services import Services
    from healer_dev.broker.finish import play_outcomes
    from healer_dev.broker.pipeline import in_process

    services = Services(settings)
    pipeline = in_process(services)
    recorder = RecordingSender(pipeline.sender)
    pipeline.broker.sender = recorder
    try:
        hook = webhook_request()
        hops = pipeline.broker.publish(from_http(hook.headers, hook.body))
        play_outcomes(pipeline.broker.publish, hops, "failed", services.state)
    finally:
        pipeline.close()
    return recorder.sent


def replay_in_process(
    settings: Any,
    requests: list[tuple[str, Request]],
    prepare: Callable[[Request], None] = lambda request: None,
) -> None:
    """What earlier stages wrote to the shared stores: their requests, handled in-process."""
    from healer.services import Services
    from healer_dev.broker.pipeline import in_process

    pipeline = in_process(Services(settings))
    try:
        for service, request in requests:
            prepare(request)
            pipeline.sender.send(service, request.path, request.headers, request.body)
    finally:
        pipeline.close()


def coderun_status(api_url: str, request: Request) -> None:
    """For a CodeRun update, write the status it reports into the API server first, as the
    platform's controller does: completion-check reads the CodeRun back and acts only when the
    stored phase is the one the event claims."""
    if request.headers.get("ce-type") != "dev.knative.apiserver.resource.update":
        return
    coderun = json.loads(request.body)
    metadata = coderun["metadata"]
    url = (
        f"{api_url}/apis/agents.platform/v1/namespaces/{metadata['namespace']}"
        f"/coderuns/{metadata['name']}/status"
    )
    response = httpx.patch(
        url,
        content=json.dumps({"status": coderun.get("status", {})}),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    response.raise_for_status()


def first_requests(sent: list[tuple[str, Request]]) -> dict[str, tuple[int, Request]]:
    """Each stage's first request and how many requests came before it."""
    firsts: dict[str, tuple[int, Request]] = {}
    for index, (service, request) in enumerate(sent):
        firsts.setdefault(service, (index, request))
    firsts["status"] = (len(sent), Request("GET", "/api/status", {}, b""))
    missing = set(STAGES) - set(firsts)
    if missing:
        raise RuntimeError(f"the recorded pipeline never reached {sorted(missing)}")
    return firsts


@dataclass
class Config:
    """A configuration: environment for the stage processes and how to reset shared state."""

    name: str
    env: dict[str, str]
    settings: Any
    reset: Callable[[], None] = lambda: None
    shared_state: bool = False
    # Done before a request is handled: what the platform does first (the CodeRun controller
    # writes a CodeRun's status before the ApiServerSource reports it).
    prepare: Callable[[Request], None] = lambda request: None


def embedded_config(scratch: Path) -> Config:
    from healer.settings import Settings
    from healer_dev.broker.pipeline import offline_settings

    blobs, outbox = scratch / "blobs", scratch / "outbox"
    env = {
        "HEALER_BLOB_DIR": str(blobs),
        "HEALER_CODERUN_OUTBOX": str(outbox),
        "HEALER_GITHUB_RECORDED_DIR": str(RECORDED_GITHUB),
    }

    def reset() -> None:
        shutil.rmtree(blobs, ignore_errors=True)
        shutil.rmtree(outbox, ignore_errors=True)

    settings = offline_settings(
        Settings(blob_dir=str(blobs), coderun_outbox=str(outbox)), ROOT, str(blobs)
    )
    return Config("embedded", env, settings, reset)


@contextmanager
def production_config(scratch: Path) -> Iterator[Config]:
    """redis-server, moto's S3 server and the test Kubernetes API server, on loopback."""
    # The test API server and the CodeRun schema it enforces (pytest puts tests/support on the
    # path through its configuration; a plain script must do it itself).
    for folder in ("support", "integration"):
        sys.path.insert(0, str(ROOT / "tests" / folder))
    from k8s_api import KubeApi
    from moto.server import ThreadedMotoServer

    from healer.settings import Settings

    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed (scripts/setup.sh installs it)")
    aws = {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    os.environ.update(aws)
    redis_port, s3_port = free_port(), free_port()
    redis = subprocess.Popen(
        [binary, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", ""],
        stdout=subprocess.DEVNULL,
    )
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's request log
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=s3_port, verbose=False)
    moto.start()
    try:
        wait_for_port(redis_port)
        wait_for_port(s3_port)
        with KubeApi() as kube:
            env = {
                **aws,
                "HEALER_STATE_BACKEND": "redis",
                "HEALER_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
                "HEALER_BLOB_BACKEND": "s3",
                "HEALER_S3_ENDPOINT": f"http://127.0.0.1:{s3_port}",
                "HEALER_S3_BUCKET": "healer-bench",
                "HEALER_CODERUN_BACKEND": "kubernetes",
                "HEALER_KUBE_API_URL": kube.url,
                "HEALER_CODERUN_OUTBOX": str(scratch / "outbox"),
                "HEALER_GITHUB_RECORDED_DIR": str(RECORDED_GITHUB),
            }
            settings = Settings.load(environ={**env, "HEALER_CONFIG": str(scratch / "absent")})

            def reset() -> None:
                import boto3  # bench only (dev extra): the stores use botocore alone
                import redis as redis_client

                redis_client.Redis(port=redis_port).flushall()
                s3 = boto3.resource("s3", endpoint_url=env["HEALER_S3_ENDPOINT"])
                bucket = s3.Bucket(env["HEALER_S3_BUCKET"])
                if bucket.creation_date is None:
                    bucket.create()
                bucket.objects.all().delete()
                kube.reset()

            def prepare(request: Request) -> None:
                coderun_status(kube.url, request)

            yield Config("production", env, settings, reset, shared_state=True, prepare=prepare)
    finally:
        moto.stop()
        redis.terminate()
        redis.wait(10)


def serve_and_measure(
    target: str, source: Path, env: dict[str, str], request: Request
) -> tuple[float, float, int]:
    """Start a server; time it to its first 200 on the readiness probe, then the request."""
    port = free_port()
    start = time.perf_counter()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "functions_framework",
            "--target",
            target,
            "--source",
            str(source),
            "--signature-type",
            "http",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        with httpx.Client(timeout=30) as client:
            ready = wait_ready(client, url, start, lambda: proc.poll() is not None)
            t = time.perf_counter()
            response = client.request(
                request.method, url + request.path, headers=request.headers, content=request.body
            )
            first = time.perf_counter() - t
    except RuntimeError as exc:
        proc.kill()
        raise RuntimeError(f"{target}: {exc}\n{proc.communicate()[1].decode()[-2000:]}") from exc
    finally:
        proc.terminate()
        proc.wait(10)
    return ready, first, response.status_code


def wait_ready(client: httpx.Client, url: str, start: float, died: Callable[[], bool]) -> float:
    while True:
        try:
            if client.get(url + "/health/readiness").status_code == 200:
                return time.perf_counter() - start
        except httpx.TransportError:
            pass
        if died():
            raise RuntimeError("the server exited before it was ready")
        if time.perf_counter() - start > 60:
            raise RuntimeError("not ready within 60 s")
        time.sleep(0.01)


def stage_source(stage: str) -> tuple[str, Path]:
    package = stage.replace("-", "_")
    return package, ROOT / "functions" / package / "main.py"


Serve = Callable[[str, str, Path, dict[str, str], Request], tuple[float, float, int]]


def in_process(
    name: str, target: str, source: Path, env: dict[str, str], request: Request
) -> tuple[float, float, int]:
    return serve_and_measure(target, source, env, request)


def measure(
    config: Config,
    base_env: dict[str, str],
    stages: list[str],
    firsts: dict[str, tuple[int, Request]],
    sent: list[tuple[str, Request]],
    runs: int,
    serve: Serve = in_process,
) -> dict[str, Result]:
    env = {**base_env, **config.env}
    results: dict[str, Result] = {}
    hello = Request("GET", "/", {}, b"")
    cases: list[tuple[str, str, Path, Request, int]] = [
        ("hello", "hello", HELLO, hello, 0),
        ("floor", "floor", FLOOR, hello, 0),
    ]
    for stage in stages:
        target, source = stage_source(stage)
        before, request = firsts[stage]
        cases.append((stage, target, source, request, before))
    # Round-robin over the cases, so a change in the machine's load during the run weighs on
    # hello-world and the stages alike and the ratios stay fair.
    for n in range(runs + 1):  # the first round warms the bytecode cache, unmeasured
        for name, target, source, request, before in cases:
            result = results.setdefault(name, Result())
            config.reset()
            if config.shared_state and before:
                replay_in_process(config.settings, sent[:before], config.prepare)
            config.prepare(request)
            ready, first, status = serve(name, target, source, env, request)
            if status >= 500:
                raise RuntimeError(f"{name} ({config.name}) answered {status} to its request")
            if n:
                result.ready.append(ready)
                result.first.append(first)
                result.statuses.add(status)
    return results


def in_image(image: str, conf: str) -> Serve:
    """``podman run`` of ``image`` until its readiness probe answers, then the request: each
    stage as its entry point starts it (``HEALER_FUNCTION``), hello-world and the floor through
    the image's functions-framework. Only the configuration's settings enter the container
    (host networking reaches the servers on loopback; recorded GitHub is mounted read-only)."""

    def serve(
        name: str, target: str, source: Path, env: dict[str, str], request: Request
    ) -> tuple[float, float, int]:
        port = free_port()
        container = f"healer-bench-{uuid.uuid4().hex[:8]}"
        settings = {k: v for k, v in env.items() if k.startswith("HEALER_") or k in AWS_SETTINGS}
        settings.pop("HEALER_CODERUN_OUTBOX", None)
        command = ["podman", "run", "--detach", "--name", container, "--network", "host"]
        command += ["-e", f"PORT={port}", "-v", f"{RECORDED_GITHUB}:/recorded:ro"]
        if "HEALER_GITHUB_RECORDED_DIR" in settings:
            settings["HEALER_GITHUB_RECORDED_DIR"] = "/recorded"
        for key, value in settings.items():
            command += ["-e", f"{key}={value}"]
        if name in STAGES:
            command += ["-e", f"HEALER_FUNCTION={name}", image]
        else:
            command += ["--entrypoint", "functions-framework"]
            command += ["-v", f"{source}:/bench/{source.name}:ro", image]
            command += ["--target", target, "--source", f"/bench/{source.name}"]
            command += ["--signature-type", "http", "--port", str(port)]
        podman_env = {**os.environ, "CONTAINERS_CONF": conf}
        start = time.perf_counter()
        subprocess.run(command, env=podman_env, check=True, capture_output=True)
        try:
            with httpx.Client(timeout=30) as client:
                url = f"http://127.0.0.1:{port}"
                ready = wait_ready(client, url, start, lambda: False)
                t = time.perf_counter()
                response = client.request(
                    request.method,
                    url + request.path,
                    headers=request.headers,
                    content=request.body,
                )
                first = time.perf_counter() - t
        finally:
            subprocess.run(
                ["podman", "rm", "--force", "--time", "0", container],
                env=podman_env,
                capture_output=True,
                check=False,
            )
        return ready, first, response.status_code

    return serve


def containers_conf() -> str:
    """podman's configuration: the caller's ``CONTAINERS_CONF``, else runc with bounded ulimits."""
    if "CONTAINERS_CONF" in os.environ:
        return os.environ["CONTAINERS_CONF"]
    conf = Path(tempfile.mkdtemp(prefix="healer-bench-podman-")) / "containers.conf"
    conf.write_text(CONTAINERS_CONF, encoding="utf-8")
    return str(conf)


def print_table(config: str, results: dict[str, Result]) -> list[str]:
    base = results["hello"].cold
    misses = []
    print(f"\n{config} configuration")
    print(f"{'function':<18}{'ready ms':>10}{'first ms':>10}{'cold ms':>10}{'x hello':>9}  answer")
    for name, r in results.items():
        ratio = r.cold / base
        if name not in ("hello", "floor") and ratio > TARGET:
            misses.append(f"{name} ({config}) {ratio:.2f}x")
        print(
            f"{name:<18}{statistics.median(r.ready) * 1000:>10.1f}"
            f"{statistics.median(r.first) * 1000:>10.1f}{r.cold * 1000:>10.1f}"
            f"{ratio:>8.2f}x  {','.join(map(str, sorted(r.statuses)))}"
        )
    return misses


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--stage", action="append", choices=STAGES, help="(repeatable)")
    parser.add_argument(
        "--config", action="append", choices=["embedded", "production"], help="(repeatable)"
    )
    parser.add_argument("--image", metavar="TAG", help="also time podman run in this image")
    args = parser.parse_args(argv)
    stages = args.stage or STAGES
    configs = args.config or ["embedded", "production"]

    scratch = Path(tempfile.mkdtemp(prefix="healer-bench-"))
    env = dict(os.environ)
    env["PYTHONPYCACHEPREFIX"] = str(scratch / "pycache")
    env["HEALER_CONFIG"] = str(scratch / "absent-config.json")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    for name in list(env):
        if name.startswith("HEALER_") and name != "HEALER_CONFIG":
            env.pop(name)

    from healer.settings import Settings
    from healer_dev.broker.pipeline import offline_settings

    capture = offline_settings(
        Settings(blob_dir=str(scratch / "capture-blobs"), coderun_outbox=str(scratch / "cap")),
        ROOT,
    )
    sent = capture_pipeline(capture)
    firsts = first_requests(sent)

    print(
        f"cold start: process start to the first real answer, median of {args.runs} fresh "
        f"processes (python {sys.version.split()[0]}, {os.cpu_count()} CPUs); "
        f"target <= {TARGET}x hello-world"
    )
    misses: list[str] = []
    try:
        with ExitStack() as stack:
            for name in configs:
                if name == "embedded":
                    config = embedded_config(scratch / "embedded")
                else:
                    config = stack.enter_context(production_config(scratch / "production"))
                results = measure(config, env, stages, firsts, sent, args.runs)
                misses += print_table(name, results)
            if args.image:
                config = stack.enter_context(production_config(scratch / "image"))
                serve = in_image(args.image, containers_conf())
                results = measure(config, env, stages, firsts, sent, args.runs, serve)
                misses += print_table(f"production (in the image {args.image})", results)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if misses:
        print("\nabove the target: " + ", ".join(misses))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
