#!/usr/bin/env bash
# The test command of README.md: everything a fresh machine needs, then the
# whole test suite.
#
#   1. Docker: scripts/ensure-docker.sh (installs docker.io + docker-compose
#      from Debian and starts dockerd when `docker info` fails)
#   2. images: docker/build-images.sh, which compiles the workspace's one
#      test-and-image build (scripts/build-env.sh: cargo test --workspace
#      --no-run --profile ci --target <host>, static) and packs cp-stub and
#      tenant-double FROM scratch (incremental: a second run takes seconds)
#   3. cargo test --workspace with the same profile, target and flags: no
#      compiling left, the tests (unit, integration over 127.0.0.1 sockets,
#      the replays golden cases, containers-tests against the images) run
#      against the very binaries the images hold
#
# Extra arguments go to cargo test, e.g. `scripts/test.sh -p replays`.
# CP_HARNESS_SKIP_DOCKER=1 skips steps 1-2, and the container tests that
# cannot run show as ignored (never as passed): "N ignored" in the
# containers-tests summary, the reason on each test's line and a banner on
# stderr (for a machine where Docker cannot run; CI never sets it).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ${CP_HARNESS_SKIP_DOCKER:-} != 1 ]]; then
  scripts/ensure-docker.sh
  docker/build-images.sh
fi
# shellcheck source=build-env.sh
source scripts/build-env.sh
# Four test threads per binary on any machine: the drift tests mostly wait
# (an arrival window, a retried provision), so on 2 cores libtest's default
# of 2 queued them behind each other (tests/gate.rs: 51 s at 2, 31 s at 8).
export RUST_TEST_THREADS=${RUST_TEST_THREADS:-4}
exec "${CP_HARNESS_CARGO_TEST[@]}" "$@"
