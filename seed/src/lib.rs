//! Seeds the harness stack and writes `.seed.env` for the replays.
//!
//! [`run`] does, under one overall timeout:
//!
//! 1. **waits** for tenant alpha, tenant beta (`GET /health`) and the stub
//!    (`GET /healthz`): a 2xx *and* an ok body, so a proxy's 200 error page
//!    does not pass;
//! 2. **checks each tenant's boot config call** at the stub (incident D1):
//!    the last `GET /cp/tenants/config` journaled under the tenant's org was
//!    answered 200 with a body valid against `tenant_config`; a tenant whose
//!    call never arrived fails after provisioning (D1, D2) unless the
//!    journal lost entries since boot (a reset: then it is not checked);
//! 3. **creates** `alpha-parent` (tier 0) and `alpha-child` (tier 1, under
//!    it) on alpha, `beta-parent` and `beta-child` on beta, through the
//!    tenant API with each tenant's admin bearer and `X-Molecule-Org-Id`;
//! 4. **waits** until the stub's journal holds, for each workspace, a 201
//!    provision answer under its tenant's org with a body valid against
//!    `provision_response` and a `mol-ws-` instance id (D2, D3, D10) —
//!    never reading tenant-only fields (`instance_id`, `running`: the real
//!    tenant has neither). It fails early on an unusable answer (D3, D10),
//!    a call under another org (D4), a workspace the tenant reports
//!    `failed` (naming what the stub answered, and the tenant's reason
//!    when it gives one), or a provision that never reached the stub
//!    (within 10 s of the create, or before the tenant called it done:
//!    D2, D4);
//! 5. **verifies attribution** at the stub (incident D4): every workspace's
//!    201 under the org of the tenant that created it, and nothing about a
//!    tenant's workspaces under the other tenant's org;
//! 6. **writes** the env file atomically (incident D6): temp file in the same
//!    folder, fsync, mode 0600, rename, fsync of the folder, with every key
//!    of `.seed.env.example` (incident D5) and a stack stamp
//!    (`SEED_STACK_ID`, `SEED_STAMP`). On any failure before the rename the
//!    previous file is untouched.
//!
//! [`check`] validates an env file against `.seed.env.example` (or the
//! built-in [`KEYS`]); [`clean`] removes it and any leftover temp files.
//! The key table itself is [`contract::seed_env`], the defaults (= compose)
//! [`contract::defaults`]; secrets are masked by [`contract::redact`].
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
//! - `run.rs` — [`run`]: the steps in order, [`Outcome`], [`Seeded`];
//! - `config.rs` — [`Config`], [`TenantTarget`], [`Progress`], validation,
//!   and [`Settings`] (the binary's flags and variables);
//! - `error.rs` — [`SeedError`];
//! - `http.rs` — the HTTP client under the run's deadline, tenant requests,
//!   body excerpts for messages;
//! - `wait.rs` — waiting for the tenants and the stub to be healthy;
//! - `journal.rs` — reading the stub's journal, which calls name a workspace;
//! - `config_check.rs` — each tenant's boot config call as the journal shows it (D1);
//! - `stub_answer.rs` — the stub's journaled answer to a provision (D3,
//!   D10: a 201 without a usable `mol-ws-` body);
//! - `create.rs` — creating the four workspaces, waiting until the stub
//!   provisioned them;
//! - `attribution.rs` — checking at the stub that each tenant's provision
//!   calls arrived under its org and none under the other's, [`Attribution`];
//! - `env.rs` — assembling the `.seed.env` contents (keys, aliases, stamp);
//! - `envfile.rs` — rendering, reading, the atomic write, [`clean`],
//!   [`EnvFileError`];
//! - `keys.rs` — `.seed.env.example` and [`check`];
//! - `progress.rs` — spinner or plain progress lines;
//! - `main.rs` — the `seed` binary (clap + dotenvy): dispatch and exit codes.

#![warn(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]
// A seed run builds at most one error, and each carries the strings its
// message needs; boxing them would only obscure the variants.
#![allow(clippy::result_large_err)]

mod attribution;
mod config;
mod config_check;
mod create;
mod env;
mod envfile;
mod error;
mod http;
mod journal;
mod keys;
mod progress;
mod run;
mod stub_answer;
mod wait;

pub use attribution::Attribution;
pub use config::{Config, Progress, Settings, TenantTarget, WriteHook};
pub use envfile::{clean, read as read_env_file, CleanOutcome, EnvFileError};
pub use error::SeedError;
pub use keys::{check, default_example, example_text, parse_example, CheckReport};
pub use run::{run, Outcome, Seeded};

/// The keys seed writes (the table is [`contract::seed_env::KEYS`]).
pub use contract::seed_env::KEYS;

// The stack defaults under their old names, for the replays until they use
// `contract::defaults` directly; seed itself does.
#[doc(hidden)]
pub use contract::defaults::{
    ALPHA_ADMIN_TOKEN as DEFAULT_ALPHA_ADMIN_TOKEN, ALPHA_BASE as DEFAULT_ALPHA_BASE,
    ALPHA_ORG_ID as DEFAULT_ALPHA_ORG_ID, BETA_ADMIN_TOKEN as DEFAULT_BETA_ADMIN_TOKEN,
    BETA_BASE as DEFAULT_BETA_BASE, BETA_ORG_ID as DEFAULT_BETA_ORG_ID,
    CP_STUB_BASE as DEFAULT_CP_STUB_BASE, SEED_ENV_FILE as DEFAULT_OUT,
    SEED_TIMEOUT as DEFAULT_TIMEOUT,
};
