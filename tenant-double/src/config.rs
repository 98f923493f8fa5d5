//! The tenant's settings: the real tenant's variables plus the double's own knobs.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

/// Variables the real tenant reads, in the order this crate documents them.
pub const TENANT_VARIABLES: &[&str] = &[
    "PORT",
    "TENANT_BIND",
    "MOLECULE_ORG_ID",
    "ADMIN_TOKEN",
    "PLATFORM_URL",
    "CP_PROVISION_URL",
    "MOLECULE_CP_URL",
    "MOLECULE_CP_DEFAULT_URL",
    "CP_UPSTREAM_URL",
    "MOLECULE_CP_SHARED_SECRET",
    "PROVISION_SHARED_SECRET",
    "CP_ADMIN_API_TOKEN",
];

/// The production CP base the real tenant falls back to when none of its
/// variables is set. The double never sends a request there (incident D2).
pub const PRODUCTION_CP_URL: &str = "https://api.moleculesai.app";

/// Errors reading the configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A variable has a value that does not parse.
    #[error("{name}={value:?} is not valid: {reason}")]
    Invalid {
        /// Variable name.
        name: String,
        /// The value found.
        value: String,
        /// What was expected.
        reason: String,
    },
}

/// How the provision call is retried (the real client: 6 attempts, 2 s
/// doubling, cap 10 s, on 408, 429 and 500–527).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (at least 1).
    pub attempts: u32,
    /// Wait before the second attempt; doubled after each retry.
    pub initial: Duration,
    /// Longest wait between two attempts.
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 6,
            initial: Duration::from_secs(2),
            cap: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// A policy with the real attempt count and millisecond waits, for tests.
    pub fn fast() -> Self {
        RetryPolicy {
            attempts: 6,
            initial: Duration::from_millis(5),
            cap: Duration::from_millis(20),
        }
    }

    /// The wait after failed attempt `attempt` (1-based).
    pub fn delay_after(&self, attempt: u32) -> Duration {
        let factor = 1u32 << attempt.saturating_sub(1).min(20);
        self.initial.saturating_mul(factor).min(self.cap)
    }
}

/// Everything [`crate::start`] needs. `Default` is an unconfigured tenant on
/// 127.0.0.1:8080 with no CP variable set; fill in what a test needs:
///
/// ```
/// let config = tenant_double::Config {
///     port: 0,
///     org_id: "org-alpha".into(),
///     admin_token: "alpha-admin-token".into(),
///     cp_provision_url: Some("http://127.0.0.1:9090".into()),
///     ..Default::default()
/// };
/// assert_eq!(config.retry.attempts, 6);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Config {
    /// Address to bind (`TENANT_BIND`, default 127.0.0.1; the container uses 0.0.0.0).
    pub bind: IpAddr,
    /// Port (`PORT`, default 8080; 0 = ephemeral).
    pub port: u16,
    /// The tenant's org (`MOLECULE_ORG_ID`); required.
    pub org_id: String,
    /// The tenant's admin token (`ADMIN_TOKEN`): the bearer its admin API
    /// accepts, and what it sends to the CP.
    pub admin_token: String,
    /// `PLATFORM_URL`, sent as `platform_url` when provisioning (default: the
    /// tenant's own base URL).
    pub platform_url: Option<String>,
    /// `CP_PROVISION_URL`: first choice for provisioning, ignored by the config fetch.
    pub cp_provision_url: Option<String>,
    /// `MOLECULE_CP_URL`: second choice for provisioning, first for the config fetch.
    pub molecule_cp_url: Option<String>,
    /// `MOLECULE_CP_DEFAULT_URL`: the last variable either client reads.
    pub molecule_cp_default_url: Option<String>,
    /// `CP_UPSTREAM_URL`: read by neither CP client (only by the real tenant's
    /// `/cp/*` proxy); kept so a failure can say it was set (incident D2).
    pub cp_upstream_url: Option<String>,
    /// `MOLECULE_CP_SHARED_SECRET`: the provision bearer.
    pub shared_secret: Option<String>,
    /// `PROVISION_SHARED_SECRET`: the provision bearer when the former is unset.
    pub provision_shared_secret: Option<String>,
    /// `CP_ADMIN_API_TOKEN` (read for completeness; the double calls no admin route).
    pub cp_admin_api_token: Option<String>,
    /// Provision retry policy.
    pub retry: RetryPolicy,
    /// Timeout of one CP request.
    pub cp_timeout: Duration,
    /// Fetch `/cp/tenants/config` during [`crate::start`] (the real tenant does).
    pub config_refresh_on_boot: bool,
    /// Print log lines to stderr (they are kept in `/__/tenant/cp` either way).
    pub log: bool,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Secrets never reach a log, not even through `{:?}`.
        const HIDDEN: &str = contract::admin::REDACTED;
        let hide = |s: &Option<String>| s.as_ref().map(|_| HIDDEN);
        f.debug_struct("Config")
            .field("bind", &self.bind)
            .field("port", &self.port)
            .field("org_id", &self.org_id)
            .field(
                "admin_token",
                &(!self.admin_token.is_empty()).then_some(HIDDEN),
            )
            .field("platform_url", &self.platform_url)
            .field("cp_provision_url", &self.cp_provision_url)
            .field("molecule_cp_url", &self.molecule_cp_url)
            .field("molecule_cp_default_url", &self.molecule_cp_default_url)
            .field("cp_upstream_url", &self.cp_upstream_url)
            .field("shared_secret", &hide(&self.shared_secret))
            .field(
                "provision_shared_secret",
                &hide(&self.provision_shared_secret),
            )
            .field("cp_admin_api_token", &hide(&self.cp_admin_api_token))
            .field("retry", &self.retry)
            .field("cp_timeout", &self.cp_timeout)
            .field("config_refresh_on_boot", &self.config_refresh_on_boot)
            .field("log", &self.log)
            .finish()
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 8080,
            org_id: String::new(),
            admin_token: String::new(),
            platform_url: None,
            cp_provision_url: None,
            molecule_cp_url: None,
            molecule_cp_default_url: None,
            cp_upstream_url: None,
            shared_secret: None,
            provision_shared_secret: None,
            cp_admin_api_token: None,
            retry: RetryPolicy::default(),
            cp_timeout: Duration::from_secs(30),
            config_refresh_on_boot: true,
            log: false,
        }
    }
}

