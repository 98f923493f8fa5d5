#!/usr/bin/env bash
# Benchmark: image sizes and the wall time of the compose gate
# (`replays gate --stack compose`: up, wait healthy, seed, every replay in
# replays/cases, down), with a reference measured in the same hyperfine run:
# the same gate on the embedded, in-process stack (what compose adds on top
# is containers, Docker networking and health waits).
#
#   docker/bench.sh       # hyperfine JSON/Markdown go to $BENCH_OUT (default: a temp dir)
#
# Needs Docker, compose, hyperfine and /usr/bin/python3; uses host ports
# 9090, 8081 and 8082 (CP_STUB_PORT / ALPHA_PORT / BETA_PORT). Record the
# results in BENCHMARKS.md ("Images and the compose gate").
set -euo pipefail
cd "$(dirname "$0")/.."
: "${RUNS:=7}"
: "${WARMUP:=1}"
command -v hyperfine >/dev/null || { echo "bench: hyperfine is not installed (apt-get install hyperfine)" >&2; exit 2; }
[ -x /usr/bin/python3 ] || { echo "bench: /usr/bin/python3 is missing" >&2; exit 2; }

echo "bench: images (docker/build-images.sh)"
docker/build-images.sh
cargo build --release -p replays
TARGET="${CARGO_TARGET_DIR:-target}/release"
OUT="${BENCH_OUT:-$(mktemp -d)}"
mkdir -p "$OUT"
echo "bench: results in $OUT"
export NO_COLOR=1 CP_HARNESS_NO_BUILD=1

COMPOSE_GATE="$TARGET/replays gate -q --stack compose"
EMBEDDED_GATE="$TARGET/replays gate -q"
# Both must pass before they are timed; the compose run's phase breakdown
# (stack up, seed, replays, down) is printed at the end.
$COMPOSE_GATE 2>"$OUT/compose-gate-check.log" >/dev/null
$EMBEDDED_GATE >/dev/null

hyperfine --runs "$RUNS" --warmup "$WARMUP" -N \
  --export-json "$OUT/compose-gate.json" --export-markdown "$OUT/compose-gate.md" \
  -n gate-compose "$COMPOSE_GATE" \
  -n "gate-embedded (reference)" "$EMBEDDED_GATE"

/usr/bin/python3 - "$OUT/compose-gate.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
c = r["gate-compose"]
ref = r["gate-embedded (reference)"]
print(f"median gate (compose): {c['median']:.2f} s (mean {c['mean']:.2f} ± {c['stddev']:.2f} s, "
      f"min {c['min']:.2f}, max {c['max']:.2f}); reference (embedded): {ref['median']*1000:.1f} ms; "
      f"ratio {c['median']/ref['median']:.0f}x")
PY
grep '^\[gate\] total' "$OUT/compose-gate-check.log" || true
