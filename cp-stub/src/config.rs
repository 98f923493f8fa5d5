//! Settings: the library's [`Config`], the flag / env / file layer
//! ([`Settings`]) and the tenant config map.
//!
//! Precedence, highest first: command-line flags, environment variables,
//! the `--config` TOML file, built-in defaults. Flags and environment are
//! merged by clap (a flag beats its variable); [`load`] lays the result over
//! the file and the defaults and validates everything against the contract.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

/// Default shared secret (`MOLECULE_CP_SHARED_SECRET` of the stack).
pub const DEFAULT_SHARED_SECRET: &str = "harness-shared-secret";
/// Default `instance_id` prefix (incident D10: `i-stub-` broke the Files API).
pub const DEFAULT_INSTANCE_PREFIX: &str = "mol-ws-";
/// Default port.
pub const DEFAULT_PORT: u16 = 9090;
/// Default request body limit: 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;
/// Default header read timeout.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time graceful shutdown waits for in-flight requests.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Placeholder replaced by the stub's public base URL in tenant config values.
pub const BASE_URL_PLACEHOLDER: &str = "{base_url}";
/// Placeholder replaced by the configured shared secret in tenant config values.
pub const SHARED_SECRET_PLACEHOLDER: &str = "{shared_secret}";

/// The default tenant config map, before placeholders are filled in.
pub const DEFAULT_TENANT_CONFIG: &[(&str, &str)] = &[
    ("MOLECULE_CP_SHARED_SECRET", SHARED_SECRET_PLACEHOLDER),
    ("MOLECULE_CP_URL", BASE_URL_PLACEHOLDER),
    ("MOLECULE_LLM_USAGE_TOKEN", "harness-llm-usage-token"),
    ("MOLECULE_LLM_USAGE_URL", "{base_url}/llm/usage"),
    ("MOLECULE_LLM_BASE_URL", "{base_url}/llm/v1"),
    (
        "MOLECULE_LLM_ANTHROPIC_BASE_URL",
        "{base_url}/llm/anthropic",
    ),
    ("MOLECULE_LLM_DEFAULT_MODEL", "stub-model"),
];

/// Errors found while loading or checking settings. Each names the file (if
/// any), the field and the reason.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A file could not be read.
    #[error("cp-stub: {what} {path}: cannot read: {source}")]
    Read {
        /// `config file` or `tenant config`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TOML config file does not parse or has an unknown field.
    #[error("cp-stub: config file {path}: {reason}")]
    Toml {
        /// The file.
        path: PathBuf,
        /// The parser's message (names the field, line and column).
        reason: String,
    },
    /// The tenant config breaks the contract (or does not parse).
    #[error("cp-stub: tenant config {source_name}: {reason}")]
    TenantConfig {
        /// The file, or `config file <path> [tenant_config]`.
        source_name: String,
        /// What is wrong (a JSON pointer and why).
        reason: String,
    },
    /// A setting has a value the stub cannot use.
    #[error("cp-stub: setting `{field}`: {reason}")]
    Invalid {
        /// Setting name, as in the TOML file.
        field: &'static str,
        /// What is wrong and how to fix it.
        reason: String,
    },
}

/// Format of the per-request log line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// `2026-11-29T08:00:00.123Z POST /cp/workspaces/provision 201 0.31ms route=provision org=org-alpha`.
    Text,
    /// One JSON object per line.
    Json,
    /// No request log (the library default).
    #[default]
    Off,
}

/// Where log lines go. Default: stdout. Tests pass a closure to capture them.
#[derive(Clone)]
pub struct LogSink(Arc<dyn Fn(&str) + Send + Sync>);

impl LogSink {
    /// A sink calling `f` with each line (without the trailing newline).
    pub fn new(f: impl Fn(&str) + Send + Sync + 'static) -> Self {
        LogSink(Arc::new(f))
    }

    /// Standard output, one line per call.
    pub fn stdout() -> Self {
        LogSink::new(|line| {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            // A closed stdout must not take the server down.
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        })
    }

    pub(crate) fn write(&self, line: &str) {
        (self.0)(line)
    }
}

impl fmt::Debug for LogSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LogSink(..)")
    }
}

/// An expected admin token: for one org (`ORG=TOKEN`) or any org (`TOKEN`).
#[derive(Clone, PartialEq, Eq)]
pub struct AdminToken {
    /// The org this token belongs to; `None` = accepted for every org.
    pub org: Option<String>,
    /// The token.
    pub token: String,
}

