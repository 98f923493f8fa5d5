//! # cp-stub: the control plane (CP) stand-in
//!
//! Tenant servers call a control plane over HTTP to provision workspaces
//! and to refresh their env. In local end-to-end runs and in CI that CP is
//! this stub. It answers **every route of the [`contract`]** with
//! contract-correct bodies (provision is exactly `201` with `instance_id` and
//! `state`, incident D3; the tenant config is a flat map of strings,
//! incident D1), counts who called what, keeps a journal of requests with
//! secrets redacted, and can be told to misbehave on purpose.
//!
//! ## Embedding
//!
//! ```no_run
//! # async fn demo() -> Result<(), cp_stub::StubError> {
//! let stub = cp_stub::start(cp_stub::Config { port: 0, ..Default::default() }).await?;
//! let base = stub.base_url(); // "http://127.0.0.1:<port>"
//! // ... point tenants at `base`, run things, read `{base}/__/stub/state` ...
//! stub.shutdown().await; // graceful: in-flight requests finish
//! # let _ = base; Ok(()) }
//! ```
//!
//! [`Config`] is plain data with public fields; `Config::default()` binds
//! 127.0.0.1:9090, uses the `mol-ws-` instance prefix, keeps 1,000 journal
//! entries, limits bodies to 1 MiB, is not strict, enforces no auth
//! ([`Config::expect_shared_secret`], [`Config::expect_admin_api_token`],
//! [`Config::expect_admin_tokens`] turn it on) and
//! logs nothing. Give [`Config::log_sink`] a [`LogSink`] to capture the
//! per-request log lines (tests do, to prove no secret is logged).
//!
//! Every bound is in bytes or time as well as in count: the journal keeps
//! at most [`Config::journal_capacity`] entries and [`Config::journal_bytes`]
//! bytes (each entry's headers cut to 8 KiB, bodies kept whole to 16 KiB,
//! else as a redacted excerpt), the state at most [`Config::orgs_cap`] org
//! keys, `GET /__/stub/requests` pages of about 1 MiB; a body must arrive
//! within [`Config::body_read_timeout`], an idle connection is closed after
//! [`Config::idle_timeout`], at most [`Config::max_connections`] are open;
//! the stdout log is a bounded buffer that drops lines rather than wait.
//!
//! ## What a request goes through
//!
//! 1. `GET /healthz` answers `{"status":"ok"}`; `/__/stub/*` (and the
//!    legacy `/__stub/state`) is the admin API — neither is counted.
//! 2. Otherwise the route is matched with [`contract::match_route`]: a wrong
//!    method is a 405 with `Allow`, an unknown `/cp/*` path a 501 whose hint
//!    says to add the route to `contract/src/routes.rs` (or to check
//!    `/__/stub/version` for a stale image, incident D9), anything else 404.
//! 3. The body is read under the limit (413; a declared `Content-Length`
//!    over it is refused without reading), and validated against the route's
//!    request schema; violations are recorded. The caller's org is taken
//!    from `X-Molecule-Org-Id`, else the body's `org_id`, else the org bound
//!    to the presented admin token (`--expect-admin-token ORG=TOKEN`), else
//!    the org that last provisioned (2xx) the workspace named in the path:
//!    the real client's stop, status and console carry no org header and no
//!    body. That workspace → org map keeps 10,000 workspaces (the least
//!    recently provisioned forgotten first) and survives `reset` and
//!    `snapshot`.
//! 4. A programmed fault for the route (and org) answers instead — status,
//!    body, headers, delay, or a dropped connection, for N calls or until
//!    cleared — then auth enforcement (401: the bearer is the shared secret
//!    on `/cp/workspaces/*`, the admin API token — else the shared secret —
//!    on `/cp/admin/*`; an org-bound admin token must belong to the caller's
//!    org), then strict mode (400 naming the bad fields and each missing
//!    required query parameter or header), then the route's
//!    own answer.
//! 5. Counters, per-org counts, the scope maps and the journal are updated
//!    in one critical section, so `POST /__/stub/snapshot` (state + reset)
//!    and `GET /__/stub/counts` (any number of scopes) are atomic and exact
//!    counter assertions stay possible under concurrency (D4, D11).
//!
//! ## Scopes
//!
//! Every call belongs to up to three scopes: its replay (`X-Replay-Id`, at
//! most 128 bytes), its org, and the workspace it is about (the body's
//! `workspace_id`, else the path's `{id}`). Each kind has a bounded map
//! ([`Config::max_replay_scopes`], [`Config::orgs_cap`],
//! [`Config::max_workspace_scopes`]) with the whole stub's counts per entry;
//! a full map evicts the entry created first and records when, so a reader
//! can tell an exact delta from a lost one. The journal filters, reset,
//! snapshot and fault clear take a scope (`?replay=`, `?org=`,
//! `?workspace=`) and then touch only that scope; faults can carry one.
//!
//! The binary (`cp-stub`, see `README.md`) adds flags, environment
//! variables, a TOML config file ([`load_config`]: flags beat env beat the
//! file beat defaults), signal handling ([`serve_until_signal`]) and a
//! `healthcheck` subcommand ([`harness_serve::healthcheck`]).
//!
//! # Layout
//!
//! From the entry points down; a module uses only modules listed after it
//! (no import cycle).
//!
//! - `main.rs` — the binary: its command line, exit codes, `healthcheck`;
//! - `server.rs` — [`start`], [`Stub`], the accept loop
//!   ([`harness_serve::serve`] with the stub's timeouts and logging),
//!   [`serve_until_signal`];
//! - `dispatch.rs` — request → answer: `/healthz`, the admin API, a CP route
//!   or 405 / 501 / 404; the steps of a CP call; counting and journaling it;
//! - `admin.rs` — the `/__/stub/` admin API;
//! - `cp.rs` — the CP routes' own answers, one per [`contract::RouteId`]
//!   (an exhaustive `match`);
//! - `app.rs` — `App`, what every request shares (config, state, logger);
//! - `auth.rs` — shared-secret and admin-token enforcement (the 401 reasons);
//! - `faults.rs` — checking a fault spec, and a fault's answer;
//! - `strict.rs` — strict mode's required query parameters and headers;
//! - `body.rs` — a request body: read under the limit, parsed once,
//!   validated, the fields an answer uses;
//! - `state.rs` — counters, journal, violations, faults, scope maps and the
//!   workspace → org map behind one lock;
//! - `scopes.rs` — the bounded per-scope count maps (replay, org,
//!   workspace) and the scope parameters of admin queries;
//! - `journal_query.rs` — the journal filters of `GET /__/stub/requests`;
//! - `record.rs` — a request as journaled, rendered with secrets masked by
//!   [`contract::redact`];
//! - `log.rs` — the per-request log line (text or JSON);
//! - `respond.rs` — response builders (JSON, errors, 405, 413, strict 400);
//! - `headers.rs` — the request headers read (org, admin token);
//! - `query.rs` — percent-decoding of query strings and path parameters;
//! - `clock.rs` — Unix milliseconds and RFC 3339 timestamps;
//! - `settings.rs` — [`Settings`]: flags, environment and TOML file in one
//!   struct; [`load_config`], [`load_tenant_config`];
//! - `config.rs` — [`Config`] and its defaults and check, [`LogFormat`],
//!   [`LogSink`], [`AdminToken`], [`ConfigError`];
//! - `tenant_config.rs` — the tenant config map: defaults, placeholders,
//!   contract check;
//! - `workspace_orgs.rs` — the bounded workspace → org map (which org
//!   provisioned a workspace), kept across resets.

