#!/usr/bin/env bash
# Benchmark: `replays run --filter cp-stub-provision-config` against the same
# checks written as bash + curl + python3 (bench/provision-config.sh), in one
# hyperfine run, against one release cp-stub on an ephemeral loopback port.
#
#   bench/replays.sh            # hyperfine JSON/Markdown go to $BENCH_OUT (default: a temp dir)
#
# Needs hyperfine, curl and /usr/bin/python3. Record the medians and the
# ratio in BENCHMARKS.md ("replays runner vs the bash + curl + python3 script").
set -euo pipefail
cd "$(dirname "$0")/.."
: "${RUNS:=30}"
: "${WARMUP:=3}"
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
export CP_STUB_BASE="$BASE" NO_COLOR=1

# Both must pass before they are timed.
"$TARGET/replays" run --no-env-file --filter cp-stub-provision-config -q >/dev/null
bash bench/provision-config.sh >/dev/null

hyperfine --runs "$RUNS" --warmup "$WARMUP" -N \
  --export-json "$OUT/replays.json" --export-markdown "$OUT/replays.md" \
  -n replays "$TARGET/replays run --no-env-file --filter cp-stub-provision-config -q" \
  -n bash-curl-python3 "bash bench/provision-config.sh"

/usr/bin/python3 - "$OUT/replays.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
a, b = r["replays"]["median"], r["bash-curl-python3"]["median"]
print(f"median replays: {a*1000:.2f} ms, bash+curl+python3: {b*1000:.2f} ms, ratio: {b/a:.1f}x")
PY
