//! The replay runner: scripted HTTP scenarios ("replays") against the CP
//! stub and the tenants, with exact counter assertions, contract shape
//! checks and drift reports.
//!
//! A replay is one TOML file of steps. Each step sends a request, checks the
//! answer (status, headers, JSON paths, a contract schema), captures values
//! for later steps, and can assert **exact** counter deltas at the stub —
//! optionally per caller org and measured since an earlier step, polled
//! until they hold:
//!
//! ```toml
//! name = "cp-stub-provision-config"
//! requires = ["CP_STUB_BASE"]
//!
//! [[step]]
//! name = "provision"
//! request = { method = "POST", url = "${CP_STUB_BASE}/cp/workspaces/provision", json = { org_id = "org-r", workspace_id = "ws-${REPLAY_ID}", runtime = "claude-code", tier = 1, platform_url = "http://t", env = {} } }
//! expect.status = 201
//! expect.schema = "provision_response"
//! expect.counters = [{ counter = "provision_calls", delta = 1 }]
//! ```
//!
//! The full format reference is in `replays/README.md`; [`format::model`]
//! is its Rust form. Legacy `*.sh` replays run too ([`format::shell`]).
//!
//! Use it as a library the way `replays run` does:
//!
//! ```no_run
//! # async fn f() -> Result<(), replays::RunError> {
//! let summary = replays::run(&replays::RunOptions {
//!     dir: "replays/cases".into(),
//!     jobs: 4,
//!     ..Default::default()
//! })
//! .await?;
//! std::process::exit(summary.exit_code());
//! # }
//! ```
//!
//! # The gate
//!
//! [`gate()`] is `replays gate`, the whole CI job: bring a stack up —
//! [`stack::Embedded`] (cp-stub and tenants alpha and beta in this process,
//! on loopback ephemeral ports) or [`stack::Compose`] (`compose.yml` through
//! docker compose) — seed it with [`seed::run`], run every replay, tear it
//! down. Same output, exit codes and reports as [`run()`]; a stack or seed
//! failure is exit 1 with its cause. [`stack::StackOptions`] injects drift
//! (tenant env, stub settings, faults armed before the tenants boot) so
//! tests prove each incident is caught by name:
//!
//! ```no_run
//! # async fn f() -> Result<(), replays::GateError> {
//! use replays::stack::{StackOptions, TenantOptions};
//! let opts = replays::GateOptions {
//!     stack: replays::StackChoice::Embedded(StackOptions {
//!         // Incident D2: only CP_UPSTREAM_URL, which no CP client reads.
//!         alpha: TenantOptions::alpha()
//!             .with_env("CP_PROVISION_URL", "")
//!             .with_env("MOLECULE_CP_URL", "")
//!             .with_env("CP_UPSTREAM_URL", "{stub}"),
//!         ..StackOptions::default()
//!     }),
//!     ..Default::default()
//! };
//! let outcome = replays::gate(&opts).await?;
//! assert_eq!(outcome.exit_code, 1);
//! assert!(outcome.failure.unwrap().contains("CP_UPSTREAM_URL"));
//! # Ok(()) }
//! ```
//!
//! # Results
//!
//! PASS, FAIL (an expectation did not hold, a step timed out), ERROR (the
//! replay could not run: a missing variable, an unreachable or stale stub),
//! SKIP, XFAIL (failed as its `xfail` says; not a pass — incident D12) and
//! XPASS (passed although marked `xfail`: fails the run, so a fixed drift
//! gets un-marked). Exit status 0 when nothing failed, 1 on any FAIL, ERROR
//! or XPASS, 2 for usage and configuration errors.
//!
//! # Exact counters in parallel
//!
//! The old harness weakened `provision_calls +1` to `>= 1` because tenants'
//! own boot calls and parallel replays raced with it (incident D11). Here
//! an exact assertion stays exact under `--jobs N`, by three mechanisms:
//!
//! 1. **A run lock.** Every replay takes a shared/exclusive lock before its
//!    first request. A replay that asserts counters, or touches shared stub
//!    state (reset, snapshot, faults, reading `/__/stub/state`), or is a
//!    shell replay, or says `exclusive = true`, takes it **exclusively**; the
//!    others share it. While an exclusive replay runs, no other replay of
//!    this run sends anything, so the deltas it measures are its own. The
//!    classification is static (from the file), so a replay cannot forget it.
//! 2. **Per-org attribution.** The stub counts every call per caller org
//!    (`X-Molecule-Org-Id`, else the body's `org_id`). A counter expectation
//!    with `org = "${ALPHA_ORG_ID}"` ignores every other caller — the stub's
//!    own probes, the other tenant, anything outside this run — which is
//!    what makes a tenant-caused `+1` provable (incident D4).
//! 3. **Baselines and polling.** A delta is the difference between two
//!    reads of the stub's state: the baseline, taken right before the step
//!    named by `since` (default: this step), and the read after the step's
//!    request. A `[step.poll]` re-reads until the delta holds or times out,
//!    for calls a tenant makes asynchronously after answering. The state's
//!    `generation` detects a reset between the two reads and fails the check
//!    rather than comparing across it.
//!
//! Each replay execution also has a unique `${REPLAY_ID}` (use it in
//! workspace ids) and every request carries it in `X-Replay-Id`, so the
//! failure bundle can mark which journal entries were the replay's own.
//!
//! What this does not cover: calls from outside the run that carry the same
//! org, and asynchronous effects that outlive the replay that caused them.
//! Keep asynchronous work inside the replay (poll until it is done).
//!
//! # Layout
//!
//! - `format/` — the file format: [`format::model`] (the TOML model),
//!   `format/mod.rs` (discovery, positions, the static checks of `check`),
//!   [`format::shell`] (legacy `*.sh` headers and markers),
//!   [`format::jsonpath`], [`format::template`] (`${VAR}`),
//!   [`format::duration`];
//! - `runner/` — the engine: `mod.rs` (options, scheduling, the lock),
//!   `vars.rs` (sources and precedence), `preflight.rs` (missing variables,
//!   stub version), `replay.rs` (a TOML replay), `poll.rs` (a step and its
//!   poll, counter deltas), `request.rs` (HTTP and the curl line),
//!   `expect.rs` (assertions), `capture.rs`, `counters.rs`, `stub.rs` (admin
//!   API client), `bundle.rs` (failure bundle), `shell.rs` (legacy replays);
//! - `report/` — [`report::text`], [`report::junit`], [`report::json`];
//! - `stack/` — [`stack::Embedded`] (the in-process stack and its drift
//!   knobs), [`stack::Compose`] (compose as a subprocess), shared
//!   [`stack::Endpoints`];
//! - `gate.rs` — [`gate()`]: stack up, seed, replays, down;
//! - `shape.rs` — shape differences against a contract schema;
//! - `drift.rs` — `replays drift`;
//! - `envcmd.rs` — `replays env` and `replays check`.

#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod drift;
pub mod envcmd;
pub mod format;
pub mod gate;
pub mod report;
pub mod runner;
pub mod shape;
pub mod stack;

pub use drift::{drift, DriftError, DriftOptions, RouteDrift};
pub use envcmd::{check, env_listing, CheckSummary};
pub use gate::{gate, GateError, GateOptions, GateOutcome, Phase, StackChoice};
pub use report::text::ColorChoice;
pub use report::{Outcome, ReplayReport, Summary};
pub use runner::vars::{EnvFile, Resolver};
pub use runner::{run, select, RunError, RunOptions, DEFAULT_DIR};
