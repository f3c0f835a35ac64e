#!/usr/bin/env bash
# Create .venv at the repo root with Healer and its dev tools, and make sure redis-server exists
# (the integration tests start a real one).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet -e '.[dev]'

if ! command -v redis-server >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >/dev/null
fi

# The manifest tests render the kustomizations with `kubectl kustomize` (kubectl >= 1.27). Debian's
# own kubernetes-client is far older, so it is not installed from here: say what is missing.
if ! command -v kubectl >/dev/null 2>&1; then
  echo "setup: kubectl not found; tests/unit/manifests will fail until kubectl >= 1.27 is on PATH" >&2
fi
