//! What a seed run needs: the two tenants, the stub, the output file.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use contract::defaults::{
    ALPHA_ADMIN_TOKEN as DEFAULT_ALPHA_ADMIN_TOKEN, ALPHA_BASE as DEFAULT_ALPHA_BASE,
    ALPHA_ORG_ID as DEFAULT_ALPHA_ORG_ID, BETA_ADMIN_TOKEN as DEFAULT_BETA_ADMIN_TOKEN,
    BETA_BASE as DEFAULT_BETA_BASE, BETA_ORG_ID as DEFAULT_BETA_ORG_ID,
    CP_STUB_BASE as DEFAULT_CP_STUB_BASE, SEED_ENV_FILE as DEFAULT_OUT,
    SEED_TIMEOUT as DEFAULT_TIMEOUT,
};

/// One tenant to seed.
#[derive(Clone, PartialEq, Eq)]
pub struct TenantTarget {
    /// Base URL (`ALPHA_BASE` / `BETA_BASE`).
    pub base: String,
    /// Admin bearer (`ALPHA_ADMIN_TOKEN` / `BETA_ADMIN_TOKEN`).
    pub admin_token: String,
    /// Org id sent as `X-Molecule-Org-Id` (`ALPHA_ORG_ID` / `BETA_ORG_ID`).
    pub org_id: String,
    /// `Host` header to send, for a tenant behind a proxy (`ALPHA_HOST` / `BETA_HOST`).
    pub host: Option<String>,
}

impl fmt::Debug for TenantTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The token never reaches a log, not even through `{:?}`.
        f.debug_struct("TenantTarget")
            .field("base", &self.base)
            .field("admin_token", &contract::admin::REDACTED)
            .field("org_id", &self.org_id)
            .field("host", &self.host)
            .finish()
    }
}

impl TenantTarget {
    /// Compose's tenant alpha.
    pub fn alpha() -> TenantTarget {
        TenantTarget {
            base: DEFAULT_ALPHA_BASE.into(),
            admin_token: DEFAULT_ALPHA_ADMIN_TOKEN.into(),
            org_id: DEFAULT_ALPHA_ORG_ID.into(),
            host: None,
        }
    }

    /// Compose's tenant beta.
    pub fn beta() -> TenantTarget {
        TenantTarget {
            base: DEFAULT_BETA_BASE.into(),
            admin_token: DEFAULT_BETA_ADMIN_TOKEN.into(),
            org_id: DEFAULT_BETA_ORG_ID.into(),
            host: None,
        }
    }
}

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Progress {
    /// Nothing (the library default).
    #[default]
    Quiet,
    /// One line per step on stderr.
    Plain,
    /// A spinner on stderr when it is a terminal, plain lines otherwise.
    Auto,
}

/// A function called between writing the temp file and renaming it over
/// the output. Tests use it to fail at exactly that point and show that the
/// previous file survives; nothing else should.
#[doc(hidden)]
#[derive(Clone)]
pub struct WriteHook(pub Arc<HookFn>);

/// The function type of a [`WriteHook`].
#[doc(hidden)]
pub type HookFn = dyn Fn(&Path) -> io::Result<()> + Send + Sync;

impl fmt::Debug for WriteHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WriteHook(..)")
    }
}

/// Everything [`crate::run`] needs. `Default` matches the compose stack.
#[derive(Debug, Clone)]
pub struct Config {
    /// Tenant alpha.
    pub alpha: TenantTarget,
    /// Tenant beta.
    pub beta: TenantTarget,
    /// The stub (`CP_STUB_BASE`), checked for health and attribution and
    /// written to the env file.
    pub cp_stub_base: String,
    /// Output file (`.seed.env`).
    pub out: PathBuf,
    /// One timeout for the whole run.
    pub timeout: Duration,
    /// Stack id to stamp; random when `None`.
    pub stack_id: Option<String>,
    /// Progress display.
    pub progress: Progress,
    /// Wait between two polls of a tenant or the stub.
    pub poll_interval: Duration,
    #[doc(hidden)]
    pub before_rename: Option<WriteHook>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            alpha: TenantTarget::alpha(),
            beta: TenantTarget::beta(),
            cp_stub_base: DEFAULT_CP_STUB_BASE.into(),
            out: PathBuf::from(DEFAULT_OUT),
            timeout: DEFAULT_TIMEOUT,
            stack_id: None,
            progress: Progress::Quiet,
            poll_interval: Duration::from_millis(100),
            before_rename: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_tokens() {
        let text = format!("{:?}", Config::default());
        assert!(!text.contains(DEFAULT_ALPHA_ADMIN_TOKEN), "{text}");
        assert!(text.contains("<redacted>"));
    }
}
