"""How hops read: one line per delivery, the verdict under classified and gathered hops, the
agent, CodeRun and prompt under a started remediation, who was told of an escalated one (and,
offline, what they were told), and a summary. Works on the JSON form of a hop so remote
(``healer dev``) hops print the same."""

from __future__ import annotations

from typing import Any

from healer.vocabulary import EventType
from healer_dev.broker.hops import Hop, Outcome

_FAILED = {Outcome.REJECTED.value, Outcome.FAILED.value}
_REMEDIATION = (EventType.REMEDIATION_STARTED, EventType.REMEDIATION_SKIPPED)
_REMEDIATION_FIELDS = (
    "action",
    "agent",
    "coderun_name",
    "launched_to",
    "branch",
    "prompt_key",
    "reason",
    "code",
    "waiting_since",
)
_ESCALATION_FIELDS = (
    "channels",
    "comment_url",
    "comment_kind",
    "disabled",
    "errors",
    "message_key",
    "discord_key",
)
PROMPT_LINES = 25
MESSAGE_LINES = 40


def short(ident: str, n: int = 8) -> str:
    return ident if len(ident) <= n else ident[:n] + "…"


def _verdict(primary: Any) -> dict[str, Any] | None:
    if not isinstance(primary, dict):
        return None
    return {
        k: primary.get(k) for k in ("failure_type", "agent", "action", "confidence", "failing_step")
    }


def record(hop: Hop) -> dict[str, Any]:
    """``hop.to_json()`` plus what its reply says (verdict, gathered context), when readable."""
    out = hop.to_json()
    if hop.reply is None or hop.reply_type not in (
        EventType.FAILURE_CLASSIFIED,
        EventType.CONTEXT_GATHERED,
        EventType.REMEDIATION_ESCALATED,
        *_REMEDIATION,
    ):
        return out
    from healer.events import event_data

    try:
        data = event_data(hop.reply)
    except Exception:  # a reply we cannot read is still a hop
        return out
    if hop.reply_type in _REMEDIATION:
        out["remediation"] = {k: data.get(k) for k in _REMEDIATION_FIELDS if k in data}
        return out
    if hop.reply_type == EventType.REMEDIATION_ESCALATED:
        out["escalation"] = {k: data.get(k) for k in _ESCALATION_FIELDS if k in data}
        return out
    if hop.reply_type == EventType.FAILURE_CLASSIFIED:
        verdict = _verdict(data.get("primary"))
    else:
        classified = data.get("classified")
        verdict = _verdict(classified.get("primary") if isinstance(classified, dict) else None)
        pull = data.get("pull_request")
        out["context"] = {
            "pull_request": pull.get("number") if isinstance(pull, dict) else None,
            "changed_files": data.get("changed_files_total", 0),
            "history": len(data.get("history") or []),
            "missing": list(data.get("missing") or []),
        }
    if verdict is not None:
        out["verdict"] = verdict
    return out


def failed(rec: dict[str, Any]) -> bool:
    if rec.get("outcome") in _FAILED:
        return True
    if rec.get("outcome") in (Outcome.DEAD_LETTER.value, Outcome.INGRESS.value):
        status = rec.get("status")
        return not isinstance(status, int) or not 200 <= status < 300
    return False


