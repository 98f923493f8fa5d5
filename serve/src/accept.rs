//! The accept loop: hyper HTTP/1 connections on a tokio listener, each
//! watched for idleness, at most [`ServeOptions::max_connections`] open,
//! drained gracefully on shutdown.

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
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use crate::conn::{Conns, Counted, Tracked};

/// Default idle (keep-alive) timeout.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Default cap on open connections.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// How long a connection refused at the cap gets to take its 503.
const REFUSAL_WRITE: Duration = Duration::from_secs(1);

/// Pause after a failed `accept` (out of file descriptors and the like), so
/// the loop backs off instead of spinning.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(20);

type AcceptErrorHook = Box<dyn Fn(&std::io::Error) + Send + Sync>;

/// How [`serve`] treats connections. `ServeOptions::default()`: hyper's
/// 30 s header-read timeout, keep-alive on, a 60 s idle timeout, at most
/// 1,024 open connections, a 10 s shutdown grace, accept errors ignored
/// (the loop backs off and keeps serving).
pub struct ServeOptions {
    header_read_timeout: Option<Duration>,
    idle_timeout: Option<Duration>,
    max_connections: usize,
    keep_alive: bool,
    grace: Duration,
    on_accept_error: Option<AcceptErrorHook>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            header_read_timeout: Some(Duration::from_secs(30)),
            idle_timeout: Some(DEFAULT_IDLE_TIMEOUT),
            max_connections: DEFAULT_MAX_CONNECTIONS,
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
            .field("idle_timeout", &self.idle_timeout)
            .field("max_connections", &self.max_connections)
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

    /// Close a connection that has no request in flight and has sent or
    /// received nothing for `timeout` (an idle keep-alive connection, or one
    /// that connected and never spoke). `None`: no limit.
    pub fn idle_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.idle_timeout = timeout.into();
        self
    }

    /// At most `max` connections open at once (at least 1). At the cap a
    /// new connection closes the open one idle the longest; when none is
    /// idle, the new one is answered `503` and closed.
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max.max(1);
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
/// error that drops the connection) end that connection only; so do the
/// idle timeout and the connection cap ([`ServeOptions`]). On
/// `shutdown` the listener is closed at once (new connections are
/// refused), idle connections (also those still sending request headers)
/// are closed, in-flight requests get their
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
    let mut tasks = JoinSet::new();
    let open = Conns::default();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    while tasks.try_join_next().is_some() {}
                    if open.len() >= options.max_connections && !open.close_oldest_idle() {
                        tasks.spawn(refuse(stream, options.max_connections));
                        continue;
                    }
                    // Small request/answer exchanges: do not wait for Nagle.
                    let _ = stream.set_nodelay(true);
                    let state = open.add();
                    let io = TokioIo::new(Tracked::new(stream, state.clone()));
                    let service = Counted::new(make_service(peer), state.clone());
                    let watched = graceful.watch(http.serve_connection(io, service));
                    let open = open.clone();
                    let idle = options.idle_timeout;
                    tasks.spawn(async move {
                        tokio::select! {
                            _ = watched => {}
                            () = state.closed(idle) => {}
                        }
                        open.remove(&state);
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
    open.close_idle();
    if tokio::time::timeout(options.grace, graceful.shutdown())
        .await
        .is_ok()
    {
        return Shutdown::Drained;
    }
    let open = open.len();
    tasks.shutdown().await;
    Shutdown::GraceExpired { open }
}

/// Answer a connection over the cap `503` and close it.
async fn refuse(mut stream: TcpStream, max: usize) {
    let body = format!(
        r#"{{"error":"too many open connections: the server keeps at most {max} (none of them idle)"}}"#
    );
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nconnection: close\r\nretry-after: 1\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(REFUSAL_WRITE, async {
        let _ = stream.write_all(answer.as_bytes()).await;
        let _ = stream.shutdown().await;
    })
    .await;
}
