//! Replay files and the engine that runs them: scripted HTTP scenarios
//! ("replays") against the CP stub and the tenants, with exact counter
//! assertions, contract shape checks and reports.
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
//! expect.counters = [{ counter = "provision_calls", delta = 1, replay = true }]
//! ```
//!
//! The full format reference is in `replays/README.md`. Legacy `*.sh`
//! replays run too (under bash, with `__PASS__` / `__FAIL__` / `__SKIP__`
//! markers). Strings that name a closed set are parsed when the file is
//! read: `expect.schema` into a [`contract::SchemaId`], a route counter
//! into a [`contract::RouteId`]; an unknown name is a `check` error with its
//! line and column, never a failure in the middle of a run.
//!
//! # Using it
//!
//! [`check`] validates a folder without running anything; [`run`] is
//! `replays run`:
//!
//! ```no_run
//! # async fn f() -> Result<(), replay_runner::RunError> {
//! let summary = replay_runner::run(&replay_runner::RunOptions {
//!     dir: "replays/cases".into(),
//!     jobs: 4,
//!     ..Default::default()
//! })
//! .await?;
//! std::process::exit(summary.exit_code());
//! # }
//! ```
//!
//! A caller that brings its own stack up first (the gate) splits it:
//! [`select`] before anything starts (an invalid file or a filter matching
//! nothing is a configuration error, exit 2), [`run_selected`] once the
//! stack is seeded, or [`end_run`] with a [`Summary`] of its own when the
//! replays could not run at all — the summary and the `--junit` / `--json`
//! reports ([`to_junit`], [`to_json`]) exist either way. Variables come
//! from a [`Resolver`] (see its precedence); [`EnvFile`] picks the env file.
//!
//! # Shards
//!
//! [`RunOptions::shard`] (`--shard K/N`) runs the K-th of N disjoint parts
//! of the selected replays, cut by a fixed hash of each replay's name (see
//! [`shard`]; [`Selection::new`] applies it). The reports say which shard
//! they are (JUnit suite `replays (shard K/N)`, JSON `shard`), and
//! [`merge_json`] puts the JSON reports of the N shards back together.
//!
//! # Results
//!
//! PASS, FAIL (an expectation did not hold, a step timed out), ERROR (the
//! replay could not run: a missing variable, an unreachable or stale stub),
//! SKIP, XFAIL (failed as its `xfail` says; not a pass — incident D12) and
//! XPASS (passed although marked `xfail`: fails the run, so a fixed drift
//! gets un-marked). [`Summary::exit_code`] is 0 when nothing failed, 1 on
//! any FAIL, ERROR or XPASS; a [`RunError`] is exit 2.
//!
//! # Secrets
//!
//! Nothing the runner prints or writes holds a secret: the one rule of
//! `contract::redact` (secret header names, JSON keys, query keys, URL
//! credentials) applies to every request, answer and message, and every
//! value of a secret-named variable (run-wide, `[vars]`, captures) is
//! masked wherever it appears, before anything is cut to length.
//!
//! # Exact counters in parallel
//!
//! The old harness weakened `provision_calls +1` to `>= 1` because tenants'
//! own boot calls and parallel replays raced with it (incident D11). Here
//! an exact assertion stays exact under `--jobs N`, by three mechanisms:
//!
//! 1. **A run lock.** Every replay takes a shared/exclusive lock before its
//!    first request. A replay that asserts org-scoped or unscoped counters,
//!    or touches shared stub state (an unscoped or org-scoped reset or
//!    snapshot, faults, reading `/__/stub/state`), or is a shell replay, or
//!    says `exclusive = true` or `owns_stub = true`, takes it
//!    **exclusively**; the others share it. While an exclusive replay runs, no other replay of
//!    this run sends anything, so the deltas it measures are its own. The
//!    classification is static (from the file), so a replay cannot forget it.
//! 2. **Scopes.** The stub counts every call per replay id (`X-Replay-Id`),
//!    per caller org and per workspace (body `workspace_id`, else path
//!    `{id}`). A counter expectation takes exactly one scope — `replay =
//!    true`, `org = "${ALPHA_ORG_ID}"` or `workspace = "${WS_ID}"` — and
//!    ignores every other caller: health sweeps, the other tenant, anything
//!    outside this run (what makes a tenant-caused `+1` provable, incident
//!    D4). `check` rejects an unscoped counter, journal query, reset,
//!    snapshot or fault unless the replay says `owns_stub = true`.
//! 3. **Baselines and polling.** A delta is the difference between two
//!    reads of the step's scopes (`GET /__/stub/counts`, all of them in one
//!    atomic read): the baseline, taken right before the step named by
//!    `since` (default: this step), and the read after the step's request.
//!    The stub's scope maps are bounded; when an eviction may have lost a
//!    count the check is ERROR naming the bound (`runner/scoped.rs`), never a
//!    wrong count. A `[step.poll]` re-reads until the delta holds or times out,
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
//! - `format/` — the file format: `mod.rs` (discovery, positions, the
//!   static checks and [`check`]), `model.rs` (the TOML model, names parsed
//!   on read), `counter.rs` (counter names and their values in a scope's
//!   counts), `shell.rs` (legacy `*.sh` headers and markers), `jsonpath.rs`,
//!   `template.rs` (`${VAR}`), `duration.rs` (`10s`, `250ms`,
//!   [`parse_duration`]), `tests.rs` (the checker's tests);
//! - `runner/` — the engine: `mod.rs` (options, scheduling, [`run`]),
//!   `ctx.rs` (what a run's replays share: the run lock, ids, the rerun
//!   line), `execution.rs` (the end of one: `xfail`, the bundle), `vars.rs` (sources and precedence), `preflight.rs` (missing
//!   variables, stub version), `replay.rs` (a TOML replay), `poll.rs` (a
//!   step and its poll, counter checks), `scoped.rs` (counter scopes and
//!   the exact-or-ERROR delta rule), `request.rs` (HTTP, the shared
//!   [`client`] and the curl line), `expect.rs` (assertions), `capture.rs`,
//!   `stub.rs` (admin API client), `bundle.rs` (failure bundle), `shell.rs`
//!   (legacy replays), `mask.rs` (no secret in any output: the
//!   `contract::redact` rule and the secret variables' values, masked);
//! - `report/` — `mod.rs` (the result model: [`Summary`], [`ReplayReport`],
//!   [`Outcome`], [`report_dir_files`]), `text.rs` (the terminal),
//!   `junit.rs`, `json.rs`, `merge.rs` (the shards' JSON reports as one,
//!   [`merge_json`]);
//! - `shard.rs` — [`Shard`]: `--shard K/N`, the stable partition by name;
//! - `shape.rs` — shape differences against a contract schema
//!   ([`contract_diff`]).

#![warn(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

mod format;
mod report;
mod runner;
mod shape;
pub mod shard;

pub use format::duration::parse_duration;
pub use format::{check, load_dir, CheckSummary, Diagnostic, LoadError, Replay};
pub use report::json::to_json;
pub use report::junit::to_junit;
pub use report::merge::{merge_json, MergeError, MergedReport};
pub use report::text::{human, render_replay, render_summary, ColorChoice, Style};
pub use report::{
    report_dir_files, Bundle, Check, Counts, Outcome, ReplayReport, StepReport, Summary,
};
pub use runner::request::{classify, client, SendError};
pub use runner::vars::{display_value, parse_flags, EnvFile, Resolver, Source, VarsError};
pub use runner::{
    end_run, run, run_selected, select, RunError, RunOptions, DEFAULT_DIR, DEFAULT_REPLAY_TIMEOUT,
    DEFAULT_STEP_TIMEOUT,
};
pub use shape::contract_diff;
pub use shard::{shard_hash, Selection, Shard, ShardError, ShardInfo};
