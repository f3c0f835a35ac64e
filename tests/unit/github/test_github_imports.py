"""Cold start: importing the client must not load the App-auth crypto stack."""

from __future__ import annotations

import json
import subprocess
import sys


def test_client_import_leaves_jwt_and_cryptography_unloaded() -> None:
    code = (
        "import json, sys; import healer.github.client, healer.github.recorded; "
        "print(json.dumps(sorted(m for m in sys.modules "
        "if m.split('.')[0] in ('jwt', 'cryptography', 'boto3', 'redis'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_exceptions_import_without_httpx() -> None:
    code = "import sys, healer.github.exceptions; print('httpx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
