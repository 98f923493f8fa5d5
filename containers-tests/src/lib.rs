//! Container tests of the cp-harness images. This crate has no code of its
//! own: everything is in `tests/`, run by `cargo test --workspace` like any
//! other test.
//!
//! The tests start the images that `docker/build-images.sh` builds (static
//! binaries, `FROM scratch`) with the `testcontainers` crate and check
//! what a user of `compose.yml` relies on:
//!
//! - the cp-stub image starts and its Docker healthcheck (`/cp-stub
//!   healthcheck`, no shell in the image) turns healthy;
//! - the stub in the container answers every contract route with the status
//!   and body shape the real client accepts (`contract::probes`, validated
//!   with `contract::validate`), and serves the contract fingerprint this
//!   checkout compiles (a stale image fails here, incident D9);
//! - a second container reaches it by its name on a Docker network, as the
//!   tenants reach `http://cp-stub:9090` in compose (static glibc resolving
//!   through Docker's DNS);
//! - configuration through the environment works (`PORT`,
//!   `CP_STUB_INSTANCE_PREFIX`) and the healthcheck follows `PORT`;
//! - SIGTERM stops it gracefully within 2 s (`docker stop -t 2` ends with
//!   exit code 0, not 137 from the SIGKILL that follows the grace time);
//! - the tenant-double image provisions through the stub container by name.
//!
//! # Requirements
//!
//! A running Docker engine and the images, built beforehand:
//!
//! ```sh
//! docker/build-images.sh
//! cargo test -p containers-tests
//! ```
//!
//! Only local images are used: the tests check that each image is present
//! before starting it, so nothing is ever pulled. Without Docker or without
//! the images the tests fail with a message naming the fix; with
//! `CP_HARNESS_SKIP_DOCKER=1` they show as `ignored` instead (the reason on
//! each test's line, "N ignored" in the summary, a banner on stderr), never
//! as passed. Image tags
//! follow compose.yml: `CP_STUB_IMAGE` (default `cp-harness/cp-stub:local`)
//! and `TENANT_DOUBLE_IMAGE` (default `cp-harness/tenant-double:local`).
//!
//! # Layout
//!
//! - `tests/images.rs` — the tests, their preflight (Docker, images) and
//!   their libtest-mimic harness (`harness = false`: a test is ignored at
//!   run time, with its reason, when it cannot run).

#![cfg_attr(not(test), warn(clippy::unwrap_used))]
