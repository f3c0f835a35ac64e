#!/usr/bin/env bash
# Create .venv at the repo root with Healer and its dev tools, and make sure redis-server exists
# (the integration tests start a real one), and podman, runc and debootstrap (the image tests
# build a Debian base and the image, and run it).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet -e '.[dev]'

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v podman >/dev/null 2>&1 || missing+=(podman)
command -v runc >/dev/null 2>&1 || missing+=(runc)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if [ "${#missing[@]}" -gt 0 ] && command -v apt-get >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The manifest tests render the kustomizations with `kubectl kustomize` (kubectl >= 1.27). Debian's
# own kubernetes-client is far older, so it is not installed from here: say what is missing.
if ! command -v kubectl >/dev/null 2>&1; then
  echo "setup: kubectl not found; tests/unit/manifests will fail until kubectl >= 1.27 is on PATH" >&2
fi