impl AdminToken {
    /// Parse `ORG=TOKEN` or a bare `TOKEN`.
    pub fn parse(s: &str) -> Result<Self, ConfigError> {
        let s = s.trim();
        let (org, token) = match s.split_once('=') {
            Some((org, token)) => (Some(org.trim().to_string()), token.trim().to_string()),
            None => (None, s.to_string()),
        };
        if token.is_empty() || org.as_deref() == Some("") {
            return Err(ConfigError::Invalid {
                field: "expect_admin_tokens",
                reason: "an entry is empty: write ORG=TOKEN or TOKEN".into(),
            });
        }
        Ok(AdminToken { org, token })
    }
}

impl fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.org {
            Some(org) => write!(f, "{org}=<redacted>"),
            None => f.write_str("<redacted>"),
        }
    }
}

/// Everything the server needs. `Config::default()` is the library default:
/// 127.0.0.1:9090, prefix `mol-ws-`, journal 1,000, body limit 1 MiB, not
/// strict, no auth enforcement, logging off.
#[derive(Clone)]
pub struct Config {
    /// Address to bind (`CP_STUB_BIND`; the container uses `0.0.0.0`).
    pub bind: IpAddr,
    /// Port (`PORT`); 0 = an ephemeral port, see [`crate::Stub::local_addr`].
    pub port: u16,
    /// `instance_id` = prefix + `workspace_id`.
    pub instance_prefix: String,
    /// Base URL put into the tenant config map; `None` = `http://<Host header>`.
    pub public_url: Option<String>,
    /// The shared secret served as `MOLECULE_CP_SHARED_SECRET`.
    pub shared_secret: String,
    /// Answer 400 naming the bad fields instead of serving a request that breaks the contract.
    pub strict: bool,
    /// When set, routes that carry the shared secret need `Authorization: Bearer <it>` (else 401).
    pub expect_shared_secret: Option<String>,
    /// When non-empty, routes that carry an admin token need one of these (else 401).
    pub expect_admin_tokens: Vec<AdminToken>,
    /// Tenant config entries laid over [`DEFAULT_TENANT_CONFIG`]; values may
    /// use `{base_url}` and `{shared_secret}`.
    pub tenant_config: BTreeMap<String, String>,
    /// Journal entries kept (oldest dropped first); 0 disables the journal.
    pub journal_capacity: usize,
    /// Largest request body accepted (413 above).
    pub body_limit: usize,
    /// Connections whose request headers do not arrive in this time are closed.
    pub header_read_timeout: Duration,
    /// How long a graceful shutdown waits for in-flight requests.
    pub shutdown_grace: Duration,
    /// Per-request log line format.
    pub log_format: LogFormat,
    /// Where log lines go (`None` = stdout).
    pub log_sink: Option<LogSink>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: DEFAULT_PORT,
            instance_prefix: DEFAULT_INSTANCE_PREFIX.to_string(),
            public_url: None,
            shared_secret: DEFAULT_SHARED_SECRET.to_string(),
            strict: false,
            expect_shared_secret: None,
            expect_admin_tokens: Vec::new(),
            tenant_config: BTreeMap::new(),
            journal_capacity: contract::admin::DEFAULT_JOURNAL_CAPACITY,
            body_limit: DEFAULT_BODY_LIMIT,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            log_format: LogFormat::Off,
            log_sink: None,
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Secrets never reach a log, not even through `{:?}`.
        let redacted = |s: &Option<String>| s.as_ref().map(|_| contract::admin::REDACTED);
        f.debug_struct("Config")
            .field("bind", &self.bind)
            .field("port", &self.port)
            .field("instance_prefix", &self.instance_prefix)
            .field("public_url", &self.public_url)
            .field("shared_secret", &contract::admin::REDACTED)
            .field("strict", &self.strict)
            .field(
                "expect_shared_secret",
                &redacted(&self.expect_shared_secret),
            )
            .field("expect_admin_tokens", &self.expect_admin_tokens)
            .field("tenant_config_keys", &self.tenant_config.keys())
            .field("journal_capacity", &self.journal_capacity)
            .field("body_limit", &self.body_limit)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("shutdown_grace", &self.shutdown_grace)
            .field("log_format", &self.log_format)
            .field("log_sink", &self.log_sink)
            .finish()
    }
}

