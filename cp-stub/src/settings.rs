//! The binary's settings: command-line flags, environment variables and
//! the `--config` TOML file, all one struct ([`Settings`]), each setting
//! written once — its field, flag, variable and TOML key, with one doc
//! comment that is also its `--help` text.
//!
//! Precedence, highest first: flags, environment variables, the file,
//! defaults. Flags and environment are merged by clap (a flag beats its
//! variable); [`load`] lays the result over the file ([`Settings::or`]),
//! then over [`Config::default`], and checks everything against the
//! contract.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::config::{AdminToken, Config, ConfigError, LogFormat};
use crate::tenant_config;

/// Declares [`Settings`] and [`Settings::or`] from one list of fields, so a
/// new setting is one field.
macro_rules! settings {
    (
        $(#[$meta:meta])*
        pub struct Settings { $( $(#[$field_meta:meta])* pub $field:ident: Option<$ty:ty>, )* }
    ) => {
        $(#[$meta])*
        pub struct Settings { $( $(#[$field_meta])* pub $field: Option<$ty>, )* }

        impl Settings {
            /// `self` where set, else `lower`.
            pub fn or(self, lower: Settings) -> Settings {
                Settings { $( $field: self.$field.or(lower.$field), )* }
            }
        }
    };
}

settings! {
    /// The settings layer shared by the command line, the environment and
    /// the `--config` TOML file. Every field is optional; [`load`] fills the
    /// rest from defaults. In the TOML file the keys are the field names
    /// (`port`, `bind`, `instance_prefix`, ...); unknown keys are an error.
    #[derive(Debug, Clone, Default, Deserialize, clap::Args)]
    #[serde(deny_unknown_fields)]
    pub struct Settings {
        /// Port to listen on [default: 9090; 0 = ephemeral]
        #[arg(long, env = "PORT")]
        pub port: Option<u16>,
        /// Address to bind [default: 127.0.0.1; use 0.0.0.0 in a container]
        #[arg(long, env = "CP_STUB_BIND")]
        pub bind: Option<std::net::IpAddr>,
        /// Prefix of instance_id (`<prefix><workspace_id>`) [default: mol-ws-]
        #[arg(long, env = "CP_STUB_INSTANCE_PREFIX")]
        pub instance_prefix: Option<String>,
        /// Base URL written into the tenant config map, e.g. http://cp-stub:9090
        /// [default: http://HOST, HOST the Host header of the request]
        #[arg(long, env = "CP_STUB_PUBLIC_URL")]
        pub public_url: Option<String>,
        /// Shared secret served as MOLECULE_CP_SHARED_SECRET in the tenant config
        /// [default: harness-shared-secret]
        #[arg(long, env = "CP_STUB_SHARED_SECRET", hide_env_values = true)]
        pub shared_secret: Option<String>,
        /// Answer 400 naming the bad fields when a request breaks the contract,
        /// instead of recording a violation and serving it [default: false]
        #[arg(long, env = "CP_STUB_STRICT", num_args = 0..=1, default_missing_value = "true")]
        pub strict: Option<bool>,
        /// Require `Authorization: Bearer <SECRET>` on routes that carry the shared
        /// secret (provision, stop, status, ensure-image; the /cp/admin/* routes
        /// too unless --expect-admin-api-token is set); 401 otherwise
        /// [default: not enforced]
        #[arg(
            long,
            env = "CP_STUB_EXPECT_SHARED_SECRET",
            value_name = "SECRET",
            hide_env_values = true
        )]
        pub expect_shared_secret: Option<String>,
        /// Require `Authorization: Bearer <TOKEN>` (the tenant's CP_ADMIN_API_TOKEN)
        /// on /cp/admin/* routes (console, create-org, redeploy-fleet); 401
        /// otherwise [default: unset, those routes take the shared secret, as the
        /// real client sends it when CP_ADMIN_API_TOKEN is unset]
        #[arg(
            long,
            env = "CP_STUB_EXPECT_ADMIN_API_TOKEN",
            value_name = "TOKEN",
            hide_env_values = true
        )]
        pub expect_admin_api_token: Option<String>,
        /// Require an admin token: X-Molecule-Admin-Token on provision-like
        /// routes, `Authorization: Bearer` on /cp/tenants/config. ORG=TOKEN binds a
        /// token to the caller's org; a bare TOKEN is accepted for any org.
        /// Repeat, or comma-separate in the env var [default: not enforced]
        #[arg(
            long = "expect-admin-token",
            env = "CP_STUB_EXPECT_ADMIN_TOKENS",
            value_name = "[ORG=]TOKEN",
            value_delimiter = ',',
            hide_env_values = true
        )]
        pub expect_admin_tokens: Option<Vec<String>>,
        /// Tenant config file: a flat JSON object of strings laid over the default
        /// map (values may use {base_url} and {shared_secret}); validated against
        /// the contract at start
        #[arg(long = "tenant-config", env = "CP_STUB_TENANT_CONFIG", value_name = "FILE")]
        pub tenant_config_file: Option<PathBuf>,
        /// Inline tenant config entries (TOML file only: a `[tenant_config]` table)
        #[arg(skip)]
        pub tenant_config: Option<Value>,
        /// Journal entries kept, oldest dropped first [default: 1000; 0 = no journal]
        #[arg(long, env = "CP_STUB_JOURNAL_CAPACITY")]
        pub journal_capacity: Option<usize>,
        /// Bytes the journal may hold, oldest entries dropped first (whichever of
        /// this and --journal-capacity is reached first) [default: 16777216]
        #[arg(long, env = "CP_STUB_JOURNAL_BYTES", value_name = "BYTES")]
        pub journal_bytes: Option<usize>,
        /// Distinct orgs counted (state `orgs` and org scopes); later orgs' calls go
        /// under `<other>` in the state, and the org scope created first is evicted
        /// [default: 1000]
        #[arg(long, env = "CP_STUB_ORGS_CAP", value_name = "N")]
        pub orgs_cap: Option<usize>,
        /// Replay scopes (X-Replay-Id) counted for GET /__/stub/counts; at the bound the
        /// one created first is evicted and a replay needing its count gets ERROR
        /// [default: 4096]
        #[arg(long, env = "CP_STUB_MAX_REPLAY_SCOPES", value_name = "N")]
        pub max_replay_scopes: Option<usize>,
        /// Workspace scopes counted, bounded likewise [default: 16384]
        #[arg(long, env = "CP_STUB_MAX_WORKSPACE_SCOPES", value_name = "N")]
        pub max_workspace_scopes: Option<usize>,
        /// Largest request body in bytes; larger ones get 413 [default: 1048576]
        #[arg(long, env = "CP_STUB_BODY_LIMIT", value_name = "BYTES")]
        pub body_limit: Option<usize>,
        /// Close a connection whose request headers take longer than this, in ms
        /// [default: 10000]
        #[arg(long, env = "CP_STUB_HEADER_READ_TIMEOUT_MS", value_name = "MS")]
        pub header_read_timeout_ms: Option<u64>,
        /// Drop a request (and its connection) whose body has not arrived this long
        /// after its headers, e.g. 10s, 500ms [default: 10s]
        #[arg(long, env = "CP_STUB_BODY_READ_TIMEOUT", value_name = "DURATION")]
        pub body_read_timeout: Option<HumanDuration>,
        /// Close a connection with no request in flight that moves no byte for
        /// this long (idle keep-alive), e.g. 60s [default: 60s]
        #[arg(long, env = "CP_STUB_IDLE_TIMEOUT", value_name = "DURATION")]
        pub idle_timeout: Option<HumanDuration>,
        /// Connections open at once; at the cap the one idle the longest is closed,
        /// else the new one gets 503 [default: 1024]
        #[arg(long, env = "CP_STUB_MAX_CONNECTIONS", value_name = "N")]
        pub max_connections: Option<usize>,
        /// On SIGTERM/SIGINT, how long to wait for in-flight requests, in ms
        /// [default: 30000]
        #[arg(long, env = "CP_STUB_SHUTDOWN_GRACE_MS", value_name = "MS")]
        pub shutdown_grace_ms: Option<u64>,
        /// Request log line on stdout: text, json or off [default: text]
        #[arg(long, env = "CP_STUB_LOG_FORMAT", value_enum)]
        pub log_format: Option<LogFormat>,
    }
}

impl Settings {
    /// Read a TOML settings file; unknown keys are an error naming the key.
    pub fn from_toml_file(path: &Path) -> Result<Settings, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            what: "config file",
            path: path.to_path_buf(),
            source,
        })?;
        // The parser's message quotes the offending line: mask any secret
        // value in it by the contract's rule.
        toml::from_str(&text).map_err(|e| ConfigError::Toml {
            path: path.to_path_buf(),
            reason: contract::redact::text(&e.to_string())
                .trim_end()
                .replace('\n', " | "),
        })
    }

    /// Fill unset fields from `base` (the defaults) and load the tenant config.
    /// `file` names the TOML file the settings came from, for messages.
    pub fn into_config(self, base: Config, file: Option<&Path>) -> Result<Config, ConfigError> {
        let mut c = base;
        let Settings {
            port,
            bind,
            instance_prefix,
            public_url,
            shared_secret,
            strict,
            expect_shared_secret,
            expect_admin_api_token,
            expect_admin_tokens,
            tenant_config_file,
            tenant_config,
            journal_capacity,
            journal_bytes,
            orgs_cap,
            max_replay_scopes,
            max_workspace_scopes,
            body_limit,
            header_read_timeout_ms,
            body_read_timeout,
            idle_timeout,
            max_connections,
            shutdown_grace_ms,
            log_format,
        } = self;
        c.port = port.unwrap_or(c.port);
        c.bind = bind.unwrap_or(c.bind);
        c.instance_prefix = instance_prefix.unwrap_or(c.instance_prefix);
        if let Some(url) = public_url {
            c.public_url = Some(url.trim_end_matches('/').to_string());
        }
        c.shared_secret = shared_secret.unwrap_or(c.shared_secret);
        c.strict = strict.unwrap_or(c.strict);
        c.expect_shared_secret = expect_shared_secret.or(c.expect_shared_secret);
        c.expect_admin_api_token = expect_admin_api_token.or(c.expect_admin_api_token);
        if let Some(list) = expect_admin_tokens {
            c.expect_admin_tokens = list
                .iter()
                .filter(|s| !s.trim().is_empty())
                .map(|s| AdminToken::parse(s))
                .collect::<Result<_, _>>()?;
        }
        if let Some(inline) = &tenant_config {
            let source_name = match file {
                Some(p) => format!("config file {} [tenant_config]", p.display()),
                None => "[tenant_config]".to_string(),
            };
            let entries =
                tenant_config::from_value(inline).map_err(|reason| ConfigError::TenantConfig {
                    source_name,
                    reason,
                })?;
            c.tenant_config.extend(entries);
        }
        if let Some(path) = &tenant_config_file {
            c.tenant_config.extend(load_tenant_config(path)?);
        }
        c.journal_capacity = journal_capacity.unwrap_or(c.journal_capacity);
        c.journal_bytes = journal_bytes.unwrap_or(c.journal_bytes);
        c.orgs_cap = orgs_cap.unwrap_or(c.orgs_cap);
        c.max_replay_scopes = max_replay_scopes.unwrap_or(c.max_replay_scopes);
        c.max_workspace_scopes = max_workspace_scopes.unwrap_or(c.max_workspace_scopes);
        c.body_read_timeout = body_read_timeout.map_or(c.body_read_timeout, |d| d.0);
        c.idle_timeout = idle_timeout.map_or(c.idle_timeout, |d| d.0);
        c.max_connections = max_connections.unwrap_or(c.max_connections);
        c.body_limit = body_limit.unwrap_or(c.body_limit);
        if let Some(ms) = header_read_timeout_ms {
            c.header_read_timeout = Duration::from_millis(ms);
        }
        if let Some(ms) = shutdown_grace_ms {
            c.shutdown_grace = Duration::from_millis(ms);
        }
        c.log_format = log_format.unwrap_or(c.log_format);
        c.validate()?;
        Ok(c)
    }
}

