"""Excerpts: budgets, UTF-8 safety, escapes stripped, secrets masked; fingerprints stable."""

from __future__ import annotations

from healer.secrets import mask as redact
from healer_classifier.engine import classify_log
from healer_classifier.engine.excerpt import clean_line, fit, render
from healer_classifier.engine.fingerprint import fingerprint, normalise


def test_clean_line_strips_ansi_caret_notation_and_controls() -> None:
    assert clean_line("\x1b[1m\x1b[31merror\x1b[0m: boom") == "error: boom"
    assert clean_line("^[[31mFAILED^[[0m tests/a.py") == "FAILED tests/a.py"
    assert clean_line("a\x00b\x07c") == "abc"
    assert clean_line("progress 10%\rprogress 100%") == "progress 100%"


def test_fit_respects_line_budget_with_omission_marker() -> None:
    lines = [f"line {i}" for i in range(1000)]
    out = fit(lines, max_lines=200).splitlines()
    assert len(out) == 200
    assert any(line.startswith("… ") and "lines omitted" in line for line in out)
    assert out[0] == "line 0" and out[-1] == "line 999"


def test_fit_respects_byte_budget_and_never_splits_a_character() -> None:
    lines = ["é" * 3000 + "€"] + ["日本語のエラー" * 20 for _ in range(300)]
    out = fit(lines, max_lines=1000, max_bytes=16 * 1024)
    data = out.encode("utf-8")
    assert len(data) <= 16 * 1024
    assert data.decode("utf-8") == out  # well-formed
    assert "omitted" in out


def test_render_marks_gaps_between_kept_lines() -> None:
    out = render([(10, "a"), (11, "b"), (20, "c")], header="[step] x")
    assert out.splitlines() == ["[step] x", "a", "b", "… 8 lines omitted …", "c"]


def test_redact_masks_tokens_keys_and_passwords() -> None:
    text = (
        "token ghp_abcdefghijklmnopqrstuvwxyz0123456789 "
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz "
        "AKIAIOSFODNN7EXAMPLE Authorization: Bearer abcdef0123456789abcdef "
        "password=hunter22 https://user:s3cr3t@example.com/x"
    )
    out = redact(text)
    for secret in (
        "ghp_abc",
        "github_pat_11",
        "AKIAIOSFODNN7EXAMPLE",
        "abcdef0123456789abcdef",
        "hunter22",
        "s3cr3t",
    ):
        assert secret not in out
    assert out.count("***") >= 6
    key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----"
    assert "MIIEow" not in redact(key)


def test_excerpt_of_a_log_is_clean_masked_and_bounded() -> None:
    lines = ["##[group]Run pytest", "##[endgroup]"]
    lines += [f"noise line {i} " + "ü" * 50 for i in range(5000)]
    lines += [
        "\x1b[31mFAILED\x1b[0m tests/test_api.py::test_login - assert 401 == 200",
        "E   requests: GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        "========================= 1 failed, 3 passed in 1.20s =========================",
        "##[error]Process completed with exit code 1.",
    ]
    log = "".join(f"2024-01-01T00:00:00.0000000Z {line}\n" for line in lines)
    verdict = classify_log([log])
    excerpt = verdict.excerpt
    assert verdict.failure_type == "python_test"
    assert "FAILED tests/test_api.py::test_login" in excerpt
    assert "\x1b" not in excerpt and "2024-01-01T" not in excerpt
    assert "ghp_" not in excerpt
    assert len(excerpt.splitlines()) <= 200 and len(excerpt.encode()) <= 16 * 1024
    assert "lines omitted" in excerpt
    assert excerpt.startswith("[step] Run pytest (exit code 1)")


def _run_log(ts: str, tmp: str, dur: str, sha: str) -> str:
    lines = [
        "##[group]Run cargo test",
        "##[endgroup]",
        f"     Running unittests src/lib.rs (target/debug/deps/widgets-{sha})",
        "---- parser::nested stdout ----",
        f"thread 'parser::nested' panicked at src/parser.rs:40:9: cannot open {tmp}/fixture.toml",
        f"test result: FAILED. 3 passed; 1 failed; 0 ignored; finished in {dur}",
        "##[error]Process completed with exit code 101.",
    ]
    return "".join(f"{ts} {line}\n" for line in lines)


def test_fingerprint_is_stable_across_runs() -> None:
    first = classify_log(
        [_run_log("2024-01-01T10:00:00.1234567Z", "/tmp/.tmpAbC123", "0.52s", "ff52c12aacf4b301")]
    )
    second = classify_log(
        [_run_log("2024-02-03T11:22:33.7654321Z", "/tmp/.tmpXyZ987", "1.07s", "0123456789abcdef")]
    )
    assert first.fingerprint and first.fingerprint == second.fingerprint
    other = classify_log(
        [
            _run_log("2024-01-01T10:00:00.1234567Z", "/tmp/a", "1s", "abcdef01").replace(
                "parser.rs:40:9", "lexer.rs:12:1"
            )
        ]
    )
    assert other.fingerprint != first.fingerprint


def test_normalise_keeps_positions_but_drops_volatile_parts() -> None:
    line = "2024-01-01T00:00:00Z /home/runner/work/app/app/src/x.rs:10:5 0xdeadbeef in 12.5s"
    assert normalise(line) == "<ts> src/x.rs:10:5 <hex> <dur>"
    assert fingerprint("rust_build", ["a"]) != fingerprint("rust_test", ["a"])
