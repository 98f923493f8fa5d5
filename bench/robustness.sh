#!/usr/bin/env bash
# cp-stub under abuse (issue 11): the full-size `#[ignore]`d cases of
# cp-stub/tests/binary_hardening.rs against the release binary, the test
# process and the stub under `prlimit --nofile=4096` (the workspace denies
# `unsafe`, so the stub does not raise its own limit), 127.0.0.1 only:
#
# - 500 stalled clients (100 slowloris, 300 slow bodies, 100 idle) with
#   5 s header/body/idle timeouts: the latest close of each kind, and the
#   slowest /healthz while they are open;
# - 1,000 requests with a 300 KB header, one GET /__/stub/requests, then
#   20,000 distinct 4 KB X-Molecule-Org-Id values: VmRSS after each, the
#   page and state sizes;
# - SIGTERM with 200 stalled clients (grace 5 s): time to exit;
# - 8 clients × 1,000 requests with stdout a pipe nobody reads.
#
#   bench/robustness.sh            # prints the FIGURE lines
#
# Each test asserts its target (RSS ≤ 64 MB, closed within timeout + 1 s,
# shutdown ≤ grace + 1 s, every request answered); a miss fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=${CARGO_TARGET_DIR:-target}
command -v prlimit >/dev/null || { echo "robustness.sh: needs prlimit (util-linux)" >&2; exit 2; }
cargo build --release -p cp-stub --bin cp-stub
export CP_STUB_BIN="$TARGET/release/cp-stub"
cargo test --release -p cp-stub --test binary_hardening --no-run
for case in slow_clients_full byte_abuse_full shutdown_with_stalled_clients_full stdout_nobody_reads_full; do
    echo "== $case"
    prlimit --nofile=4096:4096 cargo test --release -q -p cp-stub --test binary_hardening \
        "$case" -- --ignored --exact --nocapture --test-threads=1 | grep -E '^FIGURE|test result'
done
