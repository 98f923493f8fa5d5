//! A running tenant: [`start`] binds, runs the boot config refresh and
//! serves; [`Tenant`] is the handle that reports and shuts it down.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::env::EffectiveEnv;
use crate::report::CpReport;
use crate::state::Shared;
use crate::vars::ConfigError;
use crate::{cp, evidence, server};

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
    /// Boot refused, as the real tenant's `log.Fatalf` (exit 1): the LLM
    /// keys missing after the config refresh (`MISSING_CP_LLM_ENV`), or a
    /// config fetch that kept failing through the retry window.
    #[error("Managed tenant boot assertion: {0}")]
    Boot(String),
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
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    server: Option<JoinHandle<()>>,
}

/// Start a tenant: bind, run the boot config refresh and the LLM-key check
/// (when [`Config::config_refresh_on_boot`]; [`TenantError::Boot`] when it
/// fails, before anything is served), then serve and start the health sweep.
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
    // A zero timeout would fail every call before it is sent.
    let timeout = config.cp_timeout.max(Duration::from_millis(1));
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .build()
        .map_err(|e| TenantError::Client(cp::error_chain(&e)))?;
    let refresh = config.config_refresh_on_boot;
    let env = EffectiveEnv::new(config.env());
    let boot = cp::resolve_both(&env);
    let line = match (&boot.provision.source, &boot.provision.base) {
        (Some(src), Some(base)) => format!("CP provision base: {base} (from {src})"),
        _ => format!(
            "CP provision base: none — {}",
            boot.provision.error.clone().unwrap_or_default()
        ),
    };
    let shared = Arc::new(Shared::new(config, base_url.clone(), http, env, boot));
    {
        let mut inner = shared.lock();
        shared.log(&mut inner, format!("listening on {base_url}"));
        shared.log(&mut inner, line);
    }
    if refresh {
        cp::boot_env(&shared).await.map_err(TenantError::Boot)?;
    }
    let (stop, rx) = watch::channel(false);
    let server = tokio::spawn(server::serve(listener, Arc::clone(&shared), rx));
    shared.spawn(cp::health_sweep(Arc::clone(&shared)));
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

    /// Whether it answers as the real tenant ([`Config::no_evidence`]).
    pub fn is_opaque(&self) -> bool {
        self.shared.config.no_evidence
    }

    /// The last log lines (up to 200, oldest first): what it resolved, its
    /// config refreshes, provision outcomes, health sweeps. Kept in memory
    /// even when opaque (no `/__/tenant/cp`) and when not printed.
    pub fn log_lines(&self) -> Vec<String> {
        self.shared.lock().log.iter().cloned().collect()
    }

    /// The evidence served at `/__/tenant/cp`, without an HTTP call (also
    /// for an opaque tenant: in-process callers may look).
    pub fn report(&self) -> CpReport {
        evidence::report(&self.shared)
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
