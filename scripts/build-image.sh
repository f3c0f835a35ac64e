#!/usr/bin/env bash
# Build the one Healer image (every stage; HEALER_FUNCTION picks one at run time).
#
#   ./scripts/build-image.sh [TAG]        # default tag: healer:dev
#
# Environment:
#   CONTAINER_ENGINE  podman or docker (default: podman if installed, else docker)
#   BASE_IMAGE        base image with python3 >= 3.11 and venv (default in the Containerfile:
#                     docker.io/library/python:3.11-slim); a local one such as
#                     localhost/healer-base works where no registry is reachable
#   BUILD_CA_BUNDLE   CA bundle pip inside the build should trust (default: $PIP_CERT when
#                     that file exists), for an index behind a TLS-intercepting proxy; podman
#                     mounts it read-only into the build, it never lands in the image
set -euo pipefail
cd "$(dirname "$0")/.."

TAG="${1:-healer:dev}"

ENGINE="${CONTAINER_ENGINE:-}"
if [ -z "$ENGINE" ]; then
  if command -v podman >/dev/null 2>&1; then
    ENGINE=podman
  elif command -v docker >/dev/null 2>&1; then
    ENGINE=docker
  else
    echo "build-image: neither podman nor docker is installed" >&2
    exit 1
  fi
fi

args=(build --file Containerfile --tag "$TAG")
if [ -n "${BASE_IMAGE:-}" ]; then
  args+=(--build-arg "BASE_IMAGE=$BASE_IMAGE")
  # A local base (podman import) has no registry to pull from.
  case "$BASE_IMAGE" in localhost/*) [ "$ENGINE" = podman ] && args+=(--pull=never) ;; esac
fi

CA="${BUILD_CA_BUNDLE:-${PIP_CERT:-}}"
if [ -n "$CA" ] && [ -f "$CA" ]; then
  if [ "$ENGINE" = podman ]; then
    args+=(--volume "$(realpath "$CA"):/run/host-ca.crt:ro" --build-arg PIP_CERT=/run/host-ca.crt)
  else
    echo "build-image: docker builds cannot mount $CA; building without it" >&2
  fi
fi

exec "$ENGINE" "${args[@]}" .
