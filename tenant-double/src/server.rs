//! The tenant API over hyper: the accept loop here (harness-serve's);
//! routing, the tenant guard, the workspace handlers and JSON answers in
//! `server/`.

mod guard;
mod respond;
mod routes;
mod workspaces;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use harness_serve::ServeOptions;
use hyper::service::service_fn;
use tokio::net::TcpListener;
use tokio::sync::watch;

use self::routes::handle;
use crate::state::Shared;

/// How long shutdown waits for open connections.
const DRAIN: Duration = Duration::from_secs(10);

/// Accept connections until `shutdown` flips, then drain them.
pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let make_service = move |_peer| {
        let shared = Arc::clone(&shared);
        service_fn(move |req| {
            let shared = Arc::clone(&shared);
            async move { Ok::<_, Infallible>(handle(shared, req).await) }
        })
    };
    // A dropped sender stops the server too.
    let stopped = async move {
        let _ = shutdown.wait_for(|stop| *stop).await;
    };
    let options = ServeOptions::default()
        .header_read_timeout(Duration::from_secs(30))
        .grace(DRAIN);
    let _ = harness_serve::serve(listener, make_service, stopped, options).await;
}
