"""The evidence table, as data: which output lines speak for which failure type, and how loudly.

The rules themselves live by domain in ``rules_code``, ``rules_ops``, ``rules_repo``,
``rules_reports``, ``rules_scanners``, ``rules_infra`` and ``rules_general``; this module joins
them and derives the prefilter's needles.
"""

from __future__ import annotations

from healer_classifier.engine.names import NAME_RULES, PATH_RULES
from healer_classifier.engine.rule import Rule
from healer_classifier.engine.rules_code import CODE_RULES
from healer_classifier.engine.rules_general import GENERAL_RULES
from healer_classifier.engine.rules_infra import INFRA_RULES
from healer_classifier.engine.rules_ops import OPS_RULES
from healer_classifier.engine.rules_repo import REPO_RULES
from healer_classifier.engine.rules_reports import REPORT_RULES
from healer_classifier.engine.rules_scanners import SCANNER_RULES

__all__ = ["CANCEL_MARKERS", "NAME_RULES", "NEEDLES", "PATH_RULES", "RULES", "Rule"]

RULES: tuple[Rule, ...] = (
    *CODE_RULES,
    *OPS_RULES,
    *REPO_RULES,
    *REPORT_RULES,
    *SCANNER_RULES,
    *INFRA_RULES,
    *GENERAL_RULES,
)

NEEDLES: tuple[str, ...] = tuple(sorted({r.needle for r in RULES}, key=len, reverse=True))

CANCEL_MARKERS: tuple[str, ...] = (
    "The operation was canceled",
    "The runner has received a shutdown signal",
    "The job was canceled",
    "This job was cancelled",
    "higher priority waiting request",
)
