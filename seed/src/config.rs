//! What a seed run needs: the two tenants, the stub, the output file —
//! as a [`Config`] for the library and as [`Settings`], the `seed` binary's
//! flags and variables (each defined once here, its doc comment its help).

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use contract::defaults;
use contract::redact;
use educe::Educe;

use crate::error::SeedError;

/// One tenant to seed.
#[derive(Clone, PartialEq, Eq, Educe)]
#[educe(Debug)]
pub struct TenantTarget {
    /// Base URL (`ALPHA_BASE` / `BETA_BASE`).
    pub base: String,
    /// Admin bearer (`ALPHA_ADMIN_TOKEN` / `BETA_ADMIN_TOKEN`).
    #[educe(Debug(method(redact::debug_masked)))]
    pub admin_token: String,
    /// Org id sent as `X-Molecule-Org-Id` (`ALPHA_ORG_ID` / `BETA_ORG_ID`).
    pub org_id: String,
    /// `Host` header to send, for a tenant behind a proxy (`ALPHA_HOST` / `BETA_HOST`).
    pub host: Option<String>,
}

impl TenantTarget {
    /// Compose's tenant alpha.
    pub fn alpha() -> TenantTarget {
        TenantTarget {
            base: defaults::ALPHA_BASE.into(),
            admin_token: defaults::ALPHA_ADMIN_TOKEN.into(),
            org_id: defaults::ALPHA_ORG_ID.into(),
            host: None,
        }
    }

    /// Compose's tenant beta.
    pub fn beta() -> TenantTarget {
        TenantTarget {
            base: defaults::BETA_BASE.into(),
            admin_token: defaults::BETA_ADMIN_TOKEN.into(),
            org_id: defaults::BETA_ORG_ID.into(),
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
            cp_stub_base: defaults::CP_STUB_BASE.into(),
            out: PathBuf::from(defaults::SEED_ENV_FILE),
            timeout: defaults::SEED_TIMEOUT,
            stack_id: None,
            progress: Progress::Quiet,
            poll_interval: Duration::from_millis(100),
            before_rename: None,
        }
    }
}

impl Config {
    /// Refuse a configuration no run can succeed with (exit code 2).
    pub(crate) fn validate(&self) -> Result<(), SeedError> {
        let checks = [
            ("ALPHA_BASE", &self.alpha.base),
            ("BETA_BASE", &self.beta.base),
            ("CP_STUB_BASE", &self.cp_stub_base),
        ];
        for (name, value) in checks {
            let v = value.trim();
            if !(v.starts_with("http://") || v.starts_with("https://"))
                || v.len() <= "http://".len()
            {
                return Err(SeedError::Config(format!(
                    "{name}={value:?} is not an http:// URL; set it to e.g. http://127.0.0.1:8081"
                )));
            }
        }
        for (name, value) in [
            ("ALPHA_ORG_ID", &self.alpha.org_id),
            ("BETA_ORG_ID", &self.beta.org_id),
            ("ALPHA_ADMIN_TOKEN", &self.alpha.admin_token),
            ("BETA_ADMIN_TOKEN", &self.beta.admin_token),
        ] {
            if value.trim().is_empty() {
                return Err(SeedError::Config(format!(
                    "{name} is empty; set it (flag, env or .env)"
                )));
            }
        }
        if self.alpha.org_id == self.beta.org_id {
            return Err(SeedError::Config(format!(
                "ALPHA_ORG_ID and BETA_ORG_ID are both {:?}; each tenant needs its own org, or the stub cannot tell their calls apart (D4)",
                self.alpha.org_id
            )));
        }
        if trim_base(&self.alpha.base) == trim_base(&self.beta.base) {
            return Err(SeedError::Config(format!(
                "ALPHA_BASE and BETA_BASE are both {}; point each at its own tenant",
                self.alpha.base
            )));
        }
        Ok(())
    }
}

/// A base URL as seed uses it: trimmed, without a trailing `/`.
pub(crate) fn trim_base(base: &str) -> String {
    base.trim().trim_end_matches('/').to_string()
}

