"""Every common credential shape is masked: in text, line by line, and in a stream of blocks."""

from __future__ import annotations

import re

import pytest
from credentials import AWS_SECRET, PEM_BODY, PRIVATE_KEY, SHAPES
from hypothesis import given, settings
from hypothesis import strategies as st

from healer import secrets
from healer.secrets import MASK, mask, mask_lines, mask_stream

LOG_PREFIX = "2024-03-01T10:00:00.1234567Z "


@pytest.mark.parametrize(("shape", "line", "secret"), SHAPES, ids=[s[0] for s in SHAPES])
def test_each_shape_is_masked(shape: str, line: str, secret: str) -> None:
    out = mask(line)
    assert MASK in out
    if secret:
        assert secret not in out


@pytest.mark.parametrize(("shape", "line", "secret"), SHAPES, ids=[s[0] for s in SHAPES])
def test_the_prefilter_finds_every_shape(shape: str, line: str, secret: str) -> None:
    """The stream copies lines the prefilter passes over untouched: it must see them all."""
    assert secrets._PREFILTER_BYTES.search(line.encode()) is not None


@pytest.mark.parametrize(
    "text",
    [
        "test module_1::case_2 ... ok",
        "FAILED tests/test_token.py::test_refresh - AssertionError",
        "author: octocat",
        "commit 3f786850e387550fdab836ed7e6dc881de23001b (secret rotation)",
        "error[E0308]: mismatched types",
        "  --> src/parser.rs:42:5",
    ],
)
def test_ordinary_lines_are_left_alone(text: str) -> None:
    assert mask(text) == text


def test_a_private_key_block_is_masked_whole_with_log_prefixes() -> None:
    log = "\n".join(LOG_PREFIX + line for line in PRIVATE_KEY.split("\n")) + "\nafter the key"
    out = mask(log)
    assert PEM_BODY not in out and "q1w2e3r4" not in out
    assert out.endswith("after the key")
    assert out.count("\n") == log.count("\n")  # line numbers still point at the same lines


def test_a_private_key_in_one_json_line_is_masked() -> None:
    out = mask('{"key": "' + PRIVATE_KEY.replace("\n", "\\n") + '"}')
    assert PEM_BODY not in out


def test_masking_lines_one_by_one_keeps_the_key_state() -> None:
    out = mask_lines(PRIVATE_KEY.split("\n"))
    assert not any(PEM_BODY in line or "q1w2e3r4" in line for line in out)


def test_a_sha_next_to_secret_context_is_not_an_aws_key() -> None:
    sha = "3f786850e387550fdab836ed7e6dc881de23001b"
    assert sha in mask(f"aws deploy of {sha}")
    assert AWS_SECRET not in mask(f"aws {AWS_SECRET}")


def _log(lines: list[str]) -> bytes:
    return "".join(f"{LOG_PREFIX}{line}\n" for line in lines).encode()


def _split(data: bytes, sizes: list[int]) -> list[bytes]:
    out, pos = [], 0
    for size in sizes:
        out.append(data[pos : pos + size])
        pos += size
    return [*out, data[pos:]]


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=1, max_value=97), max_size=40),
    block=st.integers(min_value=1, max_value=300),
)
def test_a_stream_masks_across_any_chunk_and_block_boundary(sizes: list[int], block: int) -> None:
    noise = [f"step {i} ok" for i in range(5)]
    data = _log(noise + [line for _, line, _ in SHAPES] + PRIVATE_KEY.split("\n") + noise)
    out = b"".join(mask_stream(iter(_split(data, sizes)), block=block)).decode()
    for _, _, secret in SHAPES:
        if secret:
            assert secret not in out
    assert PEM_BODY not in out and "q1w2e3r4" not in out
    assert out.count("\n") == data.count(b"\n")
    assert out.endswith(f"{LOG_PREFIX}step 4 ok\n")


def test_a_stream_without_credentials_is_unchanged_byte_for_byte() -> None:
    data = _log([f"Compiling crate-{i} v0.1.{i}" for i in range(5000)]) + b"\xff\xfe tail"
    chunks = [data[i : i + 4096] for i in range(0, len(data), 4096)]
    assert b"".join(mask_stream(iter(chunks), block=10_000)) == data


def test_invalid_utf8_survives_on_a_masked_line() -> None:
    data = b"\xff password=hunter2hunter2 \xfe\n"
    assert b"".join(mask_stream([data])) == b"\xff password=*** \xfe\n"


def test_a_line_longer_than_the_bound_is_cut_at_whitespace_and_memory_stays_bounded() -> None:
    word = b"x" * 1000 + b" "
    chunks = [word] * (secrets.MAX_LINE // len(word) + 50)
    out = list(mask_stream(iter(chunks), block=1 << 16))
    assert len(out) >= 2 and max(map(len, out)) <= secrets.MAX_LINE
    assert b"".join(out) == b"".join(chunks)


@given(st.text(max_size=300))
def test_mask_is_total_and_idempotent(text: str) -> None:
    once = mask(text)
    assert mask(once) == once


def test_mask_runs_in_linear_time_on_hostile_lines() -> None:
    """A run of identifier characters once made the assignment pattern quadratic."""
    import time

    start = time.perf_counter()
    for text in (
        "a" * 50_000,
        "token_" + "a" * 50_000,
        "a.b-c_" * 10_000 + "token",
        "http" * 10_000,
    ):
        mask(text)
    assert time.perf_counter() - start < 2.0


def test_no_other_masking_copy_is_left() -> None:
    """One module masks: a second copy is how AWS secret keys were missed before."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    offenders = [
        str(path.relative_to(root))
        for base in ("functions", "shared")
        for path in (root / base).rglob("*.py")
        if path.name != "secrets.py" and re.search(r"AKIA|gh\[?p", path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


@pytest.mark.parametrize(
    "text", ["  persist-credentials: true", "use_token: false", "secret: null", "token=none"]
)
def test_a_boolean_or_null_setting_is_not_a_secret(text: str) -> None:
    """``actions/checkout`` prints ``persist-credentials: true`` in every job log."""
    assert mask(text) == text
