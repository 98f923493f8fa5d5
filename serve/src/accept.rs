//! The accept loop: hyper HTTP/1 connections on a tokio listener, drained
//! gracefully on shutdown.

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::{Body, Incoming};
use hyper::server::conn::http1;
use hyper::service::Service;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

/// Pause after a failed `accept` (out of file descriptors and the like), so
/// the loop backs off instead of spinning.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(20);

type AcceptErrorHook = Box<dyn Fn(&std::io::Error) + Send + Sync>;

/// How [`serve`] treats connections. `ServeOptions::default()`: hyper's
/// 30 s header-read timeout, keep-alive on, a 10 s shutdown grace, accept
/// errors ignored (the loop backs off and keeps serving).
pub struct ServeOptions {
    header_read_timeout: Option<Duration>,
    keep_alive: bool,
    grace: Duration,
    on_accept_error: Option<AcceptErrorHook>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            header_read_timeout: Some(Duration::from_secs(30)),
            keep_alive: true,
            grace: Duration::from_secs(10),
            on_accept_error: None,
        }
    }
}

impl fmt::Debug for ServeOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServeOptions")
            .field("header_read_timeout", &self.header_read_timeout)
            .field("keep_alive", &self.keep_alive)
            .field("grace", &self.grace)
            .field("on_accept_error", &self.on_accept_error.is_some())
            .finish()
    }
}

impl ServeOptions {
    /// Close a connection whose request headers are not complete within
    /// `timeout` (also idle keep-alive connections: hyper's header timer
    /// runs while it waits for the next request). `None`: no limit.
    pub fn header_read_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.header_read_timeout = timeout.into();
        self
    }

    /// Keep connections open between requests (HTTP/1.1 keep-alive).
    pub fn keep_alive(mut self, on: bool) -> Self {
        self.keep_alive = on;
        self
    }

    /// How long shutdown waits for in-flight requests before it closes the
    /// connections that are left.
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Called with each failed `accept` (e.g. to log it); the loop then
    /// backs off briefly and keeps serving.
    pub fn on_accept_error(
        mut self,
        hook: impl Fn(&std::io::Error) + Send + Sync + 'static,
    ) -> Self {
        self.on_accept_error = Some(Box::new(hook));
        self
    }
}

/// How [`serve`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Shutdown {
    /// Every connection finished within the grace period.
    Drained,
    /// The grace period ran out; `open` connections were closed mid-way.
    GraceExpired {
        /// Connections still open when the grace ran out.
        open: usize,
    },
}

/// Serve HTTP/1 on `listener` until `shutdown` completes, then drain.
///
/// `make_service` builds the service of one connection from the peer's
/// address. Per-connection errors (client gone, header timeout, a service
/// error that drops the connection) end that connection only. On
/// `shutdown` the listener is closed at once (new connections are
/// refused), idle connections are closed, in-flight requests get their
/// answers (up to [`ServeOptions::grace`]), then the rest are aborted.
pub async fn serve<M, S, B>(
    listener: TcpListener,
    mut make_service: M,
    shutdown: impl Future<Output = ()>,
    options: ServeOptions,
) -> Shutdown
where
    M: FnMut(SocketAddr) -> S,
    S: Service<Request<Incoming>, Response = Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn StdError + Send + Sync>>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout)
        .keep_alive(options.keep_alive);
    let graceful = GracefulShutdown::new();
    let mut conns = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    // Small request/answer exchanges: do not wait for Nagle.
                    let _ = stream.set_nodelay(true);
                    let conn = http.serve_connection(TokioIo::new(stream), make_service(peer));
                    let watched = graceful.watch(conn);
                    while conns.try_join_next().is_some() {}
                    conns.spawn(async move {
                        let _ = watched.await;
                    });
                }
                Err(e) => {
                    if let Some(hook) = &options.on_accept_error {
                        hook(&e);
                    }
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(options.grace, graceful.shutdown())
        .await
        .is_ok()
    {
        return Shutdown::Drained;
    }
    while conns.try_join_next().is_some() {}
    let open = conns.len();
    conns.shutdown().await;
    Shutdown::GraceExpired { open }
}
