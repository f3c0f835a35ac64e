"""Where a running ``healer dev`` can be found: ``.healer/dev.json`` in the folder it runs in.

``healer status``, ``healer finish`` and ``healer deadletters`` read it, so they reach the
running instance (its broker ingress, its status function) instead of a process-local store.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

DEV_FILE = Path(".healer") / "dev.json"


@dataclass(frozen=True)
class RunningDev:
    ingress: str
    stages: dict[str, str] = field(default_factory=dict)
    pid: int = 0

    @property
    def status(self) -> str:
        return self.stages.get("status", "")


def write(dev: RunningDev, path: Path = DEV_FILE) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(dev), sort_keys=True), encoding="utf-8")


def remove(path: Path = DEV_FILE) -> None:
    try:
        current = read(path)
        if current is None or current.pid == os.getpid():
            path.unlink(missing_ok=True)
    except OSError:
        pass


def read(path: Path = DEV_FILE) -> RunningDev | None:
    """The running instance this folder's ``healer dev`` wrote, or None (absent, stale)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("ingress"), str):
        return None
    stages = raw.get("stages")
    stages = stages if isinstance(stages, dict) else {}
    pid = raw.get("pid")
    pid = pid if isinstance(pid, int) else 0
    if pid and not _alive(pid):
        return None
    return RunningDev(str(raw["ingress"]), {str(k): str(v) for k, v in stages.items()}, pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True
