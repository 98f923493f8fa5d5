//! The reference tenant: a small server that speaks the tenant API and calls
//! the CP **exactly as the real tenant does**, so the harness stack runs and
//! can be tested without the real tenant image.
//!
//! What "exactly" covers, and the incident each part keeps loud:
//!
//! - **CP base resolution** — provisioning reads `CP_PROVISION_URL`, else
//!   `MOLECULE_CP_URL`, else `MOLECULE_CP_DEFAULT_URL`; the config fetch reads
//!   `MOLECULE_CP_URL`, else `MOLECULE_CP_DEFAULT_URL` (never
//!   `CP_PROVISION_URL`). Where the real tenant would fall back to production
//!   ([`PRODUCTION_CP_URL`]) the double sends nothing and fails the workspace
//!   with a reason naming the missing variables — and `CP_UPSTREAM_URL` when
//!   that is the only one set (incident D2).
//! - **Config refresh on boot** — `GET /cp/tenants/config` with
//!   `Authorization: Bearer <ADMIN_TOKEN>` and `X-Molecule-Org-Id`, decoded as
//!   a flat string map (validated with `contract::validate(contract::SchemaId::TenantConfig)`,
//!   so a nested body fails with its JSON path, incident D1) and applied over
//!   the tenant's env: later CP calls see e.g. `MOLECULE_CP_SHARED_SECRET`.
//!   Best effort, like the real tenant: a failure is logged and recorded,
//!   never fatal.
//! - **Provision** — `POST /cp/workspaces/provision` with the shared secret
//!   as bearer and `X-Molecule-Admin-Token`, each only when non-empty; body
//!   `org_id`, `workspace_id`, `runtime`, `tier`, `platform_url`, `env`.
//!   Success is exactly 201 with a non-empty `instance_id`; a 200 fails with
//!   `cp provisioner: provision failed (200): …` (incident D3) and the body is
//!   never echoed. 408, 429, 500–527 and transport errors are retried
//!   ([`RetryPolicy`]: 6 attempts, 2 s doubling, cap 10 s; shorten it in tests).
//!   Instance ids come from the CP (`mol-ws-…` from the stub, incident D10).
//! - **Evidence** — `GET /__/tenant/cp` ([`CpReport`]) shows the resolved
//!   bases and the variable each came from, the last config refresh and every
//!   provision attempt, so replays can prove the tenant's *own* calls reached
//!   the stub (D2, D4) and that it applied its config (D1).
//!
//! ```no_run
//! # async fn demo() -> Result<(), tenant_double::TenantError> {
//! let tenant = tenant_double::start(tenant_double::Config {
//!     port: 0,
//!     org_id: "org-alpha".into(),
//!     admin_token: "alpha-admin-token".into(),
//!     cp_provision_url: Some("http://127.0.0.1:9090".into()),
//!     molecule_cp_url: Some("http://127.0.0.1:9090".into()),
//!     ..Default::default()
//! })
//! .await?;
//! println!("tenant at {}", tenant.base_url());
//! let evidence = tenant.report();
//! assert_eq!(evidence.provision.source.as_deref(), Some("CP_PROVISION_URL"));
//! tenant.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # Tenant API
//!
//! | method | path | answer |
//! |---|---|---|
//! | GET | `/health` | 200 `{"status":"ok"}` |
//! | GET | `/buildinfo` | 200 name, version, git sha, contract fingerprint |
//! | POST | `/workspaces` | 201 the workspace (`id` server-generated, `status: provisioning`); provisions in the background |
//! | GET | `/workspaces` | 200 array of workspaces |
//! | GET | `/workspaces/{id}` | 200 workspace (`status`, `instance_id`, `error`) / 404 |
//! | DELETE | `/workspaces/{id}` | 200 after a CP stop (502 when the stop fails) / 404 |
//! | POST | `/admin/workspaces/{id}/restart` | 202 `{"status":"restart_dispatched","workspace_id":..}` / 404 / 401 |
//! | GET | `/__/tenant/cp` | [`CpReport`] |
//! | POST | `/__/tenant/config/refresh` | runs the config refresh again; [`ConfigRefresh`] |
//!
//! Every `/workspaces` and `/admin` route passes the tenant guard: no
//! `X-Molecule-Org-Id` → 400 `{"code":"TENANT_ORG_HEADER_REQUIRED",...}`;
//! another org → 404 `{"error":"not found"}`; no bearer → 401; a bearer that
//! is not this tenant's `ADMIN_TOKEN` → the same 404 on `/workspaces` (it may
//! be another tenant's: nothing is revealed) and 401 on `/admin`.
//!
//! # Layout
//!
//! - `config.rs` — [`Config`], [`RetryPolicy`], reading the real tenant's variables;
//! - `cp.rs` — the CP client: base resolution, provision with retries, config refresh, stop;
//! - `state.rs` — in-memory workspaces, the effective env and the evidence;
//! - `report.rs` — the wire types of `/__/tenant/cp`;
//! - `server.rs` — the hyper server, routing and the tenant guard;
//! - `main.rs` — the `tenant-double` binary (serve, `healthcheck`).

