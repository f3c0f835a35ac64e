"""Prompt rendering: one jinja2 environment per process over ``prompts/``.

Everything a template interpolates came from GitHub, CI or an agent (PR titles, branch and file
names, job names, summaries, errors) and is untrusted. The environment is safe by default, the
way HTML autoescaping is: its ``finalize`` hook masks credentials in every ``{{ … }}`` value and
flattens it to one bounded line that cannot start a heading, list, quote, table, fence or HTML
block. Only text already made inert passes unchanged: ``fence`` (multi-line text in a code fence
longer than any backtick run inside, so it cannot be closed), ``code`` (an inline code span
likewise) and ``oneline`` with a larger bound. The whole prompt is masked once more at the end.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from healer.secrets import mask

if TYPE_CHECKING:
    import jinja2

    from healer.models import AttemptSummary, ContextGathered
    from healer.roster import Specialist

MAX_UNTRUSTED_BYTES = 16 * 1024
MAX_LINE_CHARS = 300
DEFAULT_DIR = Path(__file__).resolve().parents[2] / "prompts"
_BACKTICKS = re.compile(r"`{3,}")
_TICK_RUN = re.compile(r"`+")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# Whitespace of every kind (\r, \x85, \u2028, \u2029 …), control, format and bidi characters.
_BREAKS = re.compile(
    r"[\s\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e"
    r"\u2060-\u206f\ufeff\ufff9-\ufffb]+"
)
_BLOCK_START = re.compile(r"[#>|<=+*_~`:\\-]")
_ORDERED = re.compile(r"\d+(?=[.)])")


class Inert(str):
    """Text already made safe for a prompt (fenced, a code span or one flattened line)."""

    __slots__ = ()


def _clean(text: str) -> str:
    """Masked, and valid UTF-8 (a lone surrogate would fail when the prompt is encoded)."""
    return _SURROGATE.sub("\ufffd", mask(text))


def oneline(value: object, limit: int = MAX_LINE_CHARS) -> Inert:
    """``value`` as one line of at most ``limit`` characters that starts no Markdown block."""
    flat = _BREAKS.sub(" ", _clean(str(value))).strip()
    if len(flat) > limit:
        flat = flat[: max(1, limit - 1)].rstrip() + "…"
    if _BLOCK_START.match(flat):
        flat = "\\" + flat
    elif ordered := _ORDERED.match(flat):
        flat = f"{ordered.group()}\\{flat[ordered.end() :]}"
    return Inert(flat)


def code(value: object, limit: int = MAX_LINE_CHARS) -> Inert:
    """``value`` flattened into an inline code span its own backticks cannot close."""
    flat = _BREAKS.sub(" ", _clean(str(value))).strip()
    if len(flat) > limit:
        flat = flat[: max(1, limit - 1)].rstrip() + "…"
    longest = max((len(m.group()) for m in _TICK_RUN.finditer(flat)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") or not flat else ""
    return Inert(f"{ticks}{pad}{flat}{pad}{ticks}")


def fence(text: str, limit: int = MAX_UNTRUSTED_BYTES) -> Inert:
    """Bound ``text`` to ``limit`` UTF-8 bytes, mask it and fence it so it cannot escape."""
    text = _clean(str(text))
    data = text.encode("utf-8")
    if len(data) > limit:
        text = data[:limit].decode("utf-8", "ignore") + "\n… truncated …"
    longest = max((len(m.group()) for m in _BACKTICKS.finditer(text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return Inert(f"{ticks}text\n{text.rstrip()}\n{ticks}")


def finalize(value: object) -> str:
    """Every ``{{ … }}`` value: inert text as it is, anything else flattened to one line."""
    return value if isinstance(value, Inert) else oneline(value)


def environment(
    directory: str | Path | None = None, loader: jinja2.BaseLoader | None = None
) -> jinja2.Environment:
    """The process's template environment: strict about undefined names, and every value
    flattened unless a filter made it inert (``finalize``); no HTML escaping."""
    import jinja2

    env = jinja2.Environment(
        loader=loader or jinja2.FileSystemLoader(str(directory or DEFAULT_DIR)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=finalize,
    )
    env.filters.update(fence=fence, oneline=oneline, code=code)
    return env


def render_context(context: ContextGathered, *, branch: str = "") -> dict[str, Any]:
    """The template variables: the gathered context's dump plus a few flattened names."""
    data = context.model_dump(mode="json")
    classified = context.classified
    failure = classified.failure
    alert = classified.alert
    data.update(
        verdict=data["classified"]["primary"],
        repository=failure.repository if failure else alert.repository if alert else "",
        run_id=failure.run_id if failure else 0,
        run_attempt=failure.run_attempt if failure else 1,
        html_url=(failure.html_url if failure else alert.html_url if alert else ""),
        branch=branch
        or (context.pull_request.head_ref if context.pull_request else "")
        or (failure.head_branch if failure else ""),
    )
    return data


def render_prompt(
    env: jinja2.Environment,
    context: ContextGathered,
    specialist: Specialist,
    *,
    max_attempts: int = 3,
    previous_attempts: list[AttemptSummary] | None = None,
    branch: str = "",
) -> str:
    """The specialist's prompt; from the second attempt on, the retry template wraps it.
    ``branch`` is where the agent pushes (spawn's choice; else the PR's or the run's)."""
    variables = render_context(context, branch=branch)
    attempts = previous_attempts if previous_attempts is not None else context.previous_attempts
    if context.attempt > 1 or attempts:
        variables.update(
            specialist_template=specialist.template,
            max_attempts=max_attempts,
            previous_attempts=[a.model_dump(mode="json") for a in attempts],
        )
        return mask(env.get_template("retry.md.j2").render(variables))
    return mask(env.get_template(specialist.template).render(variables))