def lines(rec: dict[str, Any]) -> list[str]:
    outcome = rec.get("outcome")
    status = rec.get("status")
    code = "" if status is None else f"{status} "
    ident = f"{rec.get('type', '')} {short(str(rec.get('id', '')))}"
    head = f"[{rec.get('stage', '')}] {ident} →"
    reason = str(rec.get("reason") or "")
    dead = " (dead-lettered)" if rec.get("dead_lettered") else ""
    if outcome == Outcome.REPLY:
        text = f"{head} {code}{rec.get('reply_type', '')} {short(str(rec.get('reply_id', '')))}"
    elif outcome == Outcome.ACCEPTED:
        text = f"{head} {code}accepted"
    elif outcome == Outcome.SKIPPED:
        text = f"{head} {code}skipped: {reason}"
    elif outcome == Outcome.REJECTED:
        text = f"{head} {code}rejected: {reason}{dead}"
    elif outcome == Outcome.FAILED:
        tries = rec.get("attempts", 0)
        text = f"{head} {code or 'no answer '}failed after {tries} attempts: {reason}{dead}"
    elif outcome == Outcome.UNDELIVERABLE:
        text = f"{head} undeliverable: {reason}"
    elif outcome == Outcome.DROPPED:
        text = f"[broker] {ident} → dropped: {reason}"
    elif outcome == Outcome.DEAD_LETTER:
        text = f"[{rec.get('stage', '')}] dead letter {ident} → {code}{reason}".rstrip()
    else:
        text = f"{head} {code}{reason}".rstrip()
    out = [text]
    verdict = rec.get("verdict")
    context = rec.get("context")
    if isinstance(verdict, dict) and not isinstance(context, dict):
        confidence = verdict.get("confidence")
        conf = f"{confidence:.2f}" if isinstance(confidence, int | float) else "?"
        step = verdict.get("failing_step") or "unknown step"
        out.append(
            f"    verdict: {verdict.get('failure_type')} → {verdict.get('agent')} "
            f"({verdict.get('action')}, confidence {conf}), failing step: {step}"
        )
    if isinstance(context, dict):
        pull = f"PR #{context['pull_request']}" if context.get("pull_request") else "no PR"
        missing = context.get("missing") or []
        extra = f", missing: {', '.join(missing)}" if missing else ""
        out.append(
            f"    context: {pull}, {context.get('changed_files', 0)} changed files, "
            f"{context.get('history', 0)} past remediations{extra}"
        )
    remediation = rec.get("remediation")
    if isinstance(remediation, dict):
        out += _remediation_lines(remediation)
    escalation = rec.get("escalation")
    if isinstance(escalation, dict):
        out += _escalation_lines(escalation)
    return out


def with_messages(rec: dict[str, Any], blobs: Any, *, discord_configured: bool) -> dict[str, Any]:
    """An escalated hop's record with the comment body and the Discord message escalate stored
    (``blobs`` is a ``BlobStore``); ``discord_sent`` says whether a webhook was configured."""
    escalation = rec.get("escalation")
    if not isinstance(escalation, dict):
        return rec
    import json

    from healer.errors import HealerError

    extra: dict[str, Any] = {"discord_sent": discord_configured}
    for field, key in (("comment_body", "message_key"), ("discord_message", "discord_key")):
        name = escalation.get(key)
        if not name:
            continue
        try:
            text = blobs.get(name).decode("utf-8", "replace")
            extra[field] = json.loads(text) if field == "discord_message" else text
        except (HealerError, ValueError) as exc:
            extra[field] = f"(unreadable: {exc})"
    return {**rec, "escalation": {**escalation, **extra}}


def _quoted(text: str, limit: int = MESSAGE_LINES) -> list[str]:
    rows = text.rstrip("\n").splitlines()
    out = [f"    │ {line}".rstrip() for line in rows[:limit]]
    if len(rows) > limit:
        out.append(f"    │ … {len(rows) - limit} more lines")
    return out


def _discord_text(message: Any) -> str:
    if not isinstance(message, dict):
        return str(message)
    parts = [str(message.get("content", ""))]
    for embed in message.get("embeds") or []:
        if isinstance(embed, dict):
            parts += [f"[{embed.get('title', '')}] {embed.get('url', '')}".rstrip()]
            parts += [str(embed.get("description", ""))]
            for f in embed.get("fields") or []:
                if isinstance(f, dict):
                    parts.append(f"{f.get('name', '')}: {f.get('value', '')}")
    return "\n".join(parts)


