//! The tenant's settings: the real tenant's variables plus the double's own
//! knobs, each defined once as a clap argument (flag, variable, default and
//! help); the binary parses them from its command line and env, the library
//! from a variable list ([`Config::from_vars`]).

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use clap::builder::BoolishValueParser;
use clap::ArgAction;
use serde::Serialize;

use crate::retry::RetryPolicy;
use crate::vars::{self, ConfigError};

/// Everything [`crate::start`] needs, one field per setting (its flag and
/// variable: `tenant-double --help`, README.md). `Default` is an
/// unconfigured tenant on 127.0.0.1:8080 with no CP variable set; fill in
/// what a test needs:
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
#[derive(Clone, PartialEq, Eq, clap::Args, Serialize)]
pub struct Config {
    /// Address to bind (the container uses 0.0.0.0).
    #[arg(long, env = "TENANT_BIND", default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// Port to listen on (0 = ephemeral).
    #[arg(long, env = "PORT", default_value_t = 8080)]
    pub port: u16,
    /// The tenant's org; required.
    #[arg(long, env = "MOLECULE_ORG_ID", default_value = "")]
    pub org_id: String,
    /// The tenant's admin token: the bearer its admin API accepts, sent to
    /// the CP as `X-Molecule-Admin-Token` and as the config-fetch bearer.
    #[arg(long, env = "ADMIN_TOKEN", default_value = "", hide_env_values = true)]
    pub admin_token: String,
    /// Sent as `platform_url` when provisioning (default: the tenant's own base URL).
    #[arg(long, env = "PLATFORM_URL")]
    pub platform_url: Option<String>,
    /// First choice for provisioning; the config fetch ignores it.
    #[arg(long, env = "CP_PROVISION_URL")]
    pub cp_provision_url: Option<String>,
    /// Second choice for provisioning, first for the config fetch.
    #[arg(long, env = "MOLECULE_CP_URL")]
    pub molecule_cp_url: Option<String>,
    /// The last variable either CP client reads.
    #[arg(long, env = "MOLECULE_CP_DEFAULT_URL")]
    pub molecule_cp_default_url: Option<String>,
    /// Read by neither CP client (only by the real tenant's `/cp/*` proxy);
    /// kept so a failure can say it was set (incident D2).
    #[arg(long, env = "CP_UPSTREAM_URL")]
    pub cp_upstream_url: Option<String>,
    /// The provision bearer.
    #[arg(long, env = "MOLECULE_CP_SHARED_SECRET", hide_env_values = true)]
    pub shared_secret: Option<String>,
    /// The provision bearer when `MOLECULE_CP_SHARED_SECRET` is unset.
    #[arg(long, env = "PROVISION_SHARED_SECRET", hide_env_values = true)]
    pub provision_shared_secret: Option<String>,
    /// The bearer of the CP admin routes (`/cp/admin/*`: console); the
    /// shared secret when unset, as in the real client.
    #[arg(long, env = "CP_ADMIN_API_TOKEN", hide_env_values = true)]
    pub cp_admin_api_token: Option<String>,
    /// LLM proxy usage token: one of the four keys a managed tenant must
    /// have after the boot config refresh (from env or the config).
    #[arg(long, env = "MOLECULE_LLM_USAGE_TOKEN", hide_env_values = true)]
    pub llm_usage_token: Option<String>,
    /// LLM proxy usage URL (one of the four required keys).
    #[arg(long, env = "MOLECULE_LLM_USAGE_URL")]
    pub llm_usage_url: Option<String>,
    /// LLM proxy base URL (one of the four required keys).
    #[arg(long, env = "MOLECULE_LLM_BASE_URL")]
    pub llm_base_url: Option<String>,
    /// LLM proxy Anthropic base URL (one of the four required keys).
    #[arg(long, env = "MOLECULE_LLM_ANTHROPIC_BASE_URL")]
    pub llm_anthropic_base_url: Option<String>,
    /// How long boot retries a failing config fetch while the LLM keys are
    /// missing, in Go duration syntax (`90s`, `1m30s`, `250ms`); an invalid
    /// or non-positive value is logged and the real default, 90s, used.
    #[arg(long, env = "MOLECULE_CP_CONFIG_RETRY_WINDOW")]
    pub cp_config_retry_window: Option<String>,
    /// Interval of the health sweep that calls the CP status route for every
    /// live workspace, Go duration syntax (real: 15s); 0 turns it off.
    #[arg(
        long = "health-sweep-interval",
        env = "TENANT_DOUBLE_HEALTH_SWEEP_INTERVAL",
        default_value = "15s",
        value_name = "DURATION",
        value_parser = vars::go_duration
    )]
    pub health_sweep_interval: Duration,
    /// Provision retry policy.
    #[command(flatten)]
    pub retry: RetryPolicy,
    /// Timeout of one CP request, in ms.
    #[arg(
        long = "cp-timeout-ms",
        env = "TENANT_DOUBLE_CP_TIMEOUT_MS",
        default_value = "30000",
        value_name = "MS",
        value_parser = vars::millis
    )]
    pub cp_timeout: Duration,
    /// Time a client has to send a request body, in ms (a stalled client
    /// gets 408 and the connection back).
    #[arg(
        long = "body-timeout-ms",
        env = "TENANT_DOUBLE_BODY_TIMEOUT_MS",
        default_value = "10000",
        value_name = "MS",
        value_parser = vars::millis
    )]
    pub body_timeout: Duration,
    /// Whether boot fetches /cp/tenants/config and checks the LLM keys, as
    /// the real tenant always does; `--no-config-refresh` skips both.
    #[arg(
        long = "no-config-refresh",
        env = "TENANT_DOUBLE_NO_CONFIG_REFRESH",
        action = ArgAction::SetTrue,
        value_parser = vars::negated_flag()
    )]
    pub config_refresh_on_boot: bool,
    /// Answer as the real tenant is known to (an opaque tenant): no
    /// `/__/tenant/*` routes (404), a provisioned workspace stays
    /// `provisioning`, no `instance_id` / `error` / `provision_runs` in the
    /// workspace JSON. Its CP calls, the health sweep included, are unchanged.
    #[arg(long = "no-evidence", env = "TENANT_DOUBLE_NO_EVIDENCE", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new())]
    pub no_evidence: bool,
    /// Print log lines to stderr (they are kept in `/__/tenant/cp` either
    /// way). Off in the library; the binary turns it on unless `--quiet`.
    #[arg(skip)]
    pub log: bool,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        vars::redacted_debug("Config", self, f)
    }
}

