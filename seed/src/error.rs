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
    /// The tenant reports the workspace `failed` (the status the real
    /// tenant has too); what the stub saw of its provision says why.
    #[error("workspace {name} ({id}) on tenant {tenant} failed to provision: {reason}; {fix}; the tenant's log lines show each attempt")]
    ProvisionFailed {
        /// `alpha` or `beta`.
        tenant: String,
        /// Workspace name.
        name: String,
        /// Workspace id.
        id: String,
        /// The tenant's own reason when it gives one (the reference tenant
        /// does, the real one does not), then what the stub's journal shows.
        reason: String,
        /// The tenant's base URL.
        tenant_url: String,
        /// What to do about it, read from the stub's answers (or the reason).
        fix: String,
    },
    /// The stub answered the workspace's provision 201 with a body the
    /// real client cannot use: no `mol-ws-` instance id (taken as a success
    /// with an empty one) or a field of another type (a decode failure);
    /// incidents D3, D10.
    #[error("workspace {name} ({id}) on tenant {tenant} has no instance: the stub answered its provision call {status} with {answer}, which the real client cannot use ({problems}); it takes a 201 without instance_id as a success with an empty instance id and fails the decode of a field of another type, so nothing runs (incident D3; the `mol-ws-` id: incident D10); check the stub's programmed faults (GET {stub}/__/stub/faults), its version (GET {stub}/__/stub/version) and the contract's provision_response schema, then re-run seed")]
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
    /// The stub never answered the workspace's provision 201 in time.
    #[error("workspace {name} ({id}) on tenant {tenant} is not provisioned after {waited_s} s (status {status}{reason}): {at_stub}; the tenant may still be retrying a failing CP (its log lines show each attempt): check the stub's programmed faults, or raise --timeout")]
    ProvisionTimeout {
        /// `alpha` or `beta`.
        tenant: String,
        /// Workspace name.
        name: String,
        /// Workspace id.
        id: String,
        /// Last status the tenant reported.
        status: String,
        /// `; error: …` when the tenant gave one.
        reason: String,
        /// What the stub's journal shows of its provision calls.
        at_stub: String,
        /// Seconds waited.
        waited_s: u64,
        /// The tenant's base URL.
        tenant_url: String,
    },
    /// The tenant's own calls did not reach this stub under its org (D2,
    /// D4), or reached it under the other tenant's org (D4).
    #[error("tenant {tenant} ({tenant_url}): {detail} ({incident}); the tenant's CP_PROVISION_URL / MOLECULE_CP_URL probably doesn't point at this stub ({stub}), or its MOLECULE_ORG_ID is not {org}")]
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
        /// `incident D4`, `incident D4, or D2`.
        incident: &'static str,
    },
    /// A tenant's boot config call, as the stub's journal shows it under
    /// the tenant's org, is missing or was answered with something the
    /// real client cannot decode (D1).
    #[error("tenant {tenant}'s boot config call (GET /cp/tenants/config under {org}) {detail} ({incident}); {fix}")]
    ConfigCall {
        /// `alpha` or `beta`.
        tenant: String,
        /// The tenant's org.
        org: String,
        /// What the journal shows.
        detail: String,
        /// `incident D1`, `incidents D1, D2`.
        incident: &'static str,
        /// How to fix it.
        fix: String,
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
