//! Container tests of the cp-harness images: the tests are in `tests/`, run
//! by `cargo test --workspace` like any other test; this library is the
//! small Docker driver they use (the `docker` CLI as a subprocess, as
//! `replays`' compose stack does).
//!
//! The tests start the images that `docker/build-images.sh` builds (static
//! binaries, `FROM scratch`) and check what a user of `compose.yml` relies
//! on:
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
//! - the tenant-double image provisions through the stub container by name;
//! - the driver never pulls: a missing image is an error naming
//!   `docker/build-images.sh`.
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
//! before starting it and start it with `docker run --pull never`, so
//! nothing is ever pulled. Without Docker or without
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
//! - [`docker`] — one `docker` CLI call, [`DockerError`], the label
//!   (`cp-harness.test=containers-tests`) and unique names
//!   (`cph-<what>-<pid>-<n>`) of everything the tests create.
//! - [`container`] — [`ContainerSpec`] (`docker run`, then wait until
//!   healthy or until the expected exit code) and the [`Container`] handle
//!   (published port on 127.0.0.1, logs, `stop`; removed on drop).
//! - [`network`] — a user-defined [`Network`], removed on drop.
//!
//! A leftover of an interrupted run: `docker ps -a --filter
//! label=cp-harness.test`, `docker network ls --filter label=cp-harness.test`.

#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod container;
pub mod docker;
pub mod network;

pub use container::{Container, ContainerSpec, Wait};
pub use docker::{unique_name, DockerError};
pub use network::Network;
