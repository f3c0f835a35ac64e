"""The ``healer classify`` command line."""

from __future__ import annotations

import io
import json
from pathlib import Path

from functions.classify.cli import run

CLIPPY = (
    "error: this `if` has identical blocks\n"
    "   = help: for further information visit https://rust-lang.github.io/rust-clippy/master\n"
    "   = note: `-D clippy::if-same-then-else` implied by `-D warnings`\n"
)
MYPY = (
    "app/x.py:3: error: Incompatible return value type  [return-value]\n"
    "Found 1 error in 1 file (checked 2 source files)\n"
)


def test_json_one_object_per_file_in_input_order(tmp_path: Path) -> None:
    a = tmp_path / "a.log"
    b = tmp_path / "b.log"
    a.write_text(MYPY)
    b.write_text(CLIPPY)
    out = io.StringIO()
    assert run([str(a), str(b), "--json", "--job-name", "lint"], stdout=out) == 0
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["file"] for r in rows] == [str(a), str(b)]
    assert [r["failure_type"] for r in rows] == ["python_type", "rust_clippy"]
    assert {"category", "agent", "action", "confidence", "excerpt", "fingerprint"} <= set(rows[0])


def test_readable_output_has_verdict_and_excerpt(tmp_path: Path) -> None:
    a = tmp_path / "a.log"
    a.write_text(MYPY)
    out = io.StringIO()
    assert run([str(a)], stdout=out) == 0
    text = out.getvalue()
    assert "python_type" in text and "viper" in text
    assert "excerpt:" in text and "Incompatible return value type" in text


def test_dash_reads_stdin() -> None:
    out = io.StringIO()
    assert run(["-", "--json"], stdin=io.BytesIO(CLIPPY.encode()), stdout=out) == 0
    assert json.loads(out.getvalue())["failure_type"] == "rust_clippy"


def test_missing_file_exits_2_and_still_prints_the_others(tmp_path: Path) -> None:
    a = tmp_path / "a.log"
    a.write_text(MYPY)
    out, err = io.StringIO(), io.StringIO()
    assert run([str(tmp_path / "nope.log"), str(a), "--json"], stdout=out, stderr=err) == 2
    assert "nope.log" in err.getvalue()
    assert json.loads(out.getvalue())["failure_type"] == "python_type"
