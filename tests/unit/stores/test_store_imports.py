"""Cold start: store modules load their client libraries only when a backend is built."""

from __future__ import annotations

import json
import subprocess
import sys


def test_backend_modules_import_without_their_clients() -> None:
    code = (
        "import json, sys; import healer.stores.s3, healer.stores.redis, healer.stores.factory; "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} "
        "& {'boto3', 'botocore', 'obstore', 'redis'})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []
