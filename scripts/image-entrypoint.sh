#!/bin/sh
# The image's entry point: serve the stage named by HEALER_FUNCTION on $PORT.
#
# functions-framework runs the stage under gunicorn (one worker, THREADS threads; Knative sets
# THREADS to containerConcurrency). exec makes gunicorn PID 1, so SIGTERM reaches it and
# in-flight requests finish before the container exits.
set -eu

STAGES="ingest classify gather spawn completion-check escalate status"

case "${HEALER_FUNCTION:-}" in
  ingest | classify | gather | spawn | escalate | status) target="$HEALER_FUNCTION" ;;
  completion-check | completion_check) target="completion_check" ;;
  "")
    echo "healer: HEALER_FUNCTION is not set; set it to one of: $STAGES" >&2
    exit 64
    ;;
  *)
    echo "healer: unknown HEALER_FUNCTION '$HEALER_FUNCTION'; expected one of: $STAGES" >&2
    exit 64
    ;;
esac

exec functions-framework \
  --target "$target" \
  --source "functions/$target/main.py" \
  --signature-type http \
  --port "${PORT:-8080}" \
  "$@"
