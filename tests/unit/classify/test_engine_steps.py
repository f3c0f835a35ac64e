"""Step splitting for each log format the engine understands."""

from __future__ import annotations

from healer_classifier.engine import classify_log
from healer_classifier.engine.scan import Scanner
from healer_classifier.engine.steps import StepTracker, split_prefix

TS = "2024-01-01T00:00:0{}.1234567Z "


def gha(*lines: str) -> str:
    return "".join(TS.format(i % 10) + line + "\n" for i, line in enumerate(lines))


def scan(text: str, chunk: int = 0) -> StepTracker:
    scanner = Scanner()
    data = text.encode()
    if chunk:
        for i in range(0, len(data), chunk):
            scanner.feed(data[i : i + chunk])
    else:
        scanner.feed(text)
    return scanner.close()


GHA_LOG = gha(
    "Current runner version: '2.317.0'",
    "##[group]Run actions/checkout@v4",
    "with:",
    "##[endgroup]",
    "##[group]Run cargo test --all",
    "cargo test --all",
    "shell: /usr/bin/bash -e {0}",
    "##[endgroup]",
    "test parser::nested ... FAILED",
    "---- parser::nested stdout ----",
    "thread 'parser::nested' panicked at src/parser.rs:10:5:",
    "test result: FAILED. 3 passed; 1 failed; 0 ignored",
    "##[error]Process completed with exit code 101.",
    "Post job cleanup.",
    "Cleaning up orphan processes",
)


def test_split_prefix_removes_gh_fields_and_timestamp() -> None:
    assert split_prefix("test\tRun cargo test\t2024-01-01T00:00:00.1Z hello") == (
        "Run cargo test",
        "hello",
    )
    assert split_prefix("2024-01-01T00:00:00.0000000Z ##[error]x") == (None, "##[error]x")
    assert split_prefix("plain line") == (None, "plain line")


def test_github_actions_framing_splits_steps_and_finds_exit_code() -> None:
    tracker = scan(GHA_LOG)
    names = [s.name for s in tracker.steps]
    assert names == [
        "Set up job",
        "Run actions/checkout@v4",
        "Run cargo test --all",
        "Post job cleanup",
        "Complete job",
    ]
    failing = tracker.steps[2]
    assert failing.exit_code == 101 and failing.failed
    assert failing.command == "cargo test --all"
    assert tracker.steps[1].passed and not tracker.steps[1].failed


def test_tiny_chunks_give_the_same_steps() -> None:
    whole = scan(GHA_LOG)
    pieces = scan(GHA_LOG, chunk=7)
    assert [s.name for s in pieces.steps] == [s.name for s in whole.steps]
    assert pieces.steps[2].scores == whole.steps[2].scores


def test_gh_run_view_format_uses_step_column() -> None:
    log = "".join(
        f"build\t{step}\t2024-01-01T00:00:00.0000000Z {line}\n"
        for step, line in [
            ("Set up job", "Current runner version: '2.317.0'"),
            ("Run npm ci", "##[group]Run npm ci"),
            ("Run npm ci", "npm error code ERESOLVE"),
            ("Run npm ci", "npm error ERESOLVE unable to resolve dependency tree"),
            ("Run npm ci", "##[error]Process completed with exit code 1."),
        ]
    )
    verdict = classify_log([log])
    assert verdict.failing_step == "Run npm ci"
    assert verdict.failure_type == "frontend_deps"


def test_gh_run_view_unknown_step_falls_back_to_framing() -> None:
    log = "".join(
        f"lint\tUNKNOWN STEP\t2024-01-01T00:00:00.0000000Z {line}\n"
        for line in [
            "##[group]Run ruff check .",
            "##[endgroup]",
            "src/app.py:1:8: F401 [*] `os` imported but unused",
            "Found 1 error.",
            "##[error]Process completed with exit code 1.",
        ]
    )
    verdict = classify_log([log])
    assert verdict.failing_step == "Run ruff check ."
    assert verdict.failure_type == "python_lint"


def test_travis_commands_are_steps_and_exit_status_marks_failure() -> None:
    log = (
        "\x1b[0K$ npm ci\n"
        "added 120 packages\n"
        "found 2 vulnerabilities\n"
        'The command "npm ci" exited with 0.\n'
        "\x1b[0K$ npm test\n"
        "FAIL src/app.test.js\n"
        "Tests:       1 failed, 4 passed, 5 total\n"
        'The command "npm test" exited with 1.\n'
        "Done. Your build exited with 1.\n"
    )
    tracker = scan(log)
    assert [s.name for s in tracker.steps] == ["$ npm ci", "$ npm test"]
    assert tracker.steps[0].passed and tracker.steps[1].exit_code == 1
    verdict = classify_log([log])
    assert verdict.failure_type == "frontend_test"
    assert verdict.failing_step == "$ npm test"


def test_bare_output_is_one_unnamed_step() -> None:
    log = (
        "src/a.py:3: error: Incompatible types in assignment  [assignment]\n"
        "Found 1 error in 1 file (checked 4 source files)\n"
    )
    verdict = classify_log([log])
    assert verdict.failure_type == "python_type"
    assert verdict.failing_step == ""


def test_setup_job_error_without_run_step() -> None:
    log = gha(
        "Current runner version: '2.317.0'",
        "##[error]Unable to resolve action `actions/chekout@v4`, repository not found",
    )
    verdict = classify_log([log])
    assert verdict.failure_type == "github_workflow"
    assert verdict.failing_step == "Set up job"


def test_canceled_job_is_ignored() -> None:
    log = gha(
        "##[group]Run sleep 600",
        "##[endgroup]",
        "##[error]The operation was canceled.",
    )
    verdict = classify_log([log])
    assert verdict.action == "ignore"
    assert verdict.failure_type == "infra_runner"


def test_empty_log_is_ignored() -> None:
    verdict = classify_log([])
    assert verdict.action == "ignore"
    assert verdict.confidence <= 0.2