impl Config {
    /// Check the settings and the tenant config map against the contract.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.instance_prefix.contains(['/', '?', '#', ' ']) {
            return Err(ConfigError::Invalid {
                field: "instance_prefix",
                reason: format!(
                    "`{}` contains a character not allowed in an instance id (/ ? # or space)",
                    self.instance_prefix
                ),
            });
        }
        if let Some(url) = &self.public_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() < 8 {
                return Err(ConfigError::Invalid {
                    field: "public_url",
                    reason: format!("`{url}` is not an http:// URL (example: http://cp-stub:9090)"),
                });
            }
        }
        if self.body_limit == 0 {
            return Err(ConfigError::Invalid {
                field: "body_limit",
                reason: "must be at least 1 byte".into(),
            });
        }
        if self.header_read_timeout.is_zero() {
            return Err(ConfigError::Invalid {
                field: "header_read_timeout_ms",
                reason: "must be at least 1 ms".into(),
            });
        }
        if self.expect_shared_secret.as_deref() == Some("") {
            return Err(ConfigError::Invalid {
                field: "expect_shared_secret",
                reason: "is empty: give the secret, or leave the setting out".into(),
            });
        }
        // A map of strings is flat by its type (the contract's D1 rule);
        // only the keys can be wrong.
        check_env_keys(self.tenant_config.keys().map(String::as_str)).map_err(|reason| {
            ConfigError::TenantConfig {
                source_name: "(Config::tenant_config)".into(),
                reason,
            }
        })
    }

    /// The tenant config map as served to a caller that reached the stub at `base_url`.
    pub fn tenant_config_map(&self, base_url: &str) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let fill = |v: &str| {
            v.replace(BASE_URL_PLACEHOLDER, base_url)
                .replace(SHARED_SECRET_PLACEHOLDER, &self.shared_secret)
        };
        for (k, v) in DEFAULT_TENANT_CONFIG {
            out.insert((*k).to_string(), fill(v));
        }
        for (k, v) in &self.tenant_config {
            out.insert(k.clone(), fill(v));
        }
        out
    }
}

/// Validate a tenant config document: the contract's `tenant_config`
/// schema (a flat map of strings, incident D1) and env-var-like keys.
fn check_tenant_config(doc: &Value) -> Result<(), String> {
    const D1: &str = "the tenant's client decodes a flat map of strings (incident D1)";
    let violations =
        contract::validate(contract::SchemaId::TenantConfig, doc).map_err(|e| e.to_string())?;
    if let Some(v) = violations.first() {
        return Err(format!("{v} — {D1}"));
    }
    match doc.as_object() {
        Some(map) => check_env_keys(map.keys().map(String::as_str)),
        None => Ok(()),
    }
}

/// Every key must be an environment variable name: the tenant applies each
/// one as an env var.
fn check_env_keys<'a>(keys: impl IntoIterator<Item = &'a str>) -> Result<(), String> {
    for key in keys {
        let ok = !key.is_empty()
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !key.starts_with(|c: char| c.is_ascii_digit());
        if !ok {
            return Err(format!(
                "/{key}: not an environment variable name (letters, digits and _, not starting with a digit) — the tenant applies each key as an env var"
            ));
        }
    }
    Ok(())
}

fn tenant_config_from_value(
    source_name: &str,
    doc: &Value,
) -> Result<BTreeMap<String, String>, ConfigError> {
    check_tenant_config(doc).map_err(|reason| ConfigError::TenantConfig {
        source_name: source_name.to_string(),
        reason,
    })?;
    Ok(doc
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect()
        })
        .unwrap_or_default())
}

/// Read a tenant config file (a flat JSON object of strings) and validate it.
pub fn load_tenant_config(path: &Path) -> Result<BTreeMap<String, String>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        what: "tenant config",
        path: path.to_path_buf(),
        source,
    })?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| ConfigError::TenantConfig {
        source_name: path.display().to_string(),
        reason: format!("not valid JSON: {e} — write a flat JSON object of strings"),
    })?;
    tenant_config_from_value(&path.display().to_string(), &doc)
}

