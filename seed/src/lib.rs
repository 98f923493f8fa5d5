//! Seeds the harness stack and writes `.seed.env` for the replays.
//!
//! [`run`] does, under one overall timeout:
//!
//! 1. **waits** for tenant alpha, tenant beta (`GET /health`) and the stub
//!    (`GET /healthz`): a 2xx *and* an ok body, so a proxy's 200 error page
//!    does not pass;
//! 2. **creates** `alpha-parent` (tier 0) and `alpha-child` (tier 1, under
//!    it) on alpha, `beta-parent` and `beta-child` on beta, through the
//!    tenant API with each tenant's admin bearer and `X-Molecule-Org-Id`;
//! 3. **waits** until each workspace has an `instance_id`, failing early
//!    with the tenant's own failure reason (e.g. which CP variables were
//!    missing, incident D2);
//! 4. **verifies attribution** at the stub (incident D4): the stub's journal
//!    since the run started must hold a 201 provision call for every
//!    workspace, under the org of the tenant that created it — so a tenant
//!    whose `CP_PROVISION_URL` points elsewhere cannot pass;
//! 5. **writes** the env file atomically (incident D6): temp file in the same
//!    folder, fsync, mode 0600, rename, fsync of the folder, with every key
//!    of `.seed.env.example` (incident D5) and a stack stamp
//!    (`SEED_STACK_ID`, `SEED_STAMP`). On any failure before the rename the
//!    previous file is untouched.
//!
//! [`check`] validates an env file against `.seed.env.example` (or the
//! built-in [`KEYS`]); [`clean`] removes it and any leftover temp files.
//!
//! ```no_run
//! # async fn demo() -> Result<(), seed::SeedError> {
//! let outcome = seed::run(&seed::Config {
//!     cp_stub_base: "http://127.0.0.1:9090".into(),
//!     out: "/tmp/stack/.seed.env".into(),
//!     ..Default::default()
//! })
//! .await?;
//! assert_eq!(outcome.get("ALPHA_ID"), outcome.get("ALPHA_PARENT_ID"));
//! // The legacy quirk, kept on purpose: BETA_ID is alpha's child.
//! assert_eq!(outcome.get("BETA_ID"), outcome.get("ALPHA_CHILD_ID"));
//! # Ok(()) }
//! ```
//!
//! # Layout
//!
//! - `config.rs` — [`Config`], [`TenantTarget`], defaults (= compose);
//! - `stack.rs` — the run: waiting, creating, polling, attribution, [`SeedError`];
//! - `keys.rs` — [`KEYS`], `.seed.env.example`, [`check`];
//! - `envfile.rs` — rendering, reading, the atomic write, [`clean`];
//! - `progress.rs` — spinner or plain progress lines;
//! - `util.rs` — ids, RFC 3339 time, body excerpts;
//! - `main.rs` — the `seed` binary (clap + dotenvy).

#![warn(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

mod config;
mod envfile;
mod keys;
mod progress;
mod stack;
mod util;

pub use config::{
    Config, Progress, TenantTarget, WriteHook, DEFAULT_ALPHA_ADMIN_TOKEN, DEFAULT_ALPHA_BASE,
    DEFAULT_ALPHA_ORG_ID, DEFAULT_BETA_ADMIN_TOKEN, DEFAULT_BETA_BASE, DEFAULT_BETA_ORG_ID,
    DEFAULT_CP_STUB_BASE, DEFAULT_OUT, DEFAULT_TIMEOUT,
};
pub use envfile::{clean, read as read_env_file, write_atomic, CleanOutcome, EnvFileError};
pub use keys::{check, example_text, parse_example, CheckReport, Key, KEYS};
pub use stack::{run, Attribution, Outcome, SeedError, Seeded};
