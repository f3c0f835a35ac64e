"""Cold start of Healer's functions beside functions-framework's hello-world, on this machine.

Functions scale to zero, so a first request pays for the interpreter, the imports and the
first handling. For each function this prints, as medians over fresh processes:

- import: ``create_app`` of the function (imports functions-framework, Flask and the function);
- ready: from process start until the server answers its first request;
- first: the first real request's latency (a recorded delivery for ingest, a GET for hello);
- cold: process start until the first real request is answered, what a request arriving at a
  scaled-to-zero service waits for beyond the pod's own start.

Bytecode is cached (in a temporary ``PYTHONPYCACHEPREFIX``) and warmed by one unmeasured run,
as it would be in a built image.

Usage: ``.venv/bin/python bench/cold_start.py [--runs 5] [--stage ingest]``
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
HELLO = ROOT / "bench" / "hello_main.py"
DELIVERY = ROOT / "examples" / "deliveries" / "workflow_job-failure.json"

IMPORT_SNIPPET = """
import time, sys
t = time.perf_counter()
from functions_framework import create_app
create_app(target=sys.argv[1], source=sys.argv[2], signature_type="http")
print(time.perf_counter() - t)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def import_time(target: str, source: Path) -> float:
    out = subprocess.run(
        [sys.executable, "-c", IMPORT_SNIPPET, target, str(source)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return float(out.stdout.strip().splitlines()[-1])


def ingest_request() -> tuple[dict[str, str], bytes]:
    """The CloudEvent the Argo sensor would post for the recorded failed job."""
    delivery = json.loads(DELIVERY.read_text())
    headers = {k: v if isinstance(v, list) else [v] for k, v in delivery["headers"].items()}
    delivery_id = headers["X-GitHub-Delivery"][0]
    body = json.dumps({"headers": headers, "body": delivery["body"], "metadata": {}}).encode()
    return {
        "ce-specversion": "1.0",
        "ce-id": delivery_id,
        "ce-source": "https://github.com/acme/widgets",
        "ce-type": "dev.healer.github.webhook",
        "content-type": "application/json",
    }, body


def serve_and_measure(target: str, source: Path, env: dict[str, str]) -> tuple[float, float, int]:
    """Start a server, wait for it to answer, then time the first real request."""
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
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        with httpx.Client(timeout=10) as client:
            while True:
                try:
                    client.get(url + "/robots.txt")
                    break
                except httpx.TransportError:
                    if time.perf_counter() - start > 30:
                        raise RuntimeError(f"{target} did not start within 30 s") from None
                    time.sleep(0.005)
            ready = time.perf_counter() - start
            t = time.perf_counter()
            if target == "hello":
                status = client.get(url + "/").status_code
            else:
                headers, body = ingest_request()
                status = client.post(url + "/", headers=headers, content=body).status_code
            first = time.perf_counter() - t
    finally:
        proc.terminate()
        proc.wait(10)
    return ready, first, status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    import os
    import tempfile

    env = dict(os.environ)
    env["HEALER_BLOB_DIR"] = tempfile.mkdtemp(prefix="healer-bench-")
    env["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="healer-pycache-")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("HEALER_WEBHOOK_SECRET", None)
    os.environ.update(PYTHONPYCACHEPREFIX=env["PYTHONPYCACHEPREFIX"])
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    cases = [("hello", HELLO), ("ingest", ROOT / "functions" / "ingest" / "main.py")]
    results: dict[str, dict[str, float]] = {}
    for target, source in cases:
        serve_and_measure(target, source, env)  # warm the bytecode cache
        imports, readies, firsts = [], [], []
        for _ in range(args.runs):
            imports.append(import_time(target, source))
            ready, first, status = serve_and_measure(target, source, env)
            if status >= 500:
                raise RuntimeError(f"{target} answered {status} to its first request")
            readies.append(ready)
            firsts.append(first)
        results[target] = {
            "import_ms": statistics.median(imports) * 1000,
            "ready_ms": statistics.median(readies) * 1000,
            "first_ms": statistics.median(firsts) * 1000,
            "cold_ms": statistics.median(map(sum, zip(readies, firsts, strict=True))) * 1000,
        }
    print(f"cold start, median of {args.runs} fresh processes (python {sys.version.split()[0]})")
    print(f"{'function':<10}{'import ms':>12}{'ready ms':>12}{'first req ms':>15}{'cold ms':>12}")
    for target, r in results.items():
        print(
            f"{target:<10}{r['import_ms']:>12.1f}{r['ready_ms']:>12.1f}"
            f"{r['first_ms']:>15.2f}{r['cold_ms']:>12.1f}"
        )
    base = results["hello"]
    for target, r in results.items():
        if target == "hello":
            continue
        ratios = {k: r[k] / base[k] for k in r}
        print(
            f"{target} / hello: import {ratios['import_ms']:.2f}x, "
            f"ready {ratios['ready_ms']:.2f}x, "
            f"first request {ratios['first_ms']:.2f}x, "
            f"start to first answer {ratios['cold_ms']:.2f}x (target <= 1.5x)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