/// The settings layer shared by the command line, the environment and the
/// `--config` TOML file. Every field is optional; [`load`] fills the rest
/// from defaults. In the TOML file the keys are the field names below
/// (`port`, `bind`, `instance_prefix`, ...); unknown keys are an error.
#[derive(Debug, Clone, Default, Deserialize, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Port to listen on [default: 9090; 0 = ephemeral].
    #[arg(
        long,
        env = "PORT",
        help = "Port to listen on [default: 9090; 0 = ephemeral]"
    )]
    pub port: Option<u16>,
    /// Address to bind [default: 127.0.0.1; use 0.0.0.0 in a container].
    #[arg(
        long,
        env = "CP_STUB_BIND",
        help = "Address to bind [default: 127.0.0.1; use 0.0.0.0 in a container]"
    )]
    pub bind: Option<IpAddr>,
    /// Prefix of `instance_id` (`<prefix><workspace_id>`) [default: mol-ws-].
    #[arg(
        long,
        env = "CP_STUB_INSTANCE_PREFIX",
        help = "Prefix of instance_id (<prefix><workspace_id>) [default: mol-ws-]"
    )]
    pub instance_prefix: Option<String>,
    /// Base URL written into the tenant config map [default: http://<Host header>].
    #[arg(
        long,
        env = "CP_STUB_PUBLIC_URL",
        help = "Base URL written into the tenant config map, e.g. http://cp-stub:9090 [default: http://<Host header of the request>]"
    )]
    pub public_url: Option<String>,
    /// Shared secret served as MOLECULE_CP_SHARED_SECRET [default: harness-shared-secret].
    #[arg(
        long,
        env = "CP_STUB_SHARED_SECRET",
        hide_env_values = true,
        help = "Shared secret served as MOLECULE_CP_SHARED_SECRET in the tenant config [default: harness-shared-secret]"
    )]
    pub shared_secret: Option<String>,
    /// Answer 400 naming the bad fields when a request breaks the contract.
    #[arg(
        long,
        env = "CP_STUB_STRICT",
        num_args = 0..=1,
        default_missing_value = "true",
        help = "Answer 400 naming the bad fields when a request breaks the contract, instead of recording a violation and serving it [default: false]"
    )]
    pub strict: Option<bool>,
    /// Require `Authorization: Bearer <SECRET>` on routes that carry the shared secret (401 otherwise).
    #[arg(
        long,
        env = "CP_STUB_EXPECT_SHARED_SECRET",
        value_name = "SECRET",
        hide_env_values = true,
        help = "Require `Authorization: Bearer <SECRET>` on routes that carry the shared secret (provision, stop, status, ensure-image, admin routes); 401 otherwise [default: not enforced]"
    )]
    pub expect_shared_secret: Option<String>,
    /// Require an admin token (`ORG=TOKEN` or `TOKEN`; repeat or comma-separate).
    #[arg(
        long = "expect-admin-token",
        env = "CP_STUB_EXPECT_ADMIN_TOKENS",
        value_name = "[ORG=]TOKEN",
        value_delimiter = ',',
        hide_env_values = true,
        help = "Require an admin token: X-Molecule-Admin-Token on provision-like routes, `Authorization: Bearer` on /cp/tenants/config. ORG=TOKEN binds a token to the caller's org; a bare TOKEN is accepted for any org. Repeat, or comma-separate in the env var [default: not enforced]"
    )]
    pub expect_admin_tokens: Option<Vec<String>>,
    /// Tenant config file: a flat JSON object of strings laid over the default map.
    #[arg(
        long = "tenant-config",
        env = "CP_STUB_TENANT_CONFIG",
        value_name = "FILE",
        help = "Tenant config file: a flat JSON object of strings laid over the default map (values may use {base_url} and {shared_secret}); validated against the contract at start"
    )]
    pub tenant_config_file: Option<PathBuf>,
    /// Inline tenant config entries (TOML file only: a `[tenant_config]` table).
    #[arg(skip)]
    pub tenant_config: Option<Value>,
    /// Journal entries kept [default: 1000; 0 = no journal].
    #[arg(
        long,
        env = "CP_STUB_JOURNAL_CAPACITY",
        help = "Journal entries kept, oldest dropped first [default: 1000; 0 = no journal]"
    )]
    pub journal_capacity: Option<usize>,
    /// Largest request body in bytes [default: 1048576].
    #[arg(
        long,
        env = "CP_STUB_BODY_LIMIT",
        value_name = "BYTES",
        help = "Largest request body in bytes; larger ones get 413 [default: 1048576]"
    )]
    pub body_limit: Option<usize>,
    /// Close connections whose request headers take longer than this [default: 10000].
    #[arg(
        long,
        env = "CP_STUB_HEADER_READ_TIMEOUT_MS",
        value_name = "MS",
        help = "Close a connection whose request headers take longer than this, in ms [default: 10000]"
    )]
    pub header_read_timeout_ms: Option<u64>,
    /// How long shutdown waits for in-flight requests [default: 30000].
    #[arg(
        long,
        env = "CP_STUB_SHUTDOWN_GRACE_MS",
        value_name = "MS",
        help = "On SIGTERM/SIGINT, how long to wait for in-flight requests, in ms [default: 30000]"
    )]
    pub shutdown_grace_ms: Option<u64>,
    /// Request log format [default: text for the binary].
    #[arg(
        long,
        env = "CP_STUB_LOG_FORMAT",
        value_enum,
        help = "Request log line on stdout: text, json or off [default: text]"
    )]
    pub log_format: Option<LogFormat>,
}

