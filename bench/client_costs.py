"""What each backend client and the stages' heavy modules cost a fresh process (medians, ms).

The cold-start table says how far a stage is from hello-world; this says where the difference
goes. Each case runs in a fresh interpreter that has already imported what functions-framework
loads (flask, werkzeug), so a figure is the case's own cost on top of that; bytecode is
compiled (one unmeasured run first), as in the image.

With ``redis-server`` on the path, a local one answers the Redis cases (import, connect, PING).

The Kubernetes cases build a backend and make its first call against the test API server
(``tests/support/k8s_api.py``, on loopback): spawn's launcher creating a CodeRun under strict
field validation, completion-check reading it back, the ConfigMap store's first read.

Usage: ``.venv/bin/python bench/client_costs.py [--runs 5]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRELUDE = (
    "import flask, functions_framework, cloudevents.http\nimport time\nt = time.perf_counter()\n"
)

CASES = {
    "httpx (import)": "import httpx",
    "pydantic (import)": "import pydantic",
    "event models (import)": "import healer.models",
    "redis (import)": "import redis",
    "botocore (import)": "import botocore.session",
    "boto3 (import)": "import boto3",
    "obstore (import)": "import obstore",
    "S3 store, obstore (import + create)": (
        "from healer.stores.s3 import make_store\nmake_store('healer', 'http://127.0.0.1:9')"
    ),
    "S3 client, botocore (import + create)": (
        "from botocore.session import get_session\nget_session().create_client("
        "'s3', endpoint_url='http://127.0.0.1:9', region_name='us-east-1')"
    ),
    "S3 client, boto3.client (import + create)": (
        "import boto3\nboto3.client('s3', endpoint_url='http://127.0.0.1:9', "
        "region_name='us-east-1')"
    ),
    "kubernetes (import)": "import kubernetes",
    "kubernetes CustomObjectsApi (import + create)": (
        "from kubernetes import client\nclient.CustomObjectsApi(client.ApiClient())"
    ),
    "kubernetes CoreV1Api (import + create)": (
        "from kubernetes import client\nclient.CoreV1Api(client.ApiClient())"
    ),
    "classify engine (import)": "import healer_classifier.engine",
    "spawn launcher (build + first create)": (
        "import json, os\nfrom healer.settings import Settings\n"
        "from functions.spawn.launcher import launcher_for\n"
        "body = json.loads(os.environ['BENCH_CODERUN'])\n"
        "body['metadata']['name'] = f'bench-{os.getpid()}'\n"
        "launcher = launcher_for(Settings.load(config_path='/nonexistent.json'))\n"
        "assert launcher.launch(body).created"
    ),
    "completion-check reader (build + first get)": (
        "from healer.settings import Settings\n"
        "from functions.completion_check.coderuns import reader_for\n"
        "assert reader_for(Settings.load(config_path='/nonexistent.json')).read('bench') is None"
    ),
    "ConfigMap store (build + first read)": (
        "from healer.settings import Settings\n"
        "from healer.stores.configmap_api import ConfigMapApi\n"
        "api = ConfigMapApi.from_settings(Settings.load(config_path='/nonexistent.json'))\n"
        "assert api.read('healer-state') is None"
    ),
}

# Readiness's whole Redis path, against a local redis-server ({url}): import, connect, PING.
REDIS_CASES = {
    "Redis store, hiredis (import + connect + PING)": (
        "from healer.stores.redis import RedisStateStore\nRedisStateStore.from_url('{url}').ping()"
    ),
    "redis-py (import + connect + PING)": (
        "import redis\nredis.Redis.from_url('{url}', decode_responses=True).ping()"
    ),
}


def run(code: str, env: dict[str, str]) -> float:
    script = PRELUDE + code + "\nprint((time.perf_counter() - t) * 1000)\n"
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, check=True
    )
    return float(out.stdout.decode().split()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    env = dict(os.environ)
    env["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="healer-costs-")
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # the warm-up round must leave bytecode behind
    env.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench")
    env.update(AWS_EC2_METADATA_DISABLED="true")
    cases = dict(CASES)
    server = _redis_server()
    if server is not None:
        url = f"redis://127.0.0.1:{server[1]}/0"
        cases.update({name: code.format(url=url) for name, code in REDIS_CASES.items()})
    sys.path.insert(0, str(ROOT / "tests" / "support"))
    from k8s_api import KubeApi

    try:
        with KubeApi() as kube:
            env.update(
                HEALER_KUBE_API_URL=kube.url,
                HEALER_NAMESPACE="cto",
                HEALER_CODERUN_BACKEND="kubernetes",
                BENCH_CODERUN=json.dumps(coderun()),
            )
            times = measure(cases, env, args.runs)
    finally:
        if server is not None:
            server[0].terminate()
            server[0].wait(10)
    print(f"median of {args.runs} fresh processes, ms, on top of functions-framework's imports")
    for name, values in times.items():
        print(f"{name:<48}{statistics.median(values):>8.0f}")
    return 0


def _redis_server() -> tuple[subprocess.Popen[bytes], int] | None:
    binary = shutil.which("redis-server")
    if binary is None:
        return None
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""],
        stdout=subprocess.DEVNULL,
    )
    for _ in range(500):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process, port
        except OSError:
            time.sleep(0.02)
    process.kill()
    raise SystemExit("redis-server did not start")


def coderun() -> dict[str, object]:
    """The CodeRun spawn builds for the test context (the API server holds it to the CRD)."""
    from contexts import coderun_manifest

    return coderun_manifest("bench")


def measure(cases: dict[str, str], env: dict[str, str], runs: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in cases}
    for n in range(runs + 1):  # round-robin; the first round warms the bytecode cache
        for name, code in cases.items():
            elapsed = run(code, env)
            if n:
                times[name].append(elapsed)
    return times


if __name__ == "__main__":
    raise SystemExit(main())
