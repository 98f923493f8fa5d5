//! [`SeedError`]: why a seed run failed.

use crate::envfile::EnvFileError;

/// Why a seed run failed. Each message names the cause and the fix; on any
/// of them the previous env file is left untouched.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// The configuration is unusable (exit code 2).
    #[error("configuration: {0}")]
    Config(String),
    /// A tenant or the stub never answered.
    #[error(
        "{what} is not reachable at {url} (waited {waited_s} s; last error: {reason}); {hint}"
    )]
    Unreachable {
        /// `tenant alpha`, `tenant beta` or `cp-stub`.
        what: String,
        /// URL probed.
        url: String,
        /// Last transport error.
        reason: String,
        /// How to fix it.
        hint: String,
        /// Seconds waited.
        waited_s: u64,
    },
    /// A tenant or the stub answered, but not healthy.
    #[error("{what} at {url} is not healthy (waited {waited_s} s; last answer {status}: {body}); {hint}")]
    Unhealthy {
        /// `tenant alpha`, `tenant beta` or `cp-stub`.
        what: String,
        /// URL probed.
        url: String,
        /// Last status.
        status: u16,
        /// Excerpt of the last body.
        body: String,
        /// How to fix it.
        hint: String,
        /// Seconds waited.
        waited_s: u64,
    },
    /// A tenant answered a request with an unexpected status.
    #[error("{action} on tenant {tenant}: {method} {url} answered {status}: {body}; {hint}")]
    TenantStatus {
        /// `alpha` or `beta`.
        tenant: String,
        /// What seed was doing (`creating alpha-parent`).
        action: String,
        /// Method.
        method: &'static str,
        /// URL.
        url: String,
        /// Status answered.
        status: u16,
        /// Excerpt of the body.
        body: String,
        /// How to fix it.
        hint: String,
    },
    /// A tenant request failed on the wire.
    #[error("{action} on tenant {tenant}: {method} {url} failed: {reason}; check that the tenant is still up")]
    TenantRequest {
        /// `alpha` or `beta`.
        tenant: String,
        /// What seed was doing.
        action: String,
        /// Method.
        method: &'static str,
        /// URL.
        url: String,
        /// Transport error.
        reason: String,
    },
    /// The create answer carried no workspace id.
    #[error("creating {name} on tenant {tenant}: the {status} answer of POST {url} has no `id`: {body}; the tenant must answer the new workspace with its server-generated `id`")]
    NoId {
        /// `alpha` or `beta`.
        tenant: String,
        /// Workspace name.
        name: String,
        /// URL.
        url: String,
        /// Status answered.
        status: u16,
        /// Excerpt of the body.
        body: String,
    },
    /// The tenant reports the workspace failed to provision.
    #[error("workspace {name} ({id}) on tenant {tenant} failed to provision: {reason}; {fix}; GET {tenant_url}/__/tenant/cp shows what the tenant resolved and each attempt")]
    ProvisionFailed {
        /// `alpha` or `beta`.
        tenant: String,
        /// Workspace name.
        name: String,
        /// Workspace id.
        id: String,
        /// The tenant's failure reason.
        reason: String,
        /// The tenant's base URL.
        tenant_url: String,
        /// What to do about it, read from the reason.
        fix: String,
    },
    /// The stub answered the workspace's provision 201 without a usable
    /// instance id: the real client takes that as a success with an empty
    /// one (incident D3).
    #[error("workspace {name} ({id}) on tenant {tenant} has no instance: the stub answered its provision call {status} with {answer}, which lacks a usable instance_id ({problems}); the real client takes that as a success with an empty instance id, so nothing runs (incident D3); check the stub's programmed faults (GET {stub}/__/stub/faults), its version (GET {stub}/__/stub/version) and the contract's provision_response schema, then re-run seed")]
    ProvisionAnswer {
        /// `alpha` or `beta`.
        tenant: String,
        /// Workspace name.
        name: String,
        /// Workspace id.
        id: String,
        /// The stub's status (201).
        status: u16,
        /// The stub's answer, as journaled (an excerpt).
        answer: String,
        /// What is wrong with it.
        problems: String,
        /// The stub's base URL.
        stub: String,
    },
    /// The workspace never got an instance id.
    #[error("workspace {name} ({id}) on tenant {tenant} has no instance_id after {waited_s} s (status {status}{reason}); the tenant may still be retrying a failing CP: see GET {tenant_url}/__/tenant/cp, or raise --timeout")]
    ProvisionTimeout {
        /// `alpha` or `beta`.
        tenant: String,
        /// Workspace name.
        name: String,
        /// Workspace id.
        id: String,
        /// Last status seen.
        status: String,
        /// `; error: …` when the tenant gave one.
        reason: String,
        /// Seconds waited.
        waited_s: u64,
        /// The tenant's base URL.
        tenant_url: String,
    },
    /// The tenant's own provision calls did not reach this stub under its org (D4).
    #[error("tenant {tenant} ({tenant_url}): {detail} (incident D4); the tenant's CP_PROVISION_URL / MOLECULE_CP_URL probably doesn't point at this stub ({stub}), or its MOLECULE_ORG_ID is not {org}")]
    Attribution {
        /// `alpha` or `beta`.
        tenant: String,
        /// The org the calls should carry.
        org: String,
        /// The tenant's base URL.
        tenant_url: String,
        /// The stub's base URL.
        stub: String,
        /// What was found.
        detail: String,
    },
    /// The stub's admin API answered something unusable.
    #[error("cp-stub at {url}: {reason}; check CP_STUB_BASE points at cp-stub")]
    Stub {
        /// URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// Writing the env file failed.
    #[error(transparent)]
    EnvFile(#[from] EnvFileError),
}

impl SeedError {
    /// Whether this is a usage or configuration error (exit code 2).
    pub fn is_config(&self) -> bool {
        matches!(self, SeedError::Config(_))
    }
}