impl Settings {
    /// Read a TOML settings file; unknown keys are an error naming the key.
    pub fn from_toml_file(path: &Path) -> Result<Settings, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            what: "config file",
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Toml {
            path: path.to_path_buf(),
            reason: e.to_string().trim_end().replace('\n', " | "),
        })
    }

    /// `self` where set, else `lower`.
    pub fn or(self, lower: Settings) -> Settings {
        Settings {
            port: self.port.or(lower.port),
            bind: self.bind.or(lower.bind),
            instance_prefix: self.instance_prefix.or(lower.instance_prefix),
            public_url: self.public_url.or(lower.public_url),
            shared_secret: self.shared_secret.or(lower.shared_secret),
            strict: self.strict.or(lower.strict),
            expect_shared_secret: self.expect_shared_secret.or(lower.expect_shared_secret),
            expect_admin_tokens: self.expect_admin_tokens.or(lower.expect_admin_tokens),
            tenant_config_file: self.tenant_config_file.or(lower.tenant_config_file),
            tenant_config: self.tenant_config.or(lower.tenant_config),
            journal_capacity: self.journal_capacity.or(lower.journal_capacity),
            body_limit: self.body_limit.or(lower.body_limit),
            header_read_timeout_ms: self.header_read_timeout_ms.or(lower.header_read_timeout_ms),
            shutdown_grace_ms: self.shutdown_grace_ms.or(lower.shutdown_grace_ms),
            log_format: self.log_format.or(lower.log_format),
        }
    }

    /// Fill unset fields from `base` (the defaults) and load the tenant config.
    /// `file` names the TOML file the settings came from, for messages.
    pub fn into_config(self, base: Config, file: Option<&Path>) -> Result<Config, ConfigError> {
        let mut c = base;
        if let Some(v) = self.port {
            c.port = v;
        }
        if let Some(v) = self.bind {
            c.bind = v;
        }
        if let Some(v) = self.instance_prefix {
            c.instance_prefix = v;
        }
        if let Some(v) = self.public_url {
            c.public_url = Some(v.trim_end_matches('/').to_string());
        }
        if let Some(v) = self.shared_secret {
            c.shared_secret = v;
        }
        if let Some(v) = self.strict {
            c.strict = v;
        }
        if let Some(v) = self.expect_shared_secret {
            c.expect_shared_secret = Some(v);
        }
        if let Some(list) = self.expect_admin_tokens {
            c.expect_admin_tokens = list
                .iter()
                .filter(|s| !s.trim().is_empty())
                .map(|s| AdminToken::parse(s))
                .collect::<Result<_, _>>()?;
        }
        if let Some(inline) = &self.tenant_config {
            let name = match file {
                Some(p) => format!("config file {} [tenant_config]", p.display()),
                None => "[tenant_config]".to_string(),
            };
            c.tenant_config
                .extend(tenant_config_from_value(&name, inline)?);
        }
        if let Some(path) = &self.tenant_config_file {
            c.tenant_config.extend(load_tenant_config(path)?);
        }
        if let Some(v) = self.journal_capacity {
            c.journal_capacity = v;
        }
        if let Some(v) = self.body_limit {
            c.body_limit = v;
        }
        if let Some(v) = self.header_read_timeout_ms {
            c.header_read_timeout = Duration::from_millis(v);
        }
        if let Some(v) = self.shutdown_grace_ms {
            c.shutdown_grace = Duration::from_millis(v);
        }
        if let Some(v) = self.log_format {
            c.log_format = v;
        }
        c.validate()?;
        Ok(c)
    }
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
