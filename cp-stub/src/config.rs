//! The library's [`Config`]: what a running stub uses, its defaults and
//! their check; the types of its settings ([`LogFormat`], [`LogSink`],
//! [`AdminToken`]) and [`ConfigError`]. The binary's flags, environment
//! and file are `settings.rs`.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use contract::redact;
use educe::Educe;
use serde::Deserialize;

use crate::tenant_config;

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
/// Default time a request body may take to arrive, from its headers.
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Log lines buffered for the writer of a buffered sink (stdout); more are
/// dropped and counted.
pub const LOG_BUFFER_LINES: usize = 4096;

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

/// Where log lines go. Default: stdout, through a bounded buffer drained by
/// a writer thread, so a stdout nobody reads never holds up a request (lines
/// that do not fit are dropped and counted: `log_lines_dropped` in the
/// state). Tests pass a closure to capture lines as they are written.
#[derive(Clone)]
pub struct LogSink(Sink);

#[derive(Clone)]
enum Sink {
    /// Called on the request's task (must not block).
    Direct(Arc<dyn Fn(&str) + Send + Sync>),
    Buffered(Arc<Buffered>),
}

struct Buffered {
    tx: std::sync::mpsc::SyncSender<Msg>,
    dropped: std::sync::atomic::AtomicU64,
}

enum Msg {
    Line(String),
    Flush(std::sync::mpsc::SyncSender<()>),
}

impl LogSink {
    /// A sink calling `f` with each line (without the trailing newline), on
    /// the task that logs: `f` must not block.
    pub fn new(f: impl Fn(&str) + Send + Sync + 'static) -> Self {
        LogSink(Sink::Direct(Arc::new(f)))
    }

