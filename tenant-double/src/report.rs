//! The evidence served at `GET /__/tenant/cp`: what the tenant resolved and
//! what happened to its CP calls. Replays read it to prove the tenant's own
//! calls reached the stub (D2, D4) and that it applied its config (D1).

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Unix time in milliseconds, as every `*_ms` field below holds it.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Where a resolved value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// The tenant's environment at start.
    Env,
    /// A value applied by the config refresh (`/cp/tenants/config`).
    ConfigRefresh,
}

/// A CP base URL as one of the two clients resolves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaseResolution {
    /// The base URL (no trailing slash); `null` when no variable is set.
    pub base: Option<String>,
    /// The variable it came from (`CP_PROVISION_URL`, `MOLECULE_CP_URL`, ...).
    pub source: Option<String>,
    /// Whether that variable came from the env or the config refresh.
    pub origin: Option<Origin>,
    /// The variables this client reads, in order.
    pub order: Vec<String>,
    /// Why there is no base (incident D2): the variables that were missing.
    pub error: Option<String>,
}

/// The resolutions made from the start environment, before any refresh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BootResolution {
    /// Provision base at boot.
    pub provision: BaseResolution,
    /// Config-fetch base at boot.
    pub config: BaseResolution,
}

/// Which credentials the CP client sends (never their values).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    /// Variable the provision bearer comes from, if any
    /// (`MOLECULE_CP_SHARED_SECRET`, else `PROVISION_SHARED_SECRET`).
    pub shared_secret_from: Option<String>,
    /// Whether `ADMIN_TOKEN` is set (sent as `X-Molecule-Admin-Token` and as
    /// the config-fetch bearer).
    pub admin_token_set: bool,
}

/// The outcome of one config refresh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigRefresh {
    /// `boot` or `manual` (`POST /__/tenant/config/refresh`).
    pub trigger: String,
    /// Whether the map was fetched, decoded and applied.
    pub ok: bool,
    /// Unix time in ms.
    pub at_ms: u64,
    /// The URL fetched (none when no base was configured).
    pub url: Option<String>,
    /// The variable the base came from.
    pub source: Option<String>,
    /// HTTP status answered.
    pub status: Option<u16>,
    /// Number of values applied.
    pub applied: usize,
    /// Names of the values applied (values are never shown).
    pub keys: Vec<String>,
    /// What went wrong (decode errors name the JSON path, incident D1).
    pub error: Option<String>,
}

/// One HTTP attempt of a provision run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvisionAttempt {
    /// 1-based attempt number.
    pub attempt: u32,
    /// Unix time in ms when it was sent.
    pub at_ms: u64,
    /// URL called.
    pub url: String,
    /// Status answered (`null` on a transport error).
    pub status: Option<u16>,
    /// Failure message of this attempt, if it failed.
    pub error: Option<String>,
    /// Wait before the next attempt, when the failure is retried.
    pub retry_in_ms: Option<u64>,
}

/// One provision of a workspace: the first (`create`) or a re-provision (`restart`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvisionRun {
    /// 1-based run number within the workspace.
    pub run: u32,
    /// `create` or `restart`.
    pub trigger: String,
    /// Base URL used.
    pub base: Option<String>,
    /// Variable the base came from.
    pub source: Option<String>,
    /// `in_progress`, `ok`, `failed`, or `declined` (a restart whose
    /// ensure-image refused: nothing was stopped or provisioned).
    pub outcome: String,
    /// Instance id returned by the CP on success (empty when its 201 had none).
    pub instance_id: Option<String>,
    /// Failure reason (the real client's message).
    pub error: Option<String>,
    /// The run's provision `idempotency_key` (`cpprov-` + 32 hex), the same
    /// on every attempt; not a secret.
    #[serde(default)]
    pub idempotency_key: Option<String>,
    /// Restart requests coalesced into this run.
    pub coalesced_restarts: u32,
    /// Unix time in ms.
    pub started_ms: u64,
    /// Unix time in ms, once finished.
    pub finished_ms: Option<u64>,
    /// Every HTTP attempt.
    pub attempts: Vec<ProvisionAttempt>,
}

/// One stop call (`DELETE /cp/workspaces/{id}`; its `url` shows `prune=true`
/// for a delete with erase).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StopCall {
    /// Unix time in ms.
    pub at_ms: u64,
    /// URL called.
    pub url: String,
    /// Status answered.
    pub status: Option<u16>,
    /// Failure, if any.
    pub error: Option<String>,
}

/// Per-workspace evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceReport {
    /// Workspace name.
    pub name: String,
    /// Current status (`provisioning`, `running`, `failed`, `deleted`).
    pub status: String,
    /// Current instance id.
    pub instance_id: Option<String>,
    /// Current failure reason.
    pub error: Option<String>,
    /// Provision runs, oldest first.
    pub runs: Vec<ProvisionRun>,
    /// Stop calls, oldest first.
    pub stops: Vec<StopCall>,
}

/// Totals over all workspaces.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Provision runs started.
    pub provision_runs: u64,
    /// HTTP provision attempts sent.
    pub provision_attempts: u64,
    /// Runs that ended with an instance id.
    pub provisioned: u64,
    /// Runs that failed.
    pub failed: u64,
    /// Restart requests accepted (202).
    pub restarts_requested: u64,
    /// Restart requests that joined a run already in flight.
    pub restarts_coalesced: u64,
    /// Config refreshes attempted.
    pub config_refreshes: u64,
    /// Status calls made by the health sweep.
    #[serde(default)]
    pub status_checks: u64,
    /// Ensure-image calls made by restarts.
    #[serde(default)]
    pub ensure_image_calls: u64,
    /// Console calls (`GET /workspaces/{id}/console`).
    #[serde(default)]
    pub console_calls: u64,
}

/// The whole of `GET /__/tenant/cp`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpReport {
    /// The tenant's org.
    pub org_id: String,
    /// Where the real tenant would go with nothing set; never called here.
    pub production_default: String,
    /// Provision base now (after any refresh).
    pub provision: BaseResolution,
    /// Config-fetch base now.
    pub config: BaseResolution,
    /// Both, from the start environment.
    pub boot: BootResolution,
    /// Variables set that neither CP client reads (`CP_UPSTREAM_URL`).
    pub ignored: BTreeMap<String, String>,
    /// Which credentials are sent.
    pub credentials: Credentials,
    /// The last config refresh, if any ran.
    pub config_refresh: Option<ConfigRefresh>,
    /// Workspaces by id, deleted ones included.
    pub workspaces: BTreeMap<String, WorkspaceReport>,
    /// Totals.
    pub totals: Totals,
    /// The last log lines (CP events only; no secrets).
    pub log: Vec<String>,
}
