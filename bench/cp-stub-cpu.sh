#!/usr/bin/env bash
# CPU cost per request of cp-stub vs the minimal hyper server: where the
# rps@64 gap of bench/cp-stub.sh goes. Each server pinned to SERVER_CPU,
# wrk -c64 pinned to WRK_CPU; `perf stat` counts the server's task-clock
# over 5 s of the load; kernel / user split from `perf record`.
#
#   bench/cp-stub-cpu.sh          # REPEAT=3 rounds, servers alternated
#
# Needs: wrk, taskset, perf, bc. Builds what bench/cp-stub.sh builds.
set -euo pipefail
cd "$(dirname "$0")/.."
REPEAT=${REPEAT:-3}
SERVER_CPU=${SERVER_CPU:-0}
WRK_CPU=${WRK_CPU:-1}
TARGET=${CARGO_TARGET_DIR:-target}
PORT=${PORT:-19790}
for tool in wrk taskset perf bc; do
  command -v "$tool" >/dev/null || { echo "bench/cp-stub-cpu.sh: $tool is missing" >&2; exit 2; }
done
cargo build --release -p cp-stub --bin cp-stub --example bench_minimal >&2
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

# name, then the server's argv (which must listen on $PORT)
measure() {
  local name=$1
  shift
  taskset -c "$SERVER_CPU" "$@" >/dev/null 2>&1 &
  local pid=$!
  sleep 0.5
  taskset -c "$WRK_CPU" wrk -t1 -c64 -d7s -s bench/cp-stub-provision.lua \
    "http://127.0.0.1:$PORT/cp/workspaces/provision" >"$OUT/wrk" &
  local wrk=$!
  sleep 1
  perf stat -x, -e task-clock -p "$pid" -o "$OUT/stat" -- sleep 5 >/dev/null 2>&1
  wait "$wrk"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  local rps ms
  rps=$(awk '/Requests\/sec/ {print $2}' "$OUT/wrk")
  ms=$(awk -F, '/task-clock/ {print $1}' "$OUT/stat")
  printf '%-22s rps %8.0f  cpu %6.0f ms / 5 s  %5.2f µs CPU per request\n' \
    "$name" "$rps" "$ms" "$(echo "$ms * 1000 / ($rps * 5)" | bc -l)"
}
for r in $(seq "$REPEAT"); do
  echo "round $r/$REPEAT"
  measure minimal "$TARGET/release/examples/bench_minimal" "127.0.0.1:$PORT"
  measure cp-stub "$TARGET/release/cp-stub" --port "$PORT" --log-format off
  measure "cp-stub (no journal)" "$TARGET/release/cp-stub" --port "$PORT" --log-format off --journal-capacity 0
done
