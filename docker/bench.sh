#!/usr/bin/env bash
# Benchmark: image sizes and the wall time of the compose gate
# (`replays gate --stack compose`: up, wait until every service answers,
# seed, every replay in replays/cases, down), with two references measured
# in the same run:
#
# 1. (hyperfine) the same gate on the embedded, in-process stack (what
#    compose adds on top is containers, Docker networking and readiness);
# 2. (paired rounds, no hyperfine) the floor, docker/compose-floor.sh: raw
#    `<compose> up -d` → curl until the three published ports answer →
#    plain `<compose> down -v`, i.e. Docker's and compose's own time. Each
#    round runs the floor and the gate (and GATE_BEFORE when set) back to
#    back, the order rotating from round to round; medians, the ratio of
#    medians gate / floor and the median of the per-round ratios are
#    printed (target: ≤ 1.15).
#
#   docker/bench.sh                       # both; results go to $BENCH_OUT (default: a temp dir)
#   BENCH=floor docker/bench.sh           # only the paired gate-vs-floor rounds
#   BENCH=floor NO_IMAGES=1 REPLAYS_BIN=target/x86_64-unknown-linux-gnu/ci/replays \
#     GATE_BEFORE=/tmp/replays-old docker/bench.sh   # prebuilt binaries, images present
#
# Environment: RUNS, WARMUP (hyperfine) [7, 1]; PAIRS rounds [7];
# REPLAYS_BIN a built replays (default: cargo build --release -p replays);
# GATE_BEFORE another replays binary timed in the same rounds (e.g. the
# previous commit's); NO_IMAGES=1 skips docker/build-images.sh (images
# present); CP_STUB_IMAGE / TENANT_IMAGE, CP_STUB_PORT / ALPHA_PORT /
# BETA_PORT as compose.yml (default host ports 9090, 8081, 8082).
#
# Needs Docker, compose, curl, /usr/bin/python3 and (BENCH=all) hyperfine.
# Record the results in BENCHMARKS.md ("Images and the compose gate",
# "Compose gate vs floor").
set -euo pipefail
cd "$(dirname "$0")/.."
: "${RUNS:=7}"
: "${WARMUP:=1}"
: "${PAIRS:=7}"
: "${BENCH:=all}"
case $BENCH in
  all | floor) ;;
  *) echo "bench: BENCH must be all or floor, not '$BENCH'" >&2; exit 2 ;;
esac
if [[ $BENCH == all ]]; then
  command -v hyperfine >/dev/null || { echo "bench: hyperfine is not installed (apt-get install hyperfine), or run BENCH=floor" >&2; exit 2; }
fi
command -v curl >/dev/null || { echo "bench: curl is not installed" >&2; exit 2; }
[ -x /usr/bin/python3 ] || { echo "bench: /usr/bin/python3 is missing" >&2; exit 2; }
if [[ -n ${GATE_BEFORE:-} && ! -x $GATE_BEFORE ]]; then
  echo "bench: GATE_BEFORE=$GATE_BEFORE is not an executable" >&2
  exit 2
fi

if [[ ${NO_IMAGES:-0} != 1 ]]; then
  echo "bench: images (docker/build-images.sh)"
  TENANT_DOUBLE_IMAGE=${TENANT_IMAGE:-cp-harness/tenant-double:local} docker/build-images.sh
fi
if [[ -n ${REPLAYS_BIN:-} ]]; then
  REPLAYS=$REPLAYS_BIN
else
  cargo build --release -p replays
  REPLAYS="${CARGO_TARGET_DIR:-target}/release/replays"
fi
[[ -x $REPLAYS ]] || { echo "bench: $REPLAYS is not an executable" >&2; exit 2; }
OUT="${BENCH_OUT:-$(mktemp -d)}"
mkdir -p "$OUT"
echo "bench: results in $OUT"
export NO_COLOR=1 CP_HARNESS_NO_BUILD=1

COMPOSE_GATE="$REPLAYS gate -q --stack compose"
EMBEDDED_GATE="$REPLAYS gate -q"
# Must pass before it is timed; its phase breakdown is printed at the end.
$COMPOSE_GATE 2>"$OUT/compose-gate-check.log" >/dev/null

if [[ $BENCH == all ]]; then
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
fi

# ---- the compose gate against its floor, in paired rounds.
# One timed command: its wall seconds on stdout, its output into $1.
timed() {
  local log=$1
  shift
  local t0
  t0=$(date +%s%N)
  if ! "$@" >"$log" 2>&1; then
    cat "$log" >&2
    echo "bench: $* failed (its output is above)" >&2
    exit 1
  fi
  awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'
}
names=(floor gate)
cmds=("docker/compose-floor.sh" "$COMPOSE_GATE")
if [[ -n ${GATE_BEFORE:-} ]]; then
  names+=(gate-before)
  cmds+=("$GATE_BEFORE gate -q --stack compose")
fi
TSV="$OUT/compose-floor.tsv"
printf 'round\tcommand\tseconds\tdetail\n' >"$TSV"
echo "bench: $PAIRS rounds of: ${names[*]} (order rotating)"
for ((round = 1; round <= PAIRS; round++)); do
  for ((k = 0; k < ${#names[@]}; k++)); do
    i=$(((k + round - 1) % ${#names[@]}))
    log="$OUT/round-$round-${names[$i]}.log"
    # shellcheck disable=SC2086 # the command lines split on spaces
    secs=$(timed "$log" ${cmds[$i]})
    detail=$(grep -h -e '^floor ' -e '^\[gate\] total' "$log" 2>/dev/null | tail -1 || true)
    printf '%d\t%s\t%s\t%s\n' "$round" "${names[$i]}" "$secs" "$detail" >>"$TSV"
    printf '  round %d %-11s %6.2f s  %s\n' "$round" "${names[$i]}" "$secs" "$detail"
  done
done
/usr/bin/python3 - "$TSV" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t", quoting=csv.QUOTE_NONE))
by = {}
for r in rows:
    by.setdefault(r["command"], {})[int(r["round"])] = float(r["seconds"])
med = {k: statistics.median(v.values()) for k, v in by.items()}
floor = med["floor"]
for k in by:
    line = f"median {k}: {med[k]:.2f} s (min {min(by[k].values()):.2f}, max {max(by[k].values()):.2f})"
    if k != "floor":
        per_round = statistics.median(by[k][r] / by["floor"][r] for r in by[k])
        line += f"; / floor: {med[k] / floor:.3f} (median of per-round ratios {per_round:.3f})"
    print(line)
ratio = med["gate"] / floor
print(f"gate / floor = {ratio:.3f}: target (<= 1.15) {'met' if ratio <= 1.15 else 'NOT met'}")
PY
grep '^\[gate\] total' "$OUT/compose-gate-check.log" || true
