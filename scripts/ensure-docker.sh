#!/usr/bin/env bash
# Makes sure a Docker engine answers, installing and starting it when it
# does not: apt-get install docker.io + docker-compose (Debian), then dockerd
# in the background. Idempotent: a running engine is left alone.
#
#   scripts/ensure-docker.sh            # dockerd log: target/ci/dockerd.log
#   DOCKERD_LOG=/tmp/d.log scripts/ensure-docker.sh
#
# Needs root for the install and for dockerd (as on the CI machines).
set -euo pipefail
cd "$(dirname "$0")/.."
LOG=${DOCKERD_LOG:-$(pwd)/target/ci/dockerd.log}
mkdir -p "$(dirname "$LOG")"

if docker info >/dev/null 2>&1; then
  echo "docker: the engine answers already"
  exit 0
fi
if ! command -v dockerd >/dev/null || ! command -v docker-compose >/dev/null; then
  if [[ $(id -u) != 0 ]]; then
    echo "docker: not installed, and installing it needs root: apt-get install docker.io docker-compose, start dockerd, then rerun" >&2
    exit 1
  fi
  echo "docker: installing docker.io and docker-compose (Debian)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends docker.io docker-compose >/dev/null
fi
if ! pgrep -x dockerd >/dev/null; then
  echo "docker: starting dockerd (log: $LOG)"
  nohup dockerd >"$LOG" 2>&1 &
fi
deadline=$(($(date +%s) + 90))
until docker info >/dev/null 2>&1; do
  if (($(date +%s) > deadline)); then
    echo "docker: dockerd did not answer within 90 s; the end of its log ($LOG):" >&2
    tail -n 50 "$LOG" >&2 2>/dev/null || true
    exit 1
  fi
  sleep 1
done
echo "docker: engine $(docker info --format '{{.ServerVersion}}') is up"
