#!/usr/bin/env bash
# Benchmark: wall time of `replays gate` on the embedded stack (stack up,
# seed, every replay in replays/cases, down), with a reference measured in
# the same hyperfine run: `replays run` of the cp-stub-only replays against
# a release cp-stub that is already up (what the gate adds on top of that
# is the stack, seed and the tenant-side replays).
#
#   bench/gate.sh               # hyperfine JSON/Markdown go to $BENCH_OUT (default: a temp dir)
#
# Needs hyperfine and /usr/bin/python3. Target: median <= 3 s. Record the
# medians in BENCHMARKS.md ("replays gate on the embedded stack").
set -euo pipefail
cd "$(dirname "$0")/.."
: "${RUNS:=20}"
: "${WARMUP:=2}"
command -v hyperfine >/dev/null || { echo "bench: hyperfine is not installed (apt-get install hyperfine)" >&2; exit 2; }
[ -x /usr/bin/python3 ] || { echo "bench: /usr/bin/python3 is missing" >&2; exit 2; }

cargo build --release -p replays -p cp-stub
TARGET="${CARGO_TARGET_DIR:-target}/release"
OUT="${BENCH_OUT:-$(mktemp -d)}"
mkdir -p "$OUT"
echo "bench: results in $OUT"
LOG=$(mktemp)
"$TARGET/cp-stub" --port 0 >"$LOG" 2>&1 &
STUB_PID=$!
trap 'kill "$STUB_PID" 2>/dev/null || true; rm -f "$LOG"' EXIT
for _ in $(seq 1 100); do
  BASE=$(sed -n 's/.*listening addr=\(http:[^ ]*\).*/\1/p' "$LOG" | head -n1)
  [ -n "$BASE" ] && break
  sleep 0.05
done
[ -n "${BASE:-}" ] || { echo "bench: cp-stub did not start:" >&2; cat "$LOG" >&2; exit 2; }
export NO_COLOR=1

GATE="$TARGET/replays gate -q"
REFERENCE="$TARGET/replays run --no-env-file --filter cp-stub- -q"
# Both must pass before they are timed. The gate seeds its own stack: the
# reference's CP_STUB_BASE is passed to the reference only.
$GATE >/dev/null
CP_STUB_BASE="$BASE" $REFERENCE >/dev/null

hyperfine --runs "$RUNS" --warmup "$WARMUP" -N \
  --export-json "$OUT/gate.json" --export-markdown "$OUT/gate.md" \
  -n gate-embedded "$GATE" \
  -n "run-cp-stub-cases (reference)" "env CP_STUB_BASE=$BASE $REFERENCE"

/usr/bin/python3 - "$OUT/gate.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
g = r["gate-embedded"]
ref = r["run-cp-stub-cases (reference)"]
med = g["median"]
print(f"median gate (embedded): {med*1000:.1f} ms (mean {g['mean']*1000:.1f} ± {g['stddev']*1000:.1f} ms, "
      f"min {g['min']*1000:.1f}, max {g['max']*1000:.1f}); reference: {ref['median']*1000:.1f} ms; "
      f"ratio {med/ref['median']:.1f}x")
print(f"target <= 3 s: {'met' if med <= 3.0 else 'MISSED'}")
PY
