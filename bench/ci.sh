#!/usr/bin/env bash
# Fresh-clone CI measurement: clone REPO at COMMIT into a new folder (empty
# target dir; the cargo registry cache may be warm), run .ci/run there and
# print its step table (wall and CPU seconds per step). With --main-job,
# time the README's main job instead, cold (`cargo run ... -- gate`; the
# command is read from that commit's README.md unless MAIN_JOB is set).
#
#   bench/ci.sh 76cc609                 # .ci/run of commit 76cc609 of /work/main
#   REPO=/work/wt-ci bench/ci.sh ci     # ... of branch ci of another clone
#   bench/ci.sh --main-job 76cc609      # wall time of the cold main job
#
# The log is kept in $BENCH_OUT (default bench/out/), the clone and its
# target dir are deleted afterwards (KEEP=1 keeps them). Record the
# figures in BENCHMARKS.md ("CI and main job").
set -euo pipefail
MAIN_JOB_MODE=0
if [[ ${1:-} == --main-job ]]; then
  MAIN_JOB_MODE=1
  shift
fi
COMMIT=${1:?usage: bench/ci.sh [--main-job] COMMIT}
HERE=$(cd "$(dirname "$0")/.." && pwd)
REPO=${REPO:-$HERE}
OUT=${BENCH_OUT:-$HERE/bench/out}
mkdir -p "$OUT"
dir=$(mktemp -d "${TMPDIR:-/tmp}/ci-XXXX")
stamp=$(date -u +%Y%m%dT%H%M%SZ)
cleanup() {
  # cargo --timings reports (CI's build writes one) are kept with the log.
  if [[ -d $dir/target/cargo-timings ]]; then
    mkdir -p "$OUT/timings-$stamp" && cp "$dir"/target/cargo-timings/cargo-timing-2*.html "$OUT/timings-$stamp/" 2>/dev/null || true
  fi
  [[ ${KEEP:-} == 1 ]] || rm -rf "$dir"
}
trap cleanup EXIT
git clone -q "$REPO" "$dir"
git -C "$dir" checkout -q "$COMMIT"
sha=$(git -C "$dir" rev-parse --short HEAD)
# A clean build: no shared target dir, no wrapper, no extra flags.
unset CARGO_TARGET_DIR RUSTC_WRAPPER RUSTC_WORKSPACE_WRAPPER RUSTFLAGS CP_HARNESS_RUSTFLAGS
echo "bench: $sha in $dir (load average: $(cut -d' ' -f1-3 /proc/loadavg))" >&2
if [[ $MAIN_JOB_MODE == 1 ]]; then
  cmd=${MAIN_JOB:-$(grep -m1 -E '^cargo run .*-p replays -- gate$' "$dir/README.md")}
  log="$OUT/main-job-$sha-$stamp.log"
  echo "bench: $cmd" >&2
  start=$(date +%s.%N)
  (cd "$dir" && eval "$cmd") >"$log" 2>&1
  end=$(date +%s.%N)
  awk -v s="$start" -v e="$end" -v c="$cmd" -v h="$sha" \
    'BEGIN { printf "main job %s: %.1f s wall (%s)\n", h, e - s, c }'
else
  log="$OUT/ci-$sha-$stamp.log"
  rc=0
  (cd "$dir" && bash .ci/run) >"$log" 2>&1 || rc=$?
  sed -n '/==== \[ci\] summary/,$p' "$log"
  [[ $rc == 0 ]] || echo "bench: .ci/run failed (exit $rc), log: $log" >&2
fi
echo "bench: log $log (load average: $(cut -d' ' -f1-3 /proc/loadavg))" >&2
