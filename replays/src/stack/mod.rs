//! The stacks `replays gate` runs against: cp-stub plus tenants alpha and
//! beta, either **embedded** in this process ([`Embedded`], the default: no
//! Docker, ephemeral loopback ports, drift injectable for tests) or brought
//! up with **docker compose** from `compose.yml` ([`Compose`]).
//!
//! [`compose_shard`] gives each compose shard (`gate --shard K/N`) its own
//! project and published ports, so shards can run on one host at once.
//!
//! [`identify`] names what a running stack is (stub version and contract
//! fingerprint, each tenant's `/buildinfo`, compose images).
//!
//! Both give the same [`Endpoints`]: the stub's URL and each tenant's URL,
//! org and admin token, as seed and the replays reach them. The defaults
//! are the ones of `docs/ARCHITECTURE.md` ("Stack defaults"), so compose and
//! the embedded stack agree.
//!
//! ```no_run
//! # async fn demo() -> Result<(), replays::stack::StackError> {
//! use replays::stack::{Embedded, StackOptions};
//! let stack = Embedded::start(StackOptions::default()).await?;
//! let e = stack.endpoints();
//! println!("stub {} alpha {} beta {}", e.stub, e.alpha.base, e.beta.base);
//! stack.shutdown().await;
//! # Ok(()) }
//! ```

pub mod compose;
pub mod compose_shard;
pub mod embedded;
pub mod identity;
mod project;
mod ready;

use std::path::PathBuf;
use std::time::Duration;

pub use compose::{BuildPolicy, Compose, ComposeOptions, ComposeStack};
pub use compose_shard::{shard_project, ComposeShardError, PublishedPorts, DEFAULT_PORTS};
pub use embedded::{
    Embedded, RunningStack, StackOptions, TenantOptions, LOG_TAIL, STUB_PLACEHOLDER,
};
pub use identity::{identify, StackIdentity};

/// The stack's shared secret (`MOLECULE_CP_SHARED_SECRET`), = the stub's default.
pub const SHARED_SECRET: &str = cp_stub::DEFAULT_SHARED_SECRET;

/// One tenant of a running stack, as seed and the replays reach it.
#[derive(Clone, PartialEq, Eq, educe::Educe)]
#[educe(Debug)]
pub struct TenantEndpoint {
    /// `alpha` or `beta`.
    pub label: &'static str,
    /// Base URL (`ALPHA_BASE` / `BETA_BASE`).
    pub base: String,
    /// The org the harness sends as `X-Molecule-Org-Id` (`ALPHA_ORG_ID` / `BETA_ORG_ID`).
    pub org_id: String,
    /// The admin bearer the harness sends (`ALPHA_ADMIN_TOKEN` / `BETA_ADMIN_TOKEN`).
    #[educe(Debug(method(contract::redact::debug_masked)))]
    pub admin_token: String,
}

impl TenantEndpoint {
    /// What seed needs to reach this tenant.
    pub fn seed_target(&self) -> seed::TenantTarget {
        seed::TenantTarget {
            base: self.base.clone(),
            admin_token: self.admin_token.clone(),
            org_id: self.org_id.clone(),
            host: None,
        }
    }
}

/// What a running stack offers, whichever kind it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// The stub's base URL as this process reaches it (`CP_STUB_BASE`).
    pub stub: String,
    /// Tenant alpha.
    pub alpha: TenantEndpoint,
    /// Tenant beta.
    pub beta: TenantEndpoint,
}

impl Endpoints {
    /// A seed configuration for this stack, writing to `out`.
    pub fn seed_config(&self, out: PathBuf, timeout: Duration) -> seed::Config {
        seed::Config {
            alpha: self.alpha.seed_target(),
            beta: self.beta.seed_target(),
            cp_stub_base: self.stub.clone(),
            out,
            timeout,
            ..seed::Config::default()
        }
    }
}

/// Why a stack did not come up (or down).
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    /// The embedded cp-stub did not start.
    #[error("embedded stack: cp-stub did not start: {0}")]
    Stub(String),
    /// An embedded tenant did not start.
    #[error("embedded stack: tenant {tenant} did not start: {reason}")]
    Tenant {
        /// `alpha` or `beta`.
        tenant: &'static str,
        /// Why.
        reason: String,
    },
    /// A fault could not be armed at the stub before the tenants booted.
    #[error("embedded stack: arming the fault {fault} at the stub failed: {reason}")]
    Fault {
        /// The fault, as JSON.
        fault: String,
        /// Why.
        reason: String,
    },
    /// Docker or compose is not installed or not answering (exit status 2).
    #[error("compose stack: {0}")]
    Tool(String),
    /// A docker / compose command failed.
    #[error("compose stack: `{command}` failed ({status}){output}")]
    Command {
        /// The command line.
        command: String,
        /// Its exit status.
        status: String,
        /// Its output (last lines), prefixed with a newline, or empty.
        output: String,
    },
    /// A service stopped before the stack was healthy.
    #[error("compose stack: service {service} stopped (exit code {code}) before the stack was healthy; its logs follow")]
    Exited {
        /// Service name.
        service: String,
        /// Its exit code.
        code: String,
    },
    /// The services did not become healthy in time.
    #[error("compose stack: not healthy after {waited_s} s ({summary}); raise --up-timeout or see the services' logs below")]
    Unhealthy {
        /// Seconds waited.
        waited_s: u64,
        /// `service=state` for each service.
        summary: String,
    },
    /// Interrupted (Ctrl-C / SIGTERM).
    #[error("compose stack: interrupted (Ctrl-C / SIGTERM) while coming up")]
    Interrupted,
}

impl StackError {
    /// Whether this is a configuration problem of the machine (exit status 2).
    pub fn is_config(&self) -> bool {
        matches!(self, StackError::Tool(_))
    }
}
