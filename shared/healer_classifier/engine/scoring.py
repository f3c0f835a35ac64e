"""Weighing the evidence: the failing step's error block counts most, passed steps barely.

Log evidence per step is multiplied by how much that step can be blamed (failing step 1.0,
steps that passed 0.05), lines in the failing step's final block get a bonus, and the step
command, job and workflow names and changed paths add small, capped amounts.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from healer.vocabulary import Action, FailureType
from healer_classifier.engine.names import NAME_RULES, PATH_RULES, command_type
from healer_classifier.engine.rules_infra import RUNNER_KILL_LABELS
from healer_classifier.engine.steps import TAIL_LINES, Hit, Step, StepTracker

PASSED_FACTOR = 0.05
BLOCK_BONUS = 0.5
COMMAND_WEIGHT = 1.6  # alone, enough to name a type (at low confidence) when the output is mute
COMMAND_OTHER = 0.5  # share for types an earlier command in the same script points to
JOB_WEIGHT = 0.6
WORKFLOW_WEIGHT = 0.4
PATH_WEIGHT = 0.3
MIN_EVIDENCE = 1.5  # below this the log says too little to name a type
# Evidence for ``general`` (Java, Go, C...) keeps stray words from naming a wrong type, but a
# recognised wrapper around it (a container build running make) is still the failure's type.
GENERAL_FACTOR = 0.5
# A resolver that cannot reach its index reports "no matching version": with network errors in
# the same step, those findings are the network's.
NETWORK_CAUSE = 1.0
_DEPS_TYPES = frozenset({FailureType.PYTHON_DEPS, FailureType.FRONTEND_DEPS, FailureType.RUST_DEPS})
UNREACHABLE_LABELS = frozenset(
    {
        "pip: no matching distribution",
        "pip: no satisfying version",
        "cargo: dependency source",
        "cargo: dependency fetch",
        "uv download/build failed",
        "npm registry 404",
        "npm 404",
        "no matching version",
        "yarn: no versions",
    }
)


# Below this confidence a would-be fix is ``unsure``: the evidence is too thin to send an agent.
UNSURE_BELOW = 0.35
# Runner evidence this strong in the failing step (a kill, a timeout, a lost runner) outranks
# what the interrupted tool printed before it stopped: the code is not what failed.
RUNNER_DECISIVE = 4.0
_RERUN_TYPES = frozenset({FailureType.INFRA_NETWORK, FailureType.INFRA_RUNNER})


def action_for(failure_type: FailureType, confidence: float) -> Action:
    """Network and runner failures are re-run; a fix on thin evidence is ``unsure``."""
    if failure_type in _RERUN_TYPES:
        return Action.RERUN
    return Action.UNSURE if confidence < UNSURE_BELOW else Action.FIX


@dataclass
class Scoring:
    """What the evidence scored: the winning failure type, its action and confidence."""

    failure_type: FailureType
    action: Action
    confidence: float
    step: Step | None
    signals: list[str] = field(default_factory=list)
    key_hits: list[Hit] = field(default_factory=list)


def failing_steps(steps: Sequence[Step]) -> list[Step]:
    """Steps with a non-zero exit code, else steps with an error marker, else none."""
    by_exit = [s for s in steps if s.exit_code not in (None, 0)]
    return by_exit or [s for s in steps if s.errored]


def _step_evidence(step: Step, factor: float) -> dict[FailureType, float]:
    out = {t: v * factor for t, v in step.scores.items()}
    if step.failure_line is not None and factor >= 1.0:
        for hit in step.recent:
            if hit.line_no >= step.failure_line - TAIL_LINES:
                out[hit.type] = out.get(hit.type, 0.0) + BLOCK_BONUS * hit.contribution
    return out


def context_scores(
    *, command: str, job_name: str, workflow_name: str, changed_paths: Sequence[str]
) -> tuple[dict[FailureType, float], list[str]]:
    """Weak evidence from names and paths; each source counts a type at most once."""
    scores: dict[FailureType, float] = defaultdict(float)
    notes: list[str] = []
    last = command_type(command) if command else None
    if last is not None:
        scores[last[0]] += COMMAND_WEIGHT
        notes.append(f"step runs '{last[1]}' ({last[0].value}, +{COMMAND_WEIGHT:g})")
        for rule in NAME_RULES:
            m = rule.pattern.search(command)
            if m and rule.type not in scores:
                scores[rule.type] += COMMAND_WEIGHT * COMMAND_OTHER
                notes.append(f"step also mentions '{m.group(0)}' ({rule.type.value})")
    for text, weight, what in (
        (job_name, JOB_WEIGHT, "job name"),
        (workflow_name, WORKFLOW_WEIGHT, "workflow name"),
    ):
        if not text:
            continue
        for rule in NAME_RULES:
            m = rule.pattern.search(text)
            if m and scores.get(rule.type, 0.0) < weight + 2.0:
                scores[rule.type] += weight
                notes.append(f"{what} mentions '{m.group(0)}' ({rule.type.value}, +{weight:g})")
    seen: set[FailureType] = set()
    for path in changed_paths[:500]:
        for rule in PATH_RULES:
            if rule.type not in seen and rule.pattern.search(path):
                seen.add(rule.type)
                scores[rule.type] += PATH_WEIGHT
                notes.append(f"changed path {path} ({rule.type.value}, +{PATH_WEIGHT:g})")
    return dict(scores), notes


INNER_MIN = 6.0  # evidence a tool inside a container build needs to be named the cause
_INNER_CATEGORIES = ("rust_", "frontend_", "python_")


def _inside_container_build(
    winner: FailureType, ranked: list[tuple[FailureType, float]]
) -> FailureType | None:
    """A docker/BuildKit failure whose RUN step failed in a Rust, JS or Python tool with strong
    evidence of its own: BuildKit's lines only wrap that tool's error, which is the one to fix."""
    if winner is not FailureType.DOCKER_BUILD or len(ranked) < 2:
        return None
    runner_up, score = ranked[1]
    if runner_up.value.startswith(_INNER_CATEGORIES) and score >= INNER_MIN:
        return runner_up
    return None


def confidence(top: float, second: float) -> float:
    margin = top / (top + second + 1.0)
    strength = min(1.0, math.sqrt(top / 6.0))
    return round(max(0.05, min(0.99, margin * strength)), 2)


def decide(
    tracker: StepTracker,
    *,
    job_name: str = "",
    workflow_name: str = "",
    changed_paths: Sequence[str] = (),
) -> Scoring:
    steps = tracker.steps
    failing = failing_steps(steps)
    blamed = {s.index for s in failing}
    evidence: dict[FailureType, float] = defaultdict(float)
    per_step: dict[int, dict[FailureType, float]] = {}
    muted: dict[FailureType, float] = defaultdict(float)
    for step in steps:
        factor = 1.0 if not blamed or step.index in blamed else PASSED_FACTOR
        ev = _step_evidence(step, factor)
        per_step[step.index] = ev
        for t, v in ev.items():
            evidence[t] += v
            if factor < 1.0:
                muted[t] += step.scores.get(t, 0.0)

    candidates = failing or [s for s in steps if s.scores] or [steps[-1]]
    primary = max(candidates, key=lambda s: (max(per_step[s.index].values(), default=0.0), s.index))
    log_top = max(evidence.values(), default=0.0)

    ctx, ctx_notes = context_scores(
        command=primary.context_text if primary.framed or tracker.framing else "",
        job_name=job_name,
        workflow_name=workflow_name,
        changed_paths=changed_paths,
    )
    total: dict[FailureType, float] = dict(evidence)
    if FailureType.GENERAL in total:
        total[FailureType.GENERAL] *= GENERAL_FACTOR
    for t, v in ctx.items():
        total[t] = total.get(t, 0.0) + v

    signals: list[str] = []
    if failing:
        step_note = f"failing step: {primary.name or '(unnamed: the log starts inside it)'}"
    elif primary.name:
        step_note = f"step: {primary.name} (no failure marker)"
    else:
        step_note = "no CI step framing: the whole log is the failing output"
    if primary.exit_code not in (None, 0):
        step_note += f" (exit code {primary.exit_code})"
    signals.append(step_note)

    if tracker.binary:
        return Scoring(
            FailureType.GENERAL,
            Action.UNSURE,
            0.05,
            None,
            ["the input is binary data, not a CI log: nothing to classify"],
        )
    if tracker.canceled and log_top < 3.0:
        return Scoring(
            FailureType.INFRA_RUNNER,
            Action.IGNORE,
            0.6,
            primary,
            [*signals, "the job was canceled; nothing to fix"],
        )
    if tracker.total_lines == 0:
        return Scoring(FailureType.GENERAL, Action.IGNORE, 0.1, None, ["the log is empty"])

    ranked = sorted(total.items(), key=lambda kv: kv[1], reverse=True)
    if not ranked or (log_top < MIN_EVIDENCE and ranked[0][1] < MIN_EVIDENCE):
        best = ranked[0][1] if ranked else 0.0
        return Scoring(
            FailureType.GENERAL,
            Action.UNSURE,
            round(min(0.3, 0.1 + best / 10), 2),
            primary,
            [
                *signals,
                "no tool output recognised in the failing step",
                *_runner_ups(ranked, FailureType.GENERAL),
                *ctx_notes[:3],
            ],
            _key_hits(primary, None),
        )
    winner, top = ranked[0]
    runner = per_step[primary.index].get(FailureType.INFRA_RUNNER, 0.0)
    if winner is not FailureType.INFRA_RUNNER and runner >= RUNNER_DECISIVE:
        signals.append(
            f"the runner stopped the step ({_runner_label(primary)}): "
            f"{winner.value} output before it is not the cause"
        )
        top = max(top, total.get(FailureType.INFRA_RUNNER, 0.0))
        winner = FailureType.INFRA_RUNNER
        ranked = [(winner, top), *[(t, v) for t, v in ranked if t is not winner]]
    if _network_caused(primary, winner):
        signals.append(f"{winner.value} findings follow network errors in the same step")
        winner, top = FailureType.INFRA_NETWORK, max(top, total.get(FailureType.INFRA_NETWORK, 0))
        ranked = [(winner, top), *[(t, v) for t, v in ranked if t is not winner]]
    inner = _inside_container_build(winner, ranked)
    if inner is not None:
        signals.append(
            f"the container build failed inside a {inner.value} tool: the cause is in that code"
        )
        ranked = [r for r in ranked if r[0] is inner] + [r for r in ranked if r[0] is not inner]
        winner, top = ranked[0]
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    conf = confidence(top, second)
    if log_top < MIN_EVIDENCE:
        conf = min(conf, 0.35)
    signals.append(_evidence_note(winner, top, steps, blamed))
    if len(ranked) > 1 and second > 0:
        signals.append(f"runner-up: {ranked[1][0].value} ({second:.1f})")
    for t, v in sorted(muted.items(), key=lambda kv: kv[1], reverse=True)[:2]:
        if v >= 2.0 and t != winner:
            signals.append(f"discounted {t.value} evidence ({v:.1f}) in steps that passed")
    signals.extend(ctx_notes[:4])
    action = action_for(winner, conf)
    if action is Action.UNSURE:
        signals.append(f"not sure: confidence {conf:.2f} is below {UNSURE_BELOW:g}")
        signals.extend(_runner_ups(ranked, winner))
    return Scoring(winner, action, conf, primary, signals, _key_hits(primary, winner))


def _runner_ups(ranked: list[tuple[FailureType, float]], winner: FailureType) -> list[str]:
    others = [f"{t.value} ({v:.1f})" for t, v in ranked if t is not winner and v > 0][:3]
    return [f"runner-up types: {', '.join(others)}"] if others else []


def _runner_label(step: Step) -> str:
    labels = [h.label for h in step.hits if h.type is FailureType.INFRA_RUNNER]
    kills = [label for label in labels if label in RUNNER_KILL_LABELS]
    return (kills or labels or ["runner failure"])[0]


def _network_caused(step: Step, winner: FailureType) -> bool:
    if winner not in _DEPS_TYPES:
        return False
    if step.scores.get(FailureType.INFRA_NETWORK, 0.0) < NETWORK_CAUSE:
        return False
    return all(h.label in UNREACHABLE_LABELS for h in step.hits if h.type is winner)


def _evidence_note(winner: FailureType, top: float, steps: Sequence[Step], blamed: set[int]) -> str:
    labels: dict[str, int] = defaultdict(int)
    first_line: dict[str, int] = {}
    for step in steps:
        if blamed and step.index not in blamed:
            continue
        for hit in step.hits:
            if hit.type is winner:
                labels[hit.label] += 1
                first_line.setdefault(hit.label, hit.line_no + 1)
    parts = [
        f"{label} ×{n} (line {first_line[label]})"
        for label, n in sorted(labels.items(), key=lambda kv: -kv[1])[:4]
    ]
    return f"{winner.value} {top:.1f}: " + (", ".join(parts) if parts else "from names and paths")


def _key_hits(step: Step, winner: FailureType | None) -> list[Hit]:
    hits = [h for h in step.hits if winner is None or h.type is winner]
    hits.sort(key=lambda h: (-h.contribution, h.line_no))
    seen: set[str] = set()
    out: list[Hit] = []
    for hit in hits:
        if hit.text not in seen:
            seen.add(hit.text)
            out.append(hit)
        if len(out) == 5:
            break
    return sorted(out, key=lambda h: h.line_no)
