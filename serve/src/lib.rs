//! # harness-serve: the servers' accept loop and healthcheck client
//!
//! cp-stub and tenant-double serve HTTP/1 the same way and ship in
//! `FROM scratch` images whose Docker `HEALTHCHECK` is the binary itself.
//! This crate is that shared plumbing, on hyper and hyper-util:
//!
//! - [`serve`]: accept connections on a tokio [`TcpListener`], serve each
//!   with hyper's HTTP/1 server (header-read timeout, keep-alive), close
//!   connections idle past the idle timeout, keep at most a capped number
//!   open (at the cap the one idle the longest is closed, else the newcomer
//!   gets a 503), and on
//!   shutdown stop accepting, let in-flight requests finish within a grace
//!   period ([`hyper_util::server::graceful::GracefulShutdown`]) and abort
//!   the rest; [`ServeOptions`] holds the knobs and an accept-error hook.
//! - [`healthcheck`]: one `GET` with hyper's HTTP/1 client that succeeds
//!   only on a 2xx with a JSON body `{"status":"ok"}`; blocking, for a sync
//!   `main` ([`healthcheck_async`] inside a runtime). A
//!   [`HealthcheckError`] names the URL, the problem and what to check.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::convert::Infallible;
//! use std::time::Duration;
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let url = format!("http://{}/healthz", listener.local_addr()?);
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let server = tokio::spawn(harness_serve::serve(
//!     listener,
//!     |_peer| {
//!         hyper::service::service_fn(|_req| async {
//!             let body = bytes::Bytes::from_static(br#"{"status":"ok"}"#);
//!             Ok::<_, Infallible>(http::Response::new(http_body_util::Full::new(body)))
//!         })
//!     },
//!     async {
//!         let _ = stopped.await;
//!     },
//!     harness_serve::ServeOptions::default().grace(Duration::from_secs(2)),
//! ));
//! harness_serve::healthcheck_async(&url, Duration::from_secs(2)).await?;
//! let _ = stop.send(());
//! assert_eq!(server.await?, harness_serve::Shutdown::Drained);
//! # Ok(()) }
//! ```
//!
//! # Layout
//!
//! - `build.rs` — the git commit of the build, as [`GIT_SHA`];
//! - `accept.rs` — [`serve`], [`ServeOptions`], [`Shutdown`];
//! - `conn.rs` — the open connections: activity and requests in flight of
//!   each (a stream and a service wrapper), the registry the cap reads;
//! - `healthcheck.rs` — [`healthcheck`], [`healthcheck_async`],
//!   [`HealthcheckError`].
//!
//! [`TcpListener`]: tokio::net::TcpListener

#![warn(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

mod accept;
mod conn;
mod healthcheck;

/// The git commit the workspace was built from (`GIT_SHA` or
/// `CP_STUB_GIT_SHA` at build time, else `git rev-parse --short HEAD`, else
/// `unknown`): what both servers report as their `git_sha`.
pub const GIT_SHA: &str = env!("HARNESS_GIT_SHA");

pub use accept::{serve, ServeOptions, Shutdown, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONNECTIONS};
pub use healthcheck::{healthcheck, healthcheck_async, HealthcheckError};