#![warn(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

mod config;
mod cp;
mod report;
mod server;
mod state;

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use config::{Config, ConfigError, RetryPolicy, PRODUCTION_CP_URL, TENANT_VARIABLES};
pub use report::{
    BaseResolution, BootResolution, ConfigRefresh, CpReport, Credentials, Origin, ProvisionAttempt,
    ProvisionRun, StopCall, Totals, WorkspaceReport,
};

/// Errors starting a tenant.
#[derive(Debug, thiserror::Error)]
pub enum TenantError {
    /// The configuration is unusable.
    #[error("tenant-double configuration: {0}")]
    Config(String),
    /// The listening socket could not be bound.
    #[error("tenant-double cannot listen on {addr}: {source}; pick a free PORT or set PORT=0")]
    Bind {
        /// Address tried.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The HTTP client could not be built.
    #[error("tenant-double HTTP client: {0}")]
    Client(String),
}

impl From<ConfigError> for TenantError {
    fn from(e: ConfigError) -> Self {
        TenantError::Config(e.to_string())
    }
}

/// A running tenant. Dropping it stops accepting connections; call
/// [`Tenant::shutdown`] to also wait for in-flight requests.
#[derive(Debug)]
pub struct Tenant {
    addr: SocketAddr,
    base_url: String,
    shared: Arc<state::Shared>,
    stop: watch::Sender<bool>,
    server: Option<JoinHandle<()>>,
}

/// Start a tenant: bind, run the boot config refresh (when
/// [`Config::config_refresh_on_boot`]), then serve.
pub async fn start(config: Config) -> Result<Tenant, TenantError> {
    if config.org_id.trim().is_empty() {
        return Err(TenantError::Config(
            "MOLECULE_ORG_ID is empty; set it to the tenant's org id (e.g. org-alpha)".into(),
        ));
    }
    let addr = SocketAddr::new(config.bind, config.port);
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| TenantError::Bind { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| TenantError::Bind { addr, source })?;
    let reachable = match local.ip() {
        ip if ip.is_unspecified() && ip.is_ipv4() => {
            SocketAddr::new(Ipv4Addr::LOCALHOST.into(), local.port())
        }
        ip if ip.is_unspecified() => SocketAddr::new(Ipv6Addr::LOCALHOST.into(), local.port()),
        _ => local,
    };
    let base_url = format!("http://{reachable}");
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(config.cp_timeout)
        .connect_timeout(config.cp_timeout.min(std::time::Duration::from_secs(5)))
        .build()
        .map_err(|e| TenantError::Client(cp::error_chain(&e)))?;
    let refresh = config.config_refresh_on_boot;
    let shared = Arc::new(state::Shared::new(config, base_url.clone(), http));
    {
        let mut inner = shared.lock();
        let line = match (&shared.boot.provision.source, &shared.boot.provision.base) {
            (Some(src), Some(base)) => format!("CP provision base: {base} (from {src})"),
            _ => format!(
                "CP provision base: none — {}",
                shared.boot.provision.error.clone().unwrap_or_default()
            ),
        };
        shared.log(&mut inner, format!("listening on {base_url}"));
        shared.log(&mut inner, line);
    }
    if refresh {
        cp::refresh_config(&shared, "boot").await;
    }
    let (stop, rx) = watch::channel(false);
    let server = tokio::spawn(server::serve(listener, Arc::clone(&shared), rx));
    Ok(Tenant {
        addr: local,
        base_url,
        shared,
        stop,
        server: Some(server),
    })
}

impl Tenant {
    /// The bound address (the real port when `port` was 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr>` (loopback when bound to an unspecified address).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The tenant's org id.
    pub fn org_id(&self) -> &str {
        &self.shared.config.org_id
    }

    /// The evidence served at `/__/tenant/cp`, without an HTTP call.
    pub fn report(&self) -> CpReport {
        self.shared.report()
    }

    /// Stop accepting, let in-flight requests finish (up to 10 s), and abort
    /// background provisioning.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        self.shared.abort_tasks();
    }
}

impl Drop for Tenant {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if self.server.is_some() {
            self.shared.abort_tasks();
        }
    }
}
