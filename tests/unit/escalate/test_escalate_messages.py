"""What humans read: the GitHub comment and the Discord message, safe and within limits."""

from __future__ import annotations

import json
import re

from escalate_fixtures import alert_context, attempts, exhausted, failure_context

from functions.escalate import discord
from functions.escalate.comment import comment_body, inline, issue_title
from functions.escalate.facts import facts_of
from healer.models import AttemptSummary
from healer.state.records import TaskRecord


def test_comment_lists_every_attempt_the_error_and_links() -> None:
    body = comment_body(facts_of(exhausted()))
    for i in (1, 2, 3):
        assert f"| {i} | " in body and f"`healer-acme-widgets-7001-a{i}`" in body
        assert f"`{i:07x}abcde`" in body  # commits shortened to 12 characters
    assert "| 3 | atlas | failed | attempt 3: adjusted the parser |" in body
    assert "`rust_test`" in body and "job `test`" in body and "Run cargo test" in body
    assert "cargo test: 2 tests failed after the third fix" in body
    assert "[workflow run 7001](https://github.com/acme/widgets/actions/runs/7001)" in body
    assert "[pull request #42](https://github.com/acme/widgets/pull/42)" in body
    assert "repos/acme/widgets/runs/7001/attempt-1/jobs/90001.log" in body


def test_the_excerpt_is_fenced_redacted_and_cannot_close_its_fence() -> None:
    body = comment_body(facts_of(exhausted()))
    start = body.index("````text\nerror[E0308]")
    end = body.index("\n````", start + 1)
    fenced = body[start:end]
    assert "``` closing attempt" in fenced  # inside a longer fence: still just text
    assert "ghp_" + "a" * 36 not in body and "***" in fenced


def test_agent_text_cannot_add_links_html_or_mentions() -> None:
    hostile = AttemptSummary(
        attempt=1,
        agent="rex",
        outcome="failed",
        summary="done | ![x](https://evil.example/p.png) <img src=x> @octocat password=hunter2",
    )
    body = comment_body(facts_of(exhausted(attempts=[hostile])))
    row = next(line for line in body.splitlines() if line.startswith("| 1 |"))
    assert row.count(" | ") == 5  # the summary's pipe is escaped, the columns stay six
    assert re.search(r"(?<!\\)[\]<]", row) is None  # every bracket escaped: no link, no tag
    assert "@octocat" not in row and "@\u200boctocat" in row
    assert "hunter2" not in row
    assert inline("a\nb\tc") == "a b c"


def test_issue_title_names_the_failure_and_the_run_or_alert() -> None:
    assert issue_title(facts_of(exhausted())) == (
        "Healer could not fix rust_test in acme/widgets (run 7001)"
    )
    alert = facts_of(exhausted(alert_context()))
    assert issue_title(alert) == (
        "Healer could not fix security_dependabot in acme/widgets (alert dependabot-3)"
    )
    assert alert.run_url == "https://github.com/acme/widgets/security/dependabot/3"


def test_facts_without_context_come_from_the_task_record() -> None:
    event = exhausted(failure_context()).model_copy(update={"context": None, "last_error": ""})
    record = TaskRecord(failure_type="python_test", branch="main", run_id=7001)
    facts = facts_of(event, record)
    assert (facts.failure_type, facts.branch, facts.pull_request) == ("python_test", "main", None)
    assert facts.last_error == "cargo test still fails (3)"  # the last attempt's error
    assert "Last error" in comment_body(facts)


def test_discord_message_never_pings_and_keeps_text_in_a_block() -> None:
    payload = discord.message(facts_of(exhausted()))
    assert payload["allowed_mentions"] == {"parse": []}
    (embed,) = payload["embeds"]
    assert embed["url"] == "https://github.com/acme/widgets/actions/runs/7001"
    assert [f["name"] for f in embed["fields"]] == [
        "Attempt 1: rex — failed",
        "Attempt 2: rex — failed",
        "Attempt 3: atlas — failed",
    ]
    assert "healer\\-acme\\-widgets\\-7001\\-a3" in embed["fields"][2]["value"]
    assert embed["description"].count("```") == 2
    assert "rust\\_test" in payload["content"] and "acme/widgets\\#7001" in payload["content"]


def test_discord_limits_hold_for_huge_input() -> None:
    many = [
        AttemptSummary(attempt=i, agent="rex" * 100, outcome="failed", summary="x" * 5000)
        for i in range(1, 41)
    ]
    event = exhausted(attempts=many, last_error="``` boom\n" * 2000)
    payload = discord.message(facts_of(event))
    (embed,) = payload["embeds"]
    assert len(payload["content"]) <= discord.CONTENT_MAX
    assert len(embed["title"]) <= discord.TITLE_MAX
    assert len(embed["description"]) <= discord.DESCRIPTION_MAX
    assert len(embed["fields"]) <= discord.FIELDS_MAX
    assert all(len(f["name"]) <= 256 and len(f["value"]) <= 1024 for f in embed["fields"])
    assert discord._total(embed) <= discord.EMBED_TOTAL_MAX
    assert embed["fields"][0]["name"] == "…"  # how many are not shown
    hidden = int(embed["fields"][0]["value"].split()[0])
    assert hidden + len(embed["fields"]) - 1 == 40
    assert embed["fields"][-1]["name"].startswith("Attempt 40:")  # the latest stay
    assert embed["description"].count("```") % 2 == 0
    json.dumps(payload)  # serialisable as is


def test_cut_closes_an_open_code_block() -> None:
    text = "Last error:\n```\n" + "y" * 100 + "\n```"
    cut = discord.cut(text, 50)
    assert len(cut) <= 50 and cut.endswith("```") and cut.count("```") == 2
    assert discord.cut("short", 50) == "short"
    assert discord.fit({"content": "z" * 3000, "embeds": []})["content"].endswith("…")


def test_counts_read_well() -> None:
    one = comment_body(facts_of(exhausted(attempts=attempts(1))))
    assert "made 1 attempt to fix" in one
    assert "after 1 attempt;" in discord.message(facts_of(exhausted(n=1)))["content"]
