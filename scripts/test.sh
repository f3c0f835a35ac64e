#!/usr/bin/env bash
# Set up, then lint, type-check (strict over shared/, tools/, functions/ and tests/) and run
# every tier.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/pytest -q "$@"