/// The `seed` binary's inputs for a run. Precedence: flags, then the
/// environment (clap's `env`), then `.env` (loaded into the environment
/// first by the binary), then the defaults of [`contract::defaults`].
#[derive(Debug, Clone, clap::Args)]
pub struct Settings {
    /// Tenant alpha's base URL.
    #[arg(long, env = "ALPHA_BASE", default_value = defaults::ALPHA_BASE)]
    pub alpha_base: String,
    /// Tenant beta's base URL.
    #[arg(long, env = "BETA_BASE", default_value = defaults::BETA_BASE)]
    pub beta_base: String,
    /// Tenant alpha's admin bearer token.
    #[arg(long, env = "ALPHA_ADMIN_TOKEN", default_value = defaults::ALPHA_ADMIN_TOKEN, hide_env_values = true)]
    pub alpha_admin_token: String,
    /// Tenant beta's admin bearer token.
    #[arg(long, env = "BETA_ADMIN_TOKEN", default_value = defaults::BETA_ADMIN_TOKEN, hide_env_values = true)]
    pub beta_admin_token: String,
    /// Tenant alpha's org id (X-Molecule-Org-Id).
    #[arg(long, env = "ALPHA_ORG_ID", default_value = defaults::ALPHA_ORG_ID)]
    pub alpha_org_id: String,
    /// Tenant beta's org id (X-Molecule-Org-Id).
    #[arg(long, env = "BETA_ORG_ID", default_value = defaults::BETA_ORG_ID)]
    pub beta_org_id: String,
    /// Host header for tenant alpha, when it sits behind a proxy.
    #[arg(long, env = "ALPHA_HOST")]
    pub alpha_host: Option<String>,
    /// Host header for tenant beta, when it sits behind a proxy.
    #[arg(long, env = "BETA_HOST")]
    pub beta_host: Option<String>,
    /// cp-stub's base URL as the replays reach it (written as CP_STUB_BASE).
    #[arg(long, env = "CP_STUB_BASE", default_value = defaults::CP_STUB_BASE)]
    pub cp_stub_base: String,
    /// Env file to write.
    #[arg(long, env = "SEED_ENV_FILE", default_value = defaults::SEED_ENV_FILE)]
    pub out: PathBuf,
    /// Overall timeout in seconds (waiting, creating and provisioning together).
    #[arg(long, env = "SEED_TIMEOUT", default_value_t = defaults::SEED_TIMEOUT.as_secs())]
    pub timeout: u64,
    /// Stack id to stamp into the file (random per run when absent).
    #[arg(long, env = "HARNESS_STACK_ID")]
    pub stack_id: Option<String>,
    /// No progress output (errors are still printed).
    #[arg(long, short)]
    pub quiet: bool,
}

impl From<Settings> for Config {
    fn from(s: Settings) -> Config {
        Config {
            alpha: TenantTarget {
                base: s.alpha_base,
                admin_token: s.alpha_admin_token,
                org_id: s.alpha_org_id,
                host: s.alpha_host,
            },
            beta: TenantTarget {
                base: s.beta_base,
                admin_token: s.beta_admin_token,
                org_id: s.beta_org_id,
                host: s.beta_host,
            },
            cp_stub_base: s.cp_stub_base,
            out: s.out,
            timeout: Duration::from_secs(s.timeout.max(1)),
            stack_id: s.stack_id,
            progress: if s.quiet {
                Progress::Quiet
            } else {
                Progress::Auto
            },
            ..Config::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_tokens() {
        let text = format!("{:?}", Config::default());
        assert!(!text.contains(defaults::ALPHA_ADMIN_TOKEN), "{text}");
        assert!(text.contains("<redacted>"));
    }

    #[test]
    fn validation_names_the_variable() {
        let mut c = Config::default();
        c.beta.org_id = c.alpha.org_id.clone();
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("ALPHA_ORG_ID and BETA_ORG_ID"));
        let c = Config {
            cp_stub_base: "localhost:9090".into(),
            ..Config::default()
        };
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("CP_STUB_BASE"));
        assert!(Config::default().validate().is_ok());
    }
}
