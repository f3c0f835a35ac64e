#!/usr/bin/env bash
# Set up, then replay the bundled GitHub deliveries through the whole pipeline, in-process and
# offline (recorded GitHub API responses from examples/github).
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh
.venv/bin/healer replay examples/deliveries "$@"