def _escalation_lines(esc: dict[str, Any]) -> list[str]:
    channels = ", ".join(esc.get("channels") or []) or "nobody"
    kind = {"comment": "a comment on the PR", "issue": "a new issue"}.get(
        str(esc.get("comment_kind") or ""), "GitHub"
    )
    url = f" → {kind}: {esc['comment_url']}" if esc.get("comment_url") else ""
    out = [f"    escalated to {channels}{url}"]
    for name in esc.get("disabled") or []:
        out.append(f"    {name}: off (not configured)")
    errors = esc.get("errors")
    for name, why in errors.items() if isinstance(errors, dict) else []:
        out.append(f"    {name}: refused: {why}")
    if "discord_message" in esc:
        verb = "posted" if esc.get("discord_sent") else "would post; no webhook URL is set"
        out.append(f"    Discord message ({verb}):")
        out += _quoted(_discord_text(esc["discord_message"]))
    if isinstance(esc.get("comment_body"), str):
        out.append(f"    GitHub text, {kind} (kept at {esc.get('message_key')}):")
        out += _quoted(esc["comment_body"])
    return out


def _remediation_lines(rem: dict[str, Any]) -> list[str]:
    if rem.get("waiting_since"):
        return [
            f"    waiting ({rem.get('code')}) since {rem['waiting_since']}: {rem.get('reason')}; "
            "starts when the limit allows"
        ]
    if rem.get("reason"):
        return [f"    skipped: {rem['reason']}"]
    if rem.get("action") != "fix":
        return [f"    action: {rem.get('action')} (GitHub re-runs the failed jobs; no agent)"]
    out = [
        f"    agent: {rem.get('agent')} on branch {rem.get('branch')}, "
        f"CodeRun {rem.get('coderun_name')} → {rem.get('launched_to')}"
    ]
    prompt = rem.get("prompt")
    if isinstance(prompt, str):
        text = prompt.rstrip("\n").splitlines()
        limit = len(text) if rem.get("prompt_full") else PROMPT_LINES
        out.append(f"    prompt ({rem.get('prompt_key')}, {len(text)} lines):")
        out += [f"    │ {line}".rstrip() for line in text[:limit]]
        if len(text) > limit:
            out.append(f"    │ … {len(text) - limit} more lines (--show-prompt prints them all)")
    coderun = rem.get("coderun")
    if isinstance(coderun, dict):
        out.append(f"    CodeRun ({coderun.get('apiVersion')} {coderun.get('kind')}):")
        out += [f"    │ {line}".rstrip() for line in coderun_text(coderun).splitlines()]
    return out


def coderun_text(coderun: dict[str, Any]) -> str:
    """The CodeRun as YAML, its prompt (``spec.promptModification``) shown as a size: the prompt
    is printed above it."""
    import yaml

    spec = coderun.get("spec")
    if isinstance(spec, dict) and isinstance(spec.get("promptModification"), str):
        size = len(spec["promptModification"].encode("utf-8"))
        spec = {**spec, "promptModification": f"<the prompt above, {size} bytes>"}
        coderun = {**coderun, "spec": spec}
    shown = {k: v for k, v in coderun.items() if k not in ("apiVersion", "kind")}
    return str(yaml.safe_dump(shown, sort_keys=False, allow_unicode=True, width=96))


def summary(deliveries: int, records: list[dict[str, Any]], errors: int = 0) -> str:
    emitted = sum(1 for r in records if r.get("outcome") == Outcome.REPLY)
    skipped = sum(1 for r in records if r.get("outcome") == Outcome.SKIPPED)
    bad = sum(1 for r in records if failed(r) and r.get("outcome") != Outcome.DEAD_LETTER) + errors
    text = f"{deliveries} deliveries, {emitted} emitted, {skipped} skipped, {bad} failed"
    undeliverable = sum(1 for r in records if r.get("outcome") == Outcome.UNDELIVERABLE)
    if undeliverable:
        text += f", {undeliverable} undeliverable"
    dead = sum(1 for r in records if r.get("dead_lettered"))
    if dead:
        text += f" ({dead} dead-lettered)"
    return text