impl Config {
    /// Read the real tenant's variables (see [`TENANT_VARIABLES`]) from the
    /// process environment. Empty values count as unset, as in the real tenant.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_vars(std::env::vars())
    }

    /// Read the same variables from an explicit list, so tests can cover
    /// every env-order case without touching the process environment.
    ///
    /// ```
    /// let config = tenant_double::Config::from_vars([
    ///     ("MOLECULE_ORG_ID", "org-alpha"),
    ///     ("MOLECULE_CP_DEFAULT_URL", "http://127.0.0.1:9090"),
    ///     ("CP_PROVISION_URL", ""),
    /// ]).unwrap();
    /// assert_eq!(config.cp_provision_url, None);
    /// assert_eq!(config.port, 8080);
    /// ```
    pub fn from_vars<I, K, V>(vars: I) -> Result<Config, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let vars: BTreeMap<String, String> = vars
            .into_iter()
            .filter(|(k, _)| TENANT_VARIABLES.contains(&k.as_ref()))
            .filter(|(_, v)| !v.as_ref().is_empty())
            .map(|(k, v)| (k.as_ref().to_string(), v.as_ref().to_string()))
            .collect();
        let get = |name: &str| vars.get(name).cloned();
        let mut config = Config::default();
        if let Some(port) = get("PORT") {
            config.port = port.trim().parse().map_err(|_| ConfigError::Invalid {
                name: "PORT".into(),
                value: port.clone(),
                reason: "expected a port number (0-65535)".into(),
            })?;
        }
        if let Some(bind) = get("TENANT_BIND") {
            config.bind = bind.trim().parse().map_err(|_| ConfigError::Invalid {
                name: "TENANT_BIND".into(),
                value: bind.clone(),
                reason: "expected an IP address such as 127.0.0.1 or 0.0.0.0".into(),
            })?;
        }
        config.org_id = get("MOLECULE_ORG_ID").unwrap_or_default();
        config.admin_token = get("ADMIN_TOKEN").unwrap_or_default();
        config.platform_url = get("PLATFORM_URL");
        config.cp_provision_url = get("CP_PROVISION_URL");
        config.molecule_cp_url = get("MOLECULE_CP_URL");
        config.molecule_cp_default_url = get("MOLECULE_CP_DEFAULT_URL");
        config.cp_upstream_url = get("CP_UPSTREAM_URL");
        config.shared_secret = get("MOLECULE_CP_SHARED_SECRET");
        config.provision_shared_secret = get("PROVISION_SHARED_SECRET");
        config.cp_admin_api_token = get("CP_ADMIN_API_TOKEN");
        Ok(config)
    }

    /// The CP-related variables as the tenant's initial effective env (empty
    /// values dropped). The config refresh overlays this map.
    pub(crate) fn cp_env(&self) -> BTreeMap<String, String> {
        let pairs: [(&str, &Option<String>); 8] = [
            ("PLATFORM_URL", &self.platform_url),
            ("CP_PROVISION_URL", &self.cp_provision_url),
            ("MOLECULE_CP_URL", &self.molecule_cp_url),
            ("MOLECULE_CP_DEFAULT_URL", &self.molecule_cp_default_url),
            ("CP_UPSTREAM_URL", &self.cp_upstream_url),
            ("MOLECULE_CP_SHARED_SECRET", &self.shared_secret),
            ("PROVISION_SHARED_SECRET", &self.provision_shared_secret),
            ("CP_ADMIN_API_TOKEN", &self.cp_admin_api_token),
        ];
        pairs
            .into_iter()
            .filter_map(|(k, v)| {
                v.as_ref()
                    .filter(|v| !v.is_empty())
                    .map(|v| (k.to_string(), v.clone()))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let p = RetryPolicy::default();
        let waits: Vec<u64> = (1..6).map(|n| p.delay_after(n).as_secs()).collect();
        assert_eq!(waits, vec![2, 4, 8, 10, 10]);
    }

    #[test]
    fn debug_hides_secrets() {
        let c = Config::from_vars([
            ("ADMIN_TOKEN", "tok-123"),
            ("MOLECULE_CP_SHARED_SECRET", "sec-456"),
        ])
        .unwrap();
        let text = format!("{c:?}");
        assert!(
            !text.contains("tok-123") && !text.contains("sec-456"),
            "{text}"
        );
        assert!(text.contains("<redacted>"));
    }

    #[test]
    fn from_vars_reads_and_rejects() {
        let c = Config::from_vars([("PORT", "0"), ("TENANT_BIND", "0.0.0.0")]).unwrap();
        assert_eq!(c.port, 0);
        assert_eq!(c.bind.to_string(), "0.0.0.0");
        let err = Config::from_vars([("PORT", "eighty")]).unwrap_err();
        assert!(err.to_string().contains("PORT=\"eighty\""), "{err}");
    }
}
