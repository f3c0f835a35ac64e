"""Prompt rendering: one jinja2 environment per process over ``prompts/``.

CI log text comes from pull requests, so it is untrusted: the ``fence`` filter bounds it and
wraps it in a code fence longer than any backtick run inside, so the log cannot close the
fence and speak as instructions.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jinja2

    from healer.models import AttemptSummary, ContextGathered
    from healer.roster import Specialist

MAX_UNTRUSTED_BYTES = 16 * 1024
DEFAULT_DIR = Path(__file__).resolve().parents[2] / "prompts"
_BACKTICKS = re.compile(r"`{3,}")


def fence(text: str, limit: int = MAX_UNTRUSTED_BYTES) -> str:
    """Bound ``text`` to ``limit`` UTF-8 bytes and fence it so it cannot escape."""
    data = text.encode("utf-8")
    if len(data) > limit:
        text = data[:limit].decode("utf-8", "ignore") + "\n… truncated …"
    longest = max((len(m.group()) for m in _BACKTICKS.finditer(text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}text\n{text.rstrip()}\n{ticks}"


def environment(
    directory: str | Path | None = None, loader: jinja2.BaseLoader | None = None
) -> jinja2.Environment:
    """The process's template environment: strict about undefined names, no HTML escaping."""
    import jinja2

    env = jinja2.Environment(
        loader=loader or jinja2.FileSystemLoader(str(directory or DEFAULT_DIR)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["fence"] = fence
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
        return env.get_template("retry.md.j2").render(variables)
    return env.get_template(specialist.template).render(variables)
