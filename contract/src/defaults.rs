//! The stack's defaults, as compose.yml publishes it: what seed, the replay
//! runner and the gate assume when nothing overrides them. One place, so a
//! port or an org id cannot differ between the tool that writes
//! `.seed.env` and the one that reads it.

use std::time::Duration;

/// cp-stub's default port (`PORT`).
pub const STUB_PORT: u16 = 9090;
/// Default `CP_STUB_BASE` (incident D5: seed always writes it).
pub const CP_STUB_BASE: &str = "http://localhost:9090";
/// Tenant alpha's default base (compose publishes it on 127.0.0.1:8081).
pub const ALPHA_BASE: &str = "http://127.0.0.1:8081";
/// Tenant beta's default base.
pub const BETA_BASE: &str = "http://127.0.0.1:8082";
/// Tenant alpha's default org.
pub const ALPHA_ORG_ID: &str = "org-alpha";
/// Tenant beta's default org.
pub const BETA_ORG_ID: &str = "org-beta";
/// Tenant alpha's default admin token.
pub const ALPHA_ADMIN_TOKEN: &str = "alpha-admin-token";
/// Tenant beta's default admin token.
pub const BETA_ADMIN_TOKEN: &str = "beta-admin-token";
/// The file seed writes and the runner reads.
pub const SEED_ENV_FILE: &str = ".seed.env";
/// How long seed waits for the whole stack by default.
pub const SEED_TIMEOUT: Duration = Duration::from_secs(120);
