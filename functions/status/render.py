"""The status views that are not JSON: Prometheus metrics text and a small HTML dashboard."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from healer import __version__

METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def metrics(
    counts: Mapping[str, int],
    dead_letters: int,
    by_failure_type: Mapping[str, int] | None = None,
) -> str:
    """Prometheus text exposition format 0.0.4."""
    lines = [
        "# HELP healer_tasks Remediation tasks in the state store, by status.",
        "# TYPE healer_tasks gauge",
        *(f'healer_tasks{{status="{_label(s)}"}} {n}' for s, n in sorted(counts.items())),
        "# HELP healer_tasks_by_failure_type Remediation tasks, by failure type.",
        "# TYPE healer_tasks_by_failure_type gauge",
        *(
            f'healer_tasks_by_failure_type{{failure_type="{_label(t)}"}} {n}'
            for t, n in sorted((by_failure_type or {}).items())
        ),
        "# HELP healer_dead_letters Events the broker could not deliver, kept for replay.",
        "# TYPE healer_dead_letters gauge",
        f"healer_dead_letters {dead_letters}",
        "# HELP healer_info Version of the status function.",
        "# TYPE healer_info gauge",
        f'healer_info{{version="{_label(__version__)}"}} 1',
    ]
    return "\n".join(lines) + "\n"


class Link(str):
    """A cell shown as a link (only https://github.com URLs are made links)."""


def _cell(value: Any) -> str:
    if isinstance(value, Link) and value.startswith("https://github.com/"):
        return f'<td><a href="{escape(value)}" rel="noreferrer">{escape(value)}</a></td>'
    if isinstance(value, list | tuple):
        value = ", ".join(str(v) for v in value)
    return f"<td>{escape('' if value is None else str(value))}</td>"


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], empty: str) -> str:
    if not rows:
        return f"<p>{escape(empty)}</p>"
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def dashboard(
    tasks: Sequence[Mapping[str, Any]],
    counts: Mapping[str, int],
    dead_letters: Sequence[Mapping[str, Any]],
) -> str:
    """One page: counts by status, the tasks (newest first, as given), the dead letters.
    Every value is escaped."""
    totals = ", ".join(f"{escape(s)}: {n}" for s, n in counts.items()) or "no tasks"
    task_rows = [
        [
            t["task_id"],
            t["repository"],
            t["run_id"],
            t.get("failure_type", ""),
            t["agent"],
            t["status"],
            t.get("waiting_for", ""),
            t["attempts"],
            t.get("coderuns", []),
            t.get("updated_at", ""),
            Link(t.get("comment_url", "")),
        ]
        for t in tasks
    ]
    letter_rows = [
        [d["id"], d["type"], d["code"], d["destination"], d["received_at"]] for d in dead_letters
    ]
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        "<meta http-equiv='refresh' content='15'><title>Healer status</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}</style></head><body>"
        f"<h1>Healer</h1><p>version {escape(__version__)} · tasks: {totals}</p>"
        "<h2>Tasks</h2>"
        + _table(
            [
                "task",
                "repository",
                "run",
                "failure type",
                "agent",
                "status",
                "waiting for",
                "attempts",
                "CodeRuns",
                "updated",
                "escalated to",
            ],
            task_rows,
            "No remediation tasks yet.",
        )
        + "<h2>Dead letters</h2>"
        + _table(["id", "type", "code", "failed destination", "received"], letter_rows, "None.")
        + "</body></html>"
    )
