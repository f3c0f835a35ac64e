"""What a fresh interpreter has loaded after a statement: cold-start checks for functions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def loaded_after(statement: str) -> set[str]:
    """Top-level module names in ``sys.modules`` after running ``statement`` in a new process."""
    probe = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    return {name.split(".")[0] for name in json.loads(out.stdout.splitlines()[-1])}