impl Default for Config {
    fn default() -> Self {
        vars::defaults()
    }
}

impl Config {
    /// Read the settings' variables (the real tenant's, see the README, and
    /// the `TENANT_DOUBLE_*` knobs) from the process environment. Empty
    /// values count as unset, as in the real tenant.
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
        vars::from_vars(vars)
    }

    /// The tenant's initial effective env: every string setting with a
    /// value, by its variable (`CP_PROVISION_URL`, `MOLECULE_CP_SHARED_SECRET`,
    /// …). The config refresh overlays this map.
    pub(crate) fn env(&self) -> BTreeMap<String, String> {
        vars::to_vars(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[derive(Debug, clap::Parser)]
    struct Cli {
        #[command(flatten)]
        config: Config,
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
        let c = Config::from_vars([
            ("PORT", "0"),
            ("TENANT_BIND", "0.0.0.0"),
            ("TENANT_DOUBLE_RETRY_INITIAL_MS", "7"),
            ("TENANT_DOUBLE_NO_CONFIG_REFRESH", "true"),
        ])
        .unwrap();
        assert_eq!(c.port, 0);
        assert_eq!(c.bind.to_string(), "0.0.0.0");
        assert_eq!(c.retry.initial, Duration::from_millis(7));
        assert!(!c.config_refresh_on_boot);
        assert!(!c.no_evidence);
        for on in ["1", "true", "yes"] {
            let c = Config::from_vars([("TENANT_DOUBLE_NO_EVIDENCE", on)]).unwrap();
            assert!(c.no_evidence, "{on}");
        }
        let err = Config::from_vars([("PORT", "eighty")]).unwrap_err();
        assert!(err.to_string().contains("PORT=\"eighty\""), "{err}");
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let c = Config::default();
        assert_eq!((c.bind.to_string(), c.port), ("127.0.0.1".into(), 8080));
        assert_eq!(c.retry, RetryPolicy::default());
        assert_eq!(c.cp_timeout, Duration::from_secs(30));
        assert_eq!(c.body_timeout, Duration::from_secs(10));
        assert_eq!(c.health_sweep_interval, Duration::from_secs(15));
        assert_eq!(c.cp_config_retry_window, None);
        assert!(c.config_refresh_on_boot && !c.log);
        assert!(!c.env().contains_key("CP_PROVISION_URL"));
        let c = Config::from_vars([("CP_PROVISION_URL", "http://s")]).unwrap();
        assert_eq!(c.env()["CP_PROVISION_URL"], "http://s");
    }

    #[test]
    fn secret_variables_hide_their_values_in_help() {
        // The one redaction rule decides which settings are secret.
        for arg in Cli::command().get_arguments() {
            let Some(name) = arg.get_env().and_then(|e| e.to_str()) else {
                continue;
            };
            assert_eq!(
                arg.is_hide_env_values_set(),
                contract::redact::is_secret_name(name),
                "{name}"
            );
        }
    }
}