/// A duration written the human way (`10s`, `500ms`, `1m`), as a flag,
/// an environment variable or a TOML string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HumanDuration(pub Duration);

impl std::str::FromStr for HumanDuration {
    type Err = humantime::DurationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        humantime::parse_duration(s).map(HumanDuration)
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(|e| {
            serde::de::Error::custom(format!("`{text}`: {e} (write e.g. 10s or 500ms)"))
        })
    }
}

/// Read a tenant config file (a flat JSON object of strings) and validate it.
pub fn load_tenant_config(
    path: &Path,
) -> Result<std::collections::BTreeMap<String, String>, ConfigError> {
    let source_name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        what: "tenant config",
        path: path.to_path_buf(),
        source,
    })?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| ConfigError::TenantConfig {
        source_name: source_name.clone(),
        reason: format!("not valid JSON: {e} — write a flat JSON object of strings"),
    })?;
    tenant_config::from_value(&doc).map_err(|reason| ConfigError::TenantConfig {
        source_name,
        reason,
    })
}

/// Resolve the binary's configuration: `cli` (flags, then env, as parsed by
/// clap) over the TOML file `config_file` over the defaults. The binary's
/// default log format is `text` (the library's is `off`).
pub fn load(cli: Settings, config_file: Option<&Path>) -> Result<Config, ConfigError> {
    let file = match config_file {
        Some(path) => Settings::from_toml_file(path)?,
        None => Settings::default(),
    };
    let base = Config {
        log_format: LogFormat::Text,
        ..Config::default()
    };
    cli.or(file).into_config(base, config_file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        settings: Settings,
    }

    #[test]
    fn the_admin_api_token_is_a_flag_and_a_toml_key_and_is_never_shown() {
        let file: Settings = toml::from_str(r#"expect_admin_api_token = "from-the-file""#).unwrap();
        let c = Settings::default()
            .or(file.clone())
            .into_config(Config::default(), None)
            .unwrap();
        assert_eq!(c.expect_admin_api_token.as_deref(), Some("from-the-file"));
        let cli =
            Cli::try_parse_from(["cp-stub", "--expect-admin-api-token", "from-the-flag"]).unwrap();
        let c = cli
            .settings
            .or(file)
            .into_config(Config::default(), None)
            .unwrap();
        assert_eq!(c.expect_admin_api_token.as_deref(), Some("from-the-flag"));
        assert!(!format!("{c:?}").contains("from-the-flag"));
        let empty = Settings {
            expect_admin_api_token: Some(String::new()),
            ..Settings::default()
        };
        let err = empty.into_config(Config::default(), None).unwrap_err();
        assert!(err.to_string().contains("expect_admin_api_token"), "{err}");
    }
}
