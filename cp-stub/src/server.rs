//! Listening, connections and graceful shutdown (hyper 1 HTTP/1.1 + tokio).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use harness_serve::{ServeOptions, Shutdown};
use hyper::service::service_fn;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use crate::app::App;
use crate::config::{Config, ConfigError};

/// Errors of starting or running the stub.
#[derive(Debug, thiserror::Error)]
pub enum StubError {
    /// The configuration is invalid (exit code 2 in the binary).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The address cannot be bound.
    #[error("cp-stub: cannot listen on {addr}: {source} — is another process on that port? Pick another with --port / PORT (0 = ephemeral)")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// Signal handlers could not be installed.
    #[error("cp-stub: cannot install the SIGTERM/SIGINT handlers: {0}")]
    Signal(std::io::Error),
}

/// A running stub. Dropping it stops the server too (gracefully, without
/// waiting); call [`Stub::shutdown`] to wait for in-flight requests.
#[derive(Debug)]
pub struct Stub {
    local_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Stub {
    /// The bound address (the real port when `port` was 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `http://<addr>:<port>`, with an unspecified bind address (0.0.0.0,
    /// ::) replaced by loopback so the URL is usable by a client.
    pub fn base_url(&self) -> String {
        let ip = match self.local_addr.ip() {
            IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        format!("http://{}", SocketAddr::new(ip, self.local_addr.port()))
    }

    /// Stop accepting, let in-flight requests finish (up to
    /// [`Config::shutdown_grace`]), close idle connections, and return.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Bind and serve on a tokio task. Validates the configuration first.
/// Must be called inside a tokio runtime.
pub async fn start(config: Config) -> Result<Stub, StubError> {
    // The contract's schemas compile on first use (its own tests prove they
    // do): start-up stays fast and an idle stub small.
    config.validate()?;
    let addr = SocketAddr::new(config.bind, config.port);
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| StubError::Bind { addr, source })?;
    let local_addr = listener
        .local_addr()
        .map_err(|source| StubError::Bind { addr, source })?;
    let (stopping_tx, stopping) = watch::channel(false);
    let app = Arc::new(App::new(config, local_addr, stopping));
    let (stop_tx, stop_rx) = oneshot::channel();
    let task = tokio::spawn(accept_loop(listener, app, stop_rx, stopping_tx));
    Ok(Stub {
        local_addr,
        stop: Some(stop_tx),
        task: Some(task),
    })
}

async fn accept_loop(
    listener: TcpListener,
    app: Arc<App>,
    stop: oneshot::Receiver<()>,
    stopping: watch::Sender<bool>,
) {
    let hook_app = app.clone();
    let options = ServeOptions::default()
        .header_read_timeout(app.config.header_read_timeout)
        .idle_timeout(app.config.idle_timeout)
        .max_connections(app.config.max_connections)
        .grace(app.config.shutdown_grace)
        .on_accept_error(move |e| {
            hook_app
                .logger
                .event("accept failed", &[("error", e.to_string())]);
        });
    let conn_app = app.clone();
    // Per-connection errors (client gone, header timeout, a dropped-connection
    // fault) end that connection only.
    let make_service = move |_peer| {
        let conn_app = conn_app.clone();
        service_fn(move |req| conn_app.clone().handle(req))
    };
    let stopped = async move {
        let _ = stop.await;
        // Bodies still arriving are given up: a stalled client must not
        // hold shutdown for the whole grace.
        let _ = stopping.send(true);
    };
    let grace = app.config.shutdown_grace;
    if let Shutdown::GraceExpired { .. } =
        harness_serve::serve(listener, make_service, stopped, options).await
    {
        app.logger.event(
            "shutdown grace period over; closing the remaining connections",
            &[("grace_ms", grace.as_millis().to_string())],
        );
    }
}

/// What the binary runs: start, log the address, serve until SIGTERM or
/// SIGINT, then shut down gracefully (in-flight requests finish).
pub async fn serve_until_signal(config: Config) -> Result<(), StubError> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).map_err(StubError::Signal)?;
    let mut int = signal(SignalKind::interrupt()).map_err(StubError::Signal)?;
    let logger = crate::log::Logger::new(config.log_format, config.log_sink.clone());
    let summary = [
        ("strict", config.strict.to_string()),
        ("auth", auth_summary(&config)),
        ("journal", config.journal_capacity.to_string()),
        ("journal_bytes", config.journal_bytes.to_string()),
        ("max_connections", config.max_connections.to_string()),
        ("prefix", config.instance_prefix.clone()),
        ("version", env!("CARGO_PKG_VERSION").to_string()),
        ("git_sha", harness_serve::GIT_SHA.to_string()),
        ("contract", contract::fingerprint().to_string()),
    ];
    let stub = start(config).await?;
    let mut fields = vec![("addr", stub.base_url())];
    fields.extend(summary);
    logger.event("listening", &fields);
    let which = tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    };
    logger.event("shutting down", &[("signal", which.to_string())]);
    stub.shutdown().await;
    logger.event("stopped", &[]);
    logger.flush();
    Ok(())
}

fn auth_summary(c: &Config) -> String {
    match (
        c.expect_shared_secret.is_some(),
        c.expect_admin_tokens.is_empty(),
    ) {
        (false, true) => "off".into(),
        (true, true) => "shared-secret".into(),
        (false, false) => "admin-token".into(),
        (true, false) => "shared-secret+admin-token".into(),
    }
}
