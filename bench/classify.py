"""Classifier throughput and memory: a generated 200 MB GitHub Actions log, and the corpus.

    .venv/bin/python bench/classify.py [--size-mb 200] [--keep]

The log is generated into bench/out/ (git-ignored). Classification runs in a child process so
its peak RSS (resource.getrusage) is its own; ``grep -c error`` runs on the same file beside it.
A second child measures what classify really does with a job log: the engine and the masked
copy for the blob store in one pass (``healer_classifier.logs.tee_into``), the copy discarded.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
CORPUS = ROOT / "tests" / "corpus"
CHUNK = 1 << 20


def _ts(i: int) -> str:
    hms = f"{(i // 3600) % 24:02d}:{(i // 60) % 60:02d}:{i % 60:02d}"
    return f"2024-03-01T{hms}.{i % 10_000_000:07d}Z "


def _noise_block(seed: int, lines: int) -> str:
    """Realistic passing-build chatter, with a few error words that must not decide anything."""
    out: list[str] = []
    for i in range(lines):
        n = seed * lines + i
        kind = n % 10
        if kind < 4:
            out.append(
                f"{_ts(n)}   Compiling crate-{n % 997} v0.{n % 13}.{n % 7} (/home/runner/work/a/a)"
            )
        elif kind < 7:
            out.append(f"{_ts(n)}test module_{n % 311}::case_{n % 89} ... ok")
        elif kind == 7:
            out.append(f"{_ts(n)}npm warn deprecated pkg-{n % 53}@1.0.{n % 9}: no longer supported")
        elif kind == 8:
            out.append(
                f"{_ts(n)}  Downloaded serde-error-{n % 41} v1.0.{n % 100} (handles error types)"
            )
        elif n % 50 == 9:
            out.append(f"{_ts(n)}npm warn ERESOLVE overriding peer dependency for pkg-{n % 7}")
        else:
            out.append(f"{_ts(n)}[INFO] processed {n} records in {n % 97}ms, 0 errors")
    return "\n".join(out) + "\n"


def generate(path: Path, size_mb: int) -> None:
    """A job log: a huge passing step, an npm install with an audit notice, a clippy failure."""
    target = size_mb * 1024 * 1024
    with path.open("w", encoding="utf-8") as fh:
        fh.write(
            f"{_ts(0)}Current runner version: '2.317.0'\n{_ts(0)}##[group]Run actions/checkout@v4\n"
        )
        fh.write(f"{_ts(1)}with:\n{_ts(1)}  repository: acme/widgets\n{_ts(1)}##[endgroup]\n")
        fh.write(f"{_ts(2)}##[group]Run npm ci\n{_ts(2)}npm ci\n{_ts(2)}##[endgroup]\n")
        fh.write(f"{_ts(3)}found 3 vulnerabilities (1 moderate, 2 high)\n")
        fh.write(f"{_ts(3)}##[group]Run cargo build --workspace\n{_ts(3)}##[endgroup]\n")
        written = fh.tell()
        seed = 0
        while written < target - 4096:
            block = _noise_block(seed, 10_000)
            fh.write(block)
            written += len(block)
            seed += 1
        fh.write(f"{_ts(9)}##[group]Run cargo clippy --all-targets -- -D warnings\n")
        fh.write(f"{_ts(9)}cargo clippy --all-targets -- -D warnings\n{_ts(9)}##[endgroup]\n")
        fh.write(
            f"{_ts(9)}error: this `if` has identical blocks\n"
            f"{_ts(9)}  --> src/parser.rs:42:5\n"
            f"{_ts(9)}   = help: for further information visit "
            "https://rust-lang.github.io/rust-clippy/master/index.html#if_same_then_else\n"
            f"{_ts(9)}   = note: `-D clippy::if-same-then-else` implied by `-D warnings`\n"
            f"{_ts(9)}error: could not compile `widgets` (lib) due to 1 previous error\n"
            f"{_ts(9)}##[error]Process completed with exit code 101.\n"
            f"{_ts(10)}Post job cleanup.\n"
        )


def child(path: str) -> None:
    from healer_classifier.engine import classify_log

    def chunks() -> object:
        with open(path, "rb") as fh:
            while chunk := fh.read(CHUNK):
                yield chunk

    start = time.perf_counter()
    verdict = classify_log(chunks())  # type: ignore[arg-type]
    elapsed = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "seconds": elapsed,
                "peak_rss_mb": peak_kb / 1024,
                "failure_type": verdict.failure_type.value,
                "failing_step": verdict.failing_step,
            }
        )
    )


def tee_child(path: str) -> None:
    from healer.secrets import mask_stream
    from healer_classifier.engine import classify_log
    from healer_classifier.logs import tee_into

    def chunks() -> object:
        with open(path, "rb") as fh:
            while chunk := fh.read(CHUNK):
                yield chunk

    start = time.perf_counter()
    stored, _ = tee_into(
        chunks(),  # type: ignore[arg-type]
        lambda stream: sum(len(block) for block in mask_stream(stream)),
        classify_log,
    )
    elapsed = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": elapsed, "peak_rss_mb": peak_kb / 1024, "stored": stored}))


def bench_log(path: Path) -> None:
    size = path.stat().st_size
    res = subprocess.run(
        [sys.executable, __file__, "--child", str(path)], capture_output=True, text=True, check=True
    )
    figures = json.loads(res.stdout)
    mbps = size / 1e6 / figures["seconds"]
    print(f"generated log: {size / 1e6:.0f} MB")
    print(
        f"  classify: {figures['seconds']:.2f} s = {mbps:.0f} MB/s, "
        f"peak RSS {figures['peak_rss_mb']:.0f} MB -> {figures['failure_type']} "
        f"in {figures['failing_step']!r}"
    )
    res = subprocess.run(
        [sys.executable, __file__, "--tee-child", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    tee = json.loads(res.stdout)
    print(
        f"  classify + masked store: {tee['seconds']:.2f} s = {size / 1e6 / tee['seconds']:.0f} "
        f"MB/s, peak RSS {tee['peak_rss_mb']:.0f} MB"
    )
    grep = shutil.which("grep")
    if grep:
        start = time.perf_counter()
        out = subprocess.run([grep, "-c", "error", str(path)], capture_output=True, text=True)
        took = time.perf_counter() - start
        print(
            f"  grep -c error: {took:.2f} s = {size / 1e6 / took:.0f} MB/s "
            f"({out.stdout.strip()} lines)"
        )


def bench_corpus() -> None:
    from healer_classifier.engine import classify_log

    logs = sorted(CORPUS.glob("*/*.log"))
    if not logs:
        print("corpus: no files")
        return
    total = sum(p.stat().st_size for p in logs)
    start = time.perf_counter()
    for log in logs:
        classify_log([log.read_bytes()])
    took = time.perf_counter() - start
    print(
        f"corpus: {len(logs)} files, {total / 1e6:.1f} MB in {took:.2f} s = "
        f"{len(logs) / took:.0f} files/s, {total / 1e6 / took:.1f} MB/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="keep the generated log")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--tee-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    if args.tee_child:
        tee_child(args.tee_child)
        return
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"gha-{args.size_mb}mb.log"
    if not path.exists() or path.stat().st_size < args.size_mb * 1024 * 1024 * 0.95:
        generate(path, args.size_mb)
    try:
        bench_log(path)
    finally:
        if not args.keep:
            path.unlink(missing_ok=True)
    bench_corpus()


if __name__ == "__main__":
    main()
