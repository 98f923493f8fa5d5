//! What the accept loop knows of each open connection: when it last moved
//! bytes and whether a request is in flight ([`ConnState`], fed by the
//! [`Tracked`] stream and the [`Counted`] service), in one registry
//! ([`Conns`]) so the cap can close the connection idle the longest.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::Instant;

/// One open connection.
#[derive(Debug)]
pub(crate) struct ConnState {
    id: u64,
    /// Time of the last byte read or written, in ms since `epoch`.
    last_active_ms: AtomicU64,
    in_flight: AtomicUsize,
    epoch: Instant,
    close: Notify,
}

impl ConnState {
    fn touch(&self) {
        let ms = self.epoch.elapsed().as_millis() as u64;
        self.last_active_ms.store(ms, Ordering::Relaxed);
    }

    fn idle_since(&self) -> Option<Instant> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        Some(self.epoch + Duration::from_millis(self.last_active_ms.load(Ordering::Relaxed)))
    }

    /// Completes when the connection is to be closed: told to by the cap,
    /// or idle for `idle` (`None`: only when told).
    pub(crate) async fn closed(&self, idle: Option<Duration>) {
        let Some(idle) = idle else {
            return self.close.notified().await;
        };
        loop {
            // While a request is in flight, look again one timeout later.
            let deadline = self.idle_since().unwrap_or_else(Instant::now) + idle;
            tokio::select! {
                () = self.close.notified() => return,
                () = tokio::time::sleep_until(deadline) => {
                    if self.idle_since().is_some_and(|since| since + idle <= Instant::now()) {
                        return;
                    }
                }
            }
        }
    }
}

/// The open connections.
#[derive(Debug, Clone, Default)]
pub(crate) struct Conns {
    inner: Arc<Mutex<Registry>>,
}

#[derive(Debug, Default)]
struct Registry {
    next: u64,
    open: HashMap<u64, Arc<ConnState>>,
    epoch: Option<Instant>,
}

impl Conns {
    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().open.len()
    }

    /// Register a new connection (active now).
    pub(crate) fn add(&self) -> Arc<ConnState> {
        let mut reg = self.lock();
        let epoch = *reg.epoch.get_or_insert_with(Instant::now);
        reg.next += 1;
        let state = Arc::new(ConnState {
            id: reg.next,
            last_active_ms: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            epoch,
            close: Notify::new(),
        });
        state.touch();
        reg.open.insert(state.id, state.clone());
        state
    }

    pub(crate) fn remove(&self, state: &ConnState) {
        self.lock().open.remove(&state.id);
    }

    /// Tell every connection with no request in flight to close (shutdown:
    /// one still sending its headers must not hold the drain).
    pub(crate) fn close_idle(&self) {
        for c in self.lock().open.values() {
            if c.idle_since().is_some() {
                c.close.notify_one();
            }
        }
    }

    /// Tell the connection idle the longest to close, and forget it (its
    /// task ends soon); false when every connection has a request in flight.
    pub(crate) fn close_oldest_idle(&self) -> bool {
        let mut reg = self.lock();
        let oldest = reg
            .open
            .values()
            .filter_map(|c| c.idle_since().map(|since| (since, c.id)))
            .min();
        match oldest.and_then(|(_, id)| reg.open.remove(&id)) {
            Some(state) => {
                state.close.notify_one();
                true
            }
            None => false,
        }
    }
}

/// A stream that notes each byte moved in its [`ConnState`].
#[derive(Debug)]
pub(crate) struct Tracked<T> {
    inner: T,
    state: Arc<ConnState>,
}

impl<T> Tracked<T> {
    pub(crate) fn new(inner: T, state: Arc<ConnState>) -> Self {
        Tracked { inner, state }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Tracked<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.state.touch();
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Tracked<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.state.touch();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.state.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// A connection's service that counts its requests in flight.
#[derive(Debug)]
pub(crate) struct Counted<S> {
    inner: S,
    state: Arc<ConnState>,
}

impl<S> Counted<S> {
    pub(crate) fn new(inner: S, state: Arc<ConnState>) -> Self {
        Counted { inner, state }
    }
}

impl<S, R> hyper::service::Service<R> for Counted<S>
where
    S: hyper::service::Service<R>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn call(&self, req: R) -> Self::Future {
        self.state.in_flight.fetch_add(1, Ordering::AcqRel);
        let guard = InFlight(self.state.clone());
        let fut = self.inner.call(req);
        Box::pin(async move {
            let out = fut.await;
            drop(guard);
            out
        })
    }
}

/// Ends one request in flight when dropped (answered or cancelled).
struct InFlight(Arc<ConnState>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}
