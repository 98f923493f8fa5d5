#!/usr/bin/env bash
# The floor of the compose gate: what Docker and compose themselves take to
# bring compose.yml's stack up and down, with nothing of the harness in it.
#
#   <compose> -f compose.yml -p <project> up -d
#   curl each published port (/healthz, /health, /health) every 20 ms until
#   all three answer 2xx
#   <compose> -f compose.yml -p <project> down -v
#
# `down` is the plain one a user types (compose's default stop timeout,
# never reached: the servers exit on SIGTERM). `replays gate --stack
# compose` does the same plus seed and the replays; docker/bench.sh times
# both in one run. Prints one line: `floor <total> up <up -d> ready <wait>
# down <down>` in seconds.
#
# Environment: COMPOSE (the compose command) [docker compose when it works,
# else docker-compose]; CP_STUB_PORT, ALPHA_PORT, BETA_PORT [9090, 8081,
# 8082]; CP_STUB_IMAGE, TENANT_IMAGE (as compose.yml); FLOOR_PROJECT
# [cp-harness-floor-<pid>]; FLOOR_TIMEOUT seconds to wait for the ports [120].
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -z ${COMPOSE:-} ]]; then
  if docker compose version >/dev/null 2>&1; then COMPOSE="docker compose"; else COMPOSE=docker-compose; fi
fi
read -r -a compose <<<"$COMPOSE"
project=${FLOOR_PROJECT:-cp-harness-floor-$$}
timeout=${FLOOR_TIMEOUT:-120}
urls=(
  "http://127.0.0.1:${CP_STUB_PORT:-9090}/healthz"
  "http://127.0.0.1:${ALPHA_PORT:-8081}/health"
  "http://127.0.0.1:${BETA_PORT:-8082}/health"
)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }
down() { "${compose[@]}" -f compose.yml -p "$project" down -v >>"$log" 2>&1; }

t0=$(now)
if ! "${compose[@]}" -f compose.yml -p "$project" up -d >"$log" 2>&1; then
  cat "$log" >&2
  down || true
  echo "compose-floor: up -d failed (above)" >&2
  exit 1
fi
t1=$(now)
deadline=$(($(date +%s) + timeout))
pending=("${urls[@]}")
while ((${#pending[@]} > 0)); do
  left=()
  for url in "${pending[@]}"; do
    curl -fs -o /dev/null --max-time 1 "$url" || left+=("$url")
  done
  pending=("${left[@]+"${left[@]}"}")
  ((${#pending[@]} == 0)) && break
  if (($(date +%s) > deadline)); then
    down || true
    echo "compose-floor: no answer after ${timeout} s from: ${pending[*]}" >&2
    exit 1
  fi
  sleep 0.02
done
t2=$(now)
if ! down; then
  cat "$log" >&2
  echo "compose-floor: down -v failed (above)" >&2
  exit 1
fi
t3=$(now)
echo "floor $(secs "$t0" "$t3") up $(secs "$t0" "$t1") ready $(secs "$t1" "$t2") down $(secs "$t2" "$t3")"
