"""What stands in for a run id: security alerts have no run, so their kind and number do.

Classify names the alert's verdicts with it, gather and spawn derive the task and the blob keys
from it, escalate checks an escalation names a task that exists: one definition for all four.
"""

from __future__ import annotations

from healer.models import AlertDetected


def alert_ref(alert: AlertDetected) -> str:
    """Stands in for a run id in the subject and task id: ``dependabot-7``."""
    return f"{alert.kind.value.removesuffix('_alert').replace('_', '-')}-{alert.alert_number}"