    /// A sink whose lines wait in a buffer of `capacity` lines for a writer
    /// thread calling `f`; when the buffer is full a line is dropped (and
    /// counted, [`LogSink::dropped`]) instead of waiting.
    pub fn buffered(capacity: usize, f: impl Fn(&str) + Send + 'static) -> Self {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Msg>(capacity.max(1));
        let spawned = std::thread::Builder::new()
            .name("cp-stub-log".into())
            .spawn(move || {
                for msg in rx {
                    match msg {
                        Msg::Line(line) => f(&line),
                        Msg::Flush(done) => {
                            let _ = done.try_send(());
                        }
                    }
                }
            });
        let buffered = Buffered {
            tx,
            dropped: std::sync::atomic::AtomicU64::new(0),
        };
        if spawned.is_err() {
            // No writer: every line counts as dropped (the channel is closed).
            buffered
                .dropped
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        LogSink(Sink::Buffered(Arc::new(buffered)))
    }

    /// Standard output, one line per call, through the process's one
    /// buffered writer ([`LOG_BUFFER_LINES`]).
    pub fn stdout() -> Self {
        static STDOUT: std::sync::OnceLock<LogSink> = std::sync::OnceLock::new();
        STDOUT
            .get_or_init(|| {
                LogSink::buffered(LOG_BUFFER_LINES, |line| {
                    use std::io::Write;
                    let mut out = std::io::stdout().lock();
                    // A closed stdout must not take the server down.
                    let _ = writeln!(out, "{line}");
                    let _ = out.flush();
                })
            })
            .clone()
    }

    /// Lines dropped because the buffer was full (0 for a direct sink).
    pub fn dropped(&self) -> u64 {
        match &self.0 {
            Sink::Direct(_) => 0,
            Sink::Buffered(b) => b.dropped.load(std::sync::atomic::Ordering::Relaxed),
        }
    }

    /// Wait up to `timeout` for the lines buffered so far to be written;
    /// false when they were not (a writer stuck on a full pipe).
    pub fn flush(&self, timeout: std::time::Duration) -> bool {
        let Sink::Buffered(b) = &self.0 else {
            return true;
        };
        let (done_tx, done_rx) = std::sync::mpsc::sync_channel(1);
        let deadline = std::time::Instant::now() + timeout;
        let mut msg = Msg::Flush(done_tx);
        loop {
            match b.tx.try_send(msg) {
                Ok(()) => break,
                Err(std::sync::mpsc::TrySendError::Full(back)) => {
                    if std::time::Instant::now() >= deadline {
                        return false;
                    }
                    msg = back;
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                Err(std::sync::mpsc::TrySendError::Disconnected(_)) => return false,
            }
        }
        done_rx
            .recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
            .is_ok()
    }

    pub(crate) fn write(&self, line: &str) {
        match &self.0 {
            Sink::Direct(f) => f(line),
            Sink::Buffered(b) => {
                if b.tx.try_send(Msg::Line(line.to_string())).is_err() {
                    b.dropped.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
        }
    }
}

impl fmt::Debug for LogSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LogSink(..)")
    }
}

/// An expected admin token: for one org (`ORG=TOKEN`) or any org (`TOKEN`).
#[derive(Clone, PartialEq, Eq, Educe)]
#[educe(Debug)]
pub struct AdminToken {
    /// The org this token belongs to; `None` = accepted for every org.
    pub org: Option<String>,
    /// The token.
    #[educe(Debug(method(redact::debug_masked)))]
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

/// Everything the server needs. `Config::default()` is the library default:
/// 127.0.0.1:9090, prefix `mol-ws-`, journal 1,000, body limit 1 MiB, not
/// strict, no auth enforcement, logging off. Its `{:?}` masks every
/// secret (derived, with the contract's formatters).
#[derive(Clone, Educe)]
#[educe(Debug)]
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
    #[educe(Debug(method(redact::debug_masked)))]
    pub shared_secret: String,
    /// Answer 400 naming the bad fields instead of serving a request that breaks the contract.
    pub strict: bool,
    /// When set, `/cp/workspaces/*` routes need `Authorization: Bearer <it>`
    /// (else 401); so do `/cp/admin/*` routes while `expect_admin_api_token` is unset.
    #[educe(Debug(method(redact::debug_masked_option)))]
    pub expect_shared_secret: Option<String>,
    /// When set, `/cp/admin/*` routes need `Authorization: Bearer <it>` (the
    /// tenant's `CP_ADMIN_API_TOKEN`) instead of the shared secret (else 401).
    #[educe(Debug(method(redact::debug_masked_option)))]
    pub expect_admin_api_token: Option<String>,
    /// When non-empty, routes that carry an admin token need one of these (else 401).
    pub expect_admin_tokens: Vec<AdminToken>,
    /// Tenant config entries laid over [`crate::DEFAULT_TENANT_CONFIG`]; values may
    /// use `{base_url}` and `{shared_secret}`.
    #[educe(Debug(method(redact::debug_env)))]
    pub tenant_config: BTreeMap<String, String>,
    /// Journal entries kept (oldest dropped first); 0 disables the journal.
    pub journal_capacity: usize,
    /// Bytes the journal's entries may hold (oldest dropped first; whichever
    /// of this and `journal_capacity` is reached first evicts).
    pub journal_bytes: usize,
    /// Distinct org keys counted in the state; later orgs' calls are
    /// counted under `<other>` ([`contract::admin::OTHER_ORG`]).
    pub orgs_cap: usize,
    /// Replay scopes (`X-Replay-Id`) counted; at the bound the entry created
    /// first is evicted (`GET /__/stub/counts` says when).
    pub max_replay_scopes: usize,
    /// Workspace scopes counted, bounded likewise.
    pub max_workspace_scopes: usize,
    /// Largest request body accepted (413 above).
    pub body_limit: usize,
    /// Connections whose request headers do not arrive in this time are closed.
    pub header_read_timeout: Duration,
    /// A request whose body has not fully arrived this long after its
    /// headers is dropped with its connection.
    pub body_read_timeout: Duration,
    /// A connection with no request in flight that moves no byte for this
    /// long is closed.
    pub idle_timeout: Duration,
    /// Connections open at once; at the cap the one idle the longest is
    /// closed, else the newcomer gets 503.
    pub max_connections: usize,
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
            expect_admin_api_token: None,
            expect_admin_tokens: Vec::new(),
            tenant_config: BTreeMap::new(),
            journal_capacity: contract::admin::DEFAULT_JOURNAL_CAPACITY,
            journal_bytes: contract::admin::DEFAULT_JOURNAL_BYTES,
            orgs_cap: contract::admin::DEFAULT_ORGS_CAP,
            max_replay_scopes: contract::admin::DEFAULT_MAX_REPLAY_SCOPES,
            max_workspace_scopes: contract::admin::DEFAULT_MAX_WORKSPACE_SCOPES,
            body_limit: DEFAULT_BODY_LIMIT,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            idle_timeout: harness_serve::DEFAULT_IDLE_TIMEOUT,
            max_connections: harness_serve::DEFAULT_MAX_CONNECTIONS,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            log_format: LogFormat::Off,
            log_sink: None,
        }
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
        for (field, d) in [
            ("body_read_timeout", self.body_read_timeout),
            ("idle_timeout", self.idle_timeout),
        ] {
            if d.is_zero() {
                return Err(ConfigError::Invalid {
                    field,
                    reason: "must be at least 1 ms (e.g. 10s, 500ms)".into(),
                });
            }
        }
        if self.max_connections == 0 || self.orgs_cap == 0 {
            return Err(ConfigError::Invalid {
                field: if self.orgs_cap == 0 {
                    "orgs_cap"
                } else {
                    "max_connections"
                },
                reason: "must be at least 1".into(),
            });
        }
        for (field, n) in [
            ("max_replay_scopes", self.max_replay_scopes),
            ("max_workspace_scopes", self.max_workspace_scopes),
        ] {
            if n == 0 {
                return Err(ConfigError::Invalid {
                    field,
                    reason: "must be at least 1".into(),
                });
            }
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
        if self.expect_admin_api_token.as_deref() == Some("") {
            return Err(ConfigError::Invalid {
                field: "expect_admin_api_token",
                reason: "is empty: give the token, or leave the setting out".into(),
            });
        }
        // A map of strings is flat by its type (the contract's D1 rule);
        // only the keys can be wrong.
        tenant_config::check_env_keys(self.tenant_config.keys().map(String::as_str)).map_err(
            |reason| ConfigError::TenantConfig {
                source_name: "(Config::tenant_config)".into(),
                reason,
            },
        )
    }

    /// The tenant config map as served to a caller that reached the stub at `base_url`.
    pub fn tenant_config_map(&self, base_url: &str) -> BTreeMap<String, String> {
        tenant_config::render(&self.tenant_config, base_url, &self.shared_secret)
    }
}
