"""The Discord message for an escalation, cut to fit Discord's limits (pure).

Discord refuses a whole message over any limit (content 2,000 characters; per embed: title
256, description 4,096, 25 fields of name 256 / value 1,024, footer 2,048, and 6,000 in all),
so ``fit`` trims the parts that can lose text, keeping code blocks closed. ``allowed_mentions``
is empty so nothing in CI text can ping @everyone or a role.
"""

from __future__ import annotations

import re
from typing import Any

from functions.escalate.facts import Facts

CONTENT_MAX = 2000
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELDS_MAX = 25
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FOOTER_MAX = 2048
EMBED_TOTAL_MAX = 6000
ERROR_CHARS = 1500
COLOR = 0xC0392B
_MARKUP = re.compile(r"([\\*_~`|>\[\]()#-])")
_FENCE = "```"


def escape(text: str) -> str:
    """Untrusted text as plain words: no Discord markdown, masked links or code spans."""
    return _MARKUP.sub(r"\\\1", " ".join(text.split()))


def block(text: str, limit: int = ERROR_CHARS) -> str:
    """Untrusted text in a code block it cannot close (Discord has no longer fences)."""
    body = text.strip().replace(_FENCE, "`\u200b`\u200b`")
    if len(body) > limit:
        body = body[: limit - 1] + "…"
    return f"{_FENCE}\n{body or '(none recorded)'}\n{_FENCE}"


def cut(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters; a code block cut open is closed again."""
    if len(text) <= limit:
        return text
    closing = f"…\n{_FENCE}"
    head = text[: max(0, limit - 1)] + "…"
    if head.count(_FENCE) % 2 == 1:
        head = text[: max(0, limit - len(closing))] + closing
    return head[:limit]


def message(facts: Facts) -> dict[str, Any]:
    """The webhook body: a one-line headline, and an embed with the error and every attempt."""
    count = len(facts.attempts)
    noun = "attempt" if count == 1 else "attempts"
    content = (
        f"Healer could not fix **{escape(facts.failure_type)}** in **{escape(facts.subject)}** "
        f"after {count} {noun}; a human is needed."
    )
    description = []
    if facts.job_name or facts.failing_step:
        where = " · ".join(escape(p) for p in (facts.job_name, facts.failing_step) if p)
        description.append(f"Failed in {where}")
    if facts.pull_request is not None:
        pr = f"PR #{facts.pull_request}"
        description.append(f"[{pr}]({facts.pull_url})" if facts.pull_url else pr)
    description += ["Last error:", block(facts.last_error)]
    fields = [
        {
            "name": f"Attempt {a.attempt}: {escape(a.agent or 're-run')} — "
            f"{escape(a.outcome or '?')}",
            "value": _attempt_value(a.summary, a.commits, a.coderun_name),
            "inline": False,
        }
        for a in facts.attempts
    ]
    embed: dict[str, Any] = {
        "title": f"{facts.subject}: {facts.failure_type}",
        "description": "\n".join(description),
        "color": COLOR,
        "fields": fields,
        "footer": {"text": f"task {facts.task_id}"},
    }
    if facts.run_url:
        embed["url"] = facts.run_url
    payload = {"content": content, "embeds": [embed], "allowed_mentions": {"parse": []}}
    return fit(payload)


def _attempt_value(summary: str, commits: list[str], coderun: str) -> str:
    parts = [escape(summary) if summary else "no summary"]
    if commits:
        parts.append("commits: " + ", ".join(escape(c[:12]) for c in commits[:5]))
    if coderun:
        parts.append(f"CodeRun {escape(coderun)}")
    return "\n".join(parts)


def _total(embed: dict[str, Any]) -> int:
    footer = embed.get("footer") or {}
    return (
        len(embed.get("title", ""))
        + len(embed.get("description", ""))
        + sum(len(f["name"]) + len(f["value"]) for f in embed.get("fields", []))
        + len(footer.get("text", ""))
    )


def fit(payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` within every Discord limit: per-part cuts, then fewer attempts, then a
    shorter description, until the embed's total fits."""
    out = dict(payload)
    out["content"] = cut(str(out.get("content", "")), CONTENT_MAX)
    embeds = []
    for raw in out.get("embeds", [])[:10]:
        embed = dict(raw)
        embed["title"] = cut(str(embed.get("title", "")), TITLE_MAX)
        embed["description"] = cut(str(embed.get("description", "")), DESCRIPTION_MAX)
        if "footer" in embed:
            embed["footer"] = {"text": cut(str(embed["footer"].get("text", "")), FOOTER_MAX)}
        fields = [
            {
                "name": cut(str(f.get("name", "")), FIELD_NAME_MAX) or "\u200b",
                "value": cut(str(f.get("value", "")), FIELD_VALUE_MAX) or "\u200b",
                "inline": bool(f.get("inline", False)),
            }
            for f in embed.get("fields", [])
        ]
        fields = _keep_latest(embed, fields)
        embed["fields"] = fields
        over = _total(embed) - EMBED_TOTAL_MAX
        if over > 0:
            embed["description"] = cut(embed["description"], len(embed["description"]) - over)
        embeds.append(embed)
    out["embeds"] = embeds
    return out


def _note(hidden: int) -> dict[str, Any]:
    return {"name": "…", "value": f"{hidden} earlier attempts (see GitHub)", "inline": False}


def _keep_latest(embed: dict[str, Any], fields: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """All fields if they fit; else the latest that do, after a note saying how many are not."""
    if len(fields) <= FIELDS_MAX and _total({**embed, "fields": fields}) <= EMBED_TOTAL_MAX:
        return fields
    keep = min(len(fields), FIELDS_MAX - 1)
    while keep > 0:
        kept = [_note(len(fields) - keep), *fields[len(fields) - keep :]]
        if _total({**embed, "fields": kept}) <= EMBED_TOTAL_MAX:
            return kept
        keep -= 1
    return [_note(len(fields))]