#![cfg_attr(not(test), warn(clippy::unwrap_used))]
#![warn(missing_docs)]

mod admin;
mod app;
mod auth;
mod body;
mod clock;
mod config;
mod cp;
mod dispatch;
mod faults;
mod headers;
mod journal_query;
mod log;
mod query;
mod record;
mod respond;
mod scopes;
mod server;
mod settings;
mod state;
mod strict;
mod tenant_config;
mod workspace_orgs;

pub use config::{
    AdminToken, Config, ConfigError, LogFormat, LogSink, DEFAULT_BODY_LIMIT,
    DEFAULT_BODY_READ_TIMEOUT, DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_INSTANCE_PREFIX, DEFAULT_PORT,
    DEFAULT_SHARED_SECRET, DEFAULT_SHUTDOWN_GRACE, LOG_BUFFER_LINES,
};
pub use server::{serve_until_signal, start, Stub, StubError};
pub use settings::{load as load_config, load_tenant_config, HumanDuration, Settings};
pub use tenant_config::{BASE_URL_PLACEHOLDER, DEFAULT_TENANT_CONFIG, SHARED_SECRET_PLACEHOLDER};

/// The git commit this binary was built from ([`harness_serve::GIT_SHA`]).
pub const GIT_SHA: &str = harness_serve::GIT_SHA;

/// What `GET /__/stub/version` answers.
pub fn version_info() -> contract::admin::VersionInfo {
    contract::admin::VersionInfo {
        name: "cp-stub".to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        git_sha: GIT_SHA.to_string(),
        contract: contract::fingerprint().to_string(),
    }
}
