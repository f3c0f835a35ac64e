"""The GitHub comment (or issue) that hands a failure to humans: every attempt, the last error,
links, and the log excerpt.

Agent summaries and CI text are untrusted: outside code fences they are escaped so they cannot
add links, images, HTML or @-mentions; inside, ``healer.prompts.fence`` bounds them and picks a
fence they cannot close.
"""

from __future__ import annotations

import re

from functions.escalate.facts import Facts
from healer.prompts import fence

MAX_EXCERPT_BYTES = 8 * 1024
MAX_ERROR_BYTES = 4 * 1024
MAX_CELL = 300
MAX_TITLE = 200
MAX_ROWS = 50
_MARKDOWN = re.compile(r"([\\`*_{}\[\]<>()#+\-.!|~])")
_MENTION = re.compile(r"@(?=[A-Za-z0-9])")
_SHA = re.compile(r"^[0-9a-f]{7,40}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$")


def inline(text: str, limit: int = MAX_CELL) -> str:
    """One line of untrusted text, safe in a table cell: no markup, links or mentions."""
    flat = " ".join(text.split())
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    return _MENTION.sub("@\u200b", _MARKDOWN.sub(r"\\\1", flat))


def code(value: str) -> str:
    """A short identifier in a code span; anything odd is escaped text instead."""
    return f"`{value}`" if _NAME.match(value) or _SHA.match(value) else inline(value, 80)


def _commits(commits: list[str]) -> str:
    shown = [code(c[:12]) if _SHA.match(c) else inline(c, 40) for c in commits[:5]]
    more = f" +{len(commits) - 5}" if len(commits) > 5 else ""
    return ", ".join(shown) + more if shown else "—"


def issue_title(facts: Facts) -> str:
    what = f"alert {facts.run_ref}" if facts.is_alert else f"run {facts.run_ref}"
    title = f"Healer could not fix {facts.failure_type} in {facts.repository} ({what})"
    return title[:MAX_TITLE]


def _links(facts: Facts) -> list[str]:
    links = []
    if facts.run_url:
        label = "the alert" if facts.is_alert else f"workflow run {facts.run_ref}"
        links.append(f"[{label}]({_url(facts.run_url)})")
    if facts.pull_request is not None and facts.pull_url:
        links.append(f"[pull request #{facts.pull_request}]({_url(facts.pull_url)})")
    return links


def _url(url: str) -> str:
    return url.replace(" ", "%20").replace("(", "%28").replace(")", "%29").replace("<", "%3C")


def _where(facts: Facts) -> str:
    parts = []
    if facts.workflow:
        parts.append(f"workflow {code(facts.workflow)}")
    if facts.job_name:
        parts.append(f"job {code(facts.job_name)}")
    if facts.failing_step:
        parts.append(f"step {code(facts.failing_step)}")
    if facts.branch:
        parts.append(f"branch {code(facts.branch)}")
    return ", ".join(parts)


def attempts_table(facts: Facts) -> list[str]:
    rows = [
        "| # | agent | outcome | summary | commits | CodeRun |",
        "|---|---|---|---|---|---|",
    ]
    for a in facts.attempts[:MAX_ROWS]:
        rows.append(
            f"| {a.attempt} | {inline(a.agent or 're-run', 40)} | {inline(a.outcome or '?', 40)} "
            f"| {inline(a.summary) or '—'} | {_commits(a.commits)} "
            f"| {code(a.coderun_name) if a.coderun_name else '—'} |"
        )
    if len(facts.attempts) > MAX_ROWS:
        rows.append(f"| … | {len(facts.attempts) - MAX_ROWS} more attempts | | | | |")
    return rows


def comment_body(facts: Facts) -> str:
    """Markdown for a PR comment or an issue body (well under GitHub's 65,536 characters)."""
    count = len(facts.attempts)
    noun = "attempt" if count == 1 else "attempts"
    where = _where(facts)
    lines = [
        "## Healer could not fix this failure",
        "",
        f"Healer made {count} {noun} to fix the {code(facts.failure_type)} failure in "
        f"{inline(facts.subject)}" + (f" ({where})" if where else "") + ", and is handing it "
        "to a human.",
        "",
    ]
    links = _links(facts)
    if links:
        lines += ["Links: " + " · ".join(links), ""]
    if facts.attempts:
        lines += ["### Attempts", "", *attempts_table(facts), ""]
    lines += ["### Last error", "", fence(facts.last_error or "(none recorded)", MAX_ERROR_BYTES)]
    if facts.excerpt:
        source = f" (stored at `{facts.log_key}`)" if _safe_key(facts.log_key) else ""
        lines += [
            "",
            "<details><summary>CI log excerpt</summary>",
            "",
            f"Untrusted CI output{source}:",
            "",
            fence(facts.excerpt, MAX_EXCERPT_BYTES),
            "",
            "</details>",
        ]
    lines += ["", f"<sub>Healer task {code(facts.task_id)}</sub>", ""]
    return "\n".join(lines)


def _safe_key(key: str) -> bool:
    return bool(key) and "`" not in key and len(key) < 300
