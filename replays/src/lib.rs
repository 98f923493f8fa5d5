//! The `replays` application: the CLI over [`replay_runner`] (which parses,
//! checks and runs replay files and writes the reports), plus what needs
//! the servers themselves — bringing a stack up for the gate, seeding it,
//! and comparing another CP with the stub.
//!
//! # The gate
//!
//! [`gate()`] is `replays gate`, the whole CI job: bring a stack up —
//! [`stack::Embedded`] (cp-stub and tenants alpha and beta in this process,
//! on loopback ephemeral ports) or [`stack::Compose`] (`compose.yml` through
//! docker compose) — seed it with [`seed::run`], run every replay, tear it
//! down. Same output, exit codes and reports as [`replay_runner::run`]; a
//! stack or seed failure is exit 1 with its cause. [`stack::StackOptions`]
//! injects drift (tenant env, stub settings, faults armed before the
//! tenants boot) so tests prove each incident is caught by name:
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
//! # Opaque tenants
//!
//! The real tenant is *opaque*: no `/__/tenant/*` evidence endpoints, no
//! `running` status (a provisioned workspace stays `provisioning`), no
//! `instance_id` in its workspace JSON. [`stack::StackOptions::opaque_tenants`]
//! (`replays gate --opaque-tenants`) runs tenant-double that way
//! (`--no-evidence`); seed then decides everything from the stub's journal,
//! and every replay runs: the steps and checks that need the reference
//! tenant's evidence declare it (`evidence = "${ALPHA_BASE}"` on a step,
//! `evidence = true` on an assertion) and SKIP against a tenant without it
//! (`GET /__/tenant/cp` answers 404), counted in the summary and reports.
//!
//! # Shards
//!
//! `--shard K/N` ([`replay_runner::RunOptions::shard`]) runs one of N
//! disjoint parts of the replays; the gate cuts it after the opaque-tenant
//! leave-out, and a compose shard gets its own project and published ports
//! ([`stack::compose_shard`]) so shards can share a host.
//!
//! # Drift
//!
//! [`drift()`] is `replays drift`: send every contract probe to another CP
//! base and to the stub, and report per route what differs (status, shape
//! against the contract and against the stub).
//!
//! # Wire export
//!
//! [`wire_export()`] is `replays wire-export`: read cp-stub's journal and
//! write it as a [`contract::wire::WireFile`] (the format of
//! `fixtures/real-client/wire.json`), secrets redacted, to re-record the
//! real client's traffic.
//!
//! # Layout
//!
//! - `main.rs` — the binary: parse the command line, run the command;
//! - `cli.rs` — the command line (clap derive: every flag, its `env`
//!   variable and its help) and what each command does;
//! - `stack/` — [`stack::Embedded`] (`embedded.rs`: the in-process stack and
//!   its drift knobs), [`stack::Compose`] (`compose.rs`: compose as a
//!   subprocess; `ready.rs`: when its services answer HTTP; `project.rs`:
//!   its containers, networks and volumes by compose's labels — states,
//!   removal), `compose_shard.rs` (each compose shard's project and
//!   ports, [`stack::PublishedPorts`]), [`stack::identify`] (`identity.rs`: what the stack is),
//!   shared [`stack::Endpoints`] (`mod.rs`);
//! - `gate.rs` — [`gate()`]: stack up, seed, replays, down;
//! - `drift.rs` — [`drift()`] and its report;
//! - `envcmd.rs` — [`env_listing`], `replays env`;
//! - `wire_export.rs` — [`wire_export()`], `replays wire-export`: cp-stub's
//!   journal in the format of `fixtures/real-client/wire.json`.

#![warn(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

mod drift;
mod envcmd;
mod gate;
pub mod stack;
mod wire_export;

pub use drift::{drift, render as render_drift, DriftError, DriftOptions, RouteDrift};
pub use envcmd::env_listing;
pub use gate::{gate, GateError, GateOptions, GateOutcome, Phase, StackChoice};
pub use wire_export::{
    wire_export, WireExport, WireExportError, WireExportOptions, DEFAULT_PAGE_SIZE,
};
