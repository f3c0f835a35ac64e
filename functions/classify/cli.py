"""`healer classify FILE... [--job-name N] [--workflow-name W] [--json]`: verdicts for logs."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from typing import BinaryIO, TextIO

from healer_classifier.engine import classify_log

CHUNK = 1 << 20


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    while chunk := stream.read(CHUNK):
        yield chunk


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="healer classify", description="Name the failure in CI job logs."
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="log files; '-' reads stdin")
    parser.add_argument("--job-name", default="", help="the job's name, a weak signal")
    parser.add_argument("--workflow-name", default="", help="the workflow's name, a weak signal")
    parser.add_argument("--json", action="store_true", help="one JSON object per file per line")
    return parser


def _readable(name: str, data: dict[str, object]) -> str:
    signals = data.get("signals") or []
    lines = [
        f"{name}: {data['failure_type']} ({data['category']}) -> {data['agent']} "
        f"[{data['action']}] confidence {data['confidence']}",
        f"  failing step: {data['failing_step'] or '-'}",
        f"  fingerprint:  {data['fingerprint'] or '-'}",
        "  signals:",
        *(f"    - {s}" for s in (signals if isinstance(signals, list) else [])),
        "  excerpt:",
        *(f"    {line}" for line in str(data.get("excerpt") or "").splitlines()),
    ]
    return "\n".join(lines)


def run(
    argv: list[str],
    *,
    stdin: BinaryIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Classify each file in order; exit 2 when a file cannot be read (the others still print)."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    args = _parser().parse_args(argv)
    status = 0
    for name in args.files:
        try:
            if name == "-":
                source = stdin or sys.stdin.buffer
                verdict = classify_log(
                    _chunks(source), job_name=args.job_name, workflow_name=args.workflow_name
                )
            else:
                with open(name, "rb") as fh:
                    verdict = classify_log(
                        _chunks(fh), job_name=args.job_name, workflow_name=args.workflow_name
                    )
        except OSError as exc:
            print(f"healer classify: cannot read {name}: {exc.strerror or exc}", file=err)
            status = 2
            continue
        data = {"file": name, **verdict.model_dump(mode="json")}
        if args.json:
            out.write(json.dumps(data, ensure_ascii=False) + "\n")
        else:
            out.write(_readable(name, data) + "\n\n")
    out.flush()
    return status


def main() -> None:
    sys.exit(run(sys.argv[1:]))


if __name__ == "__main__":
    main()
