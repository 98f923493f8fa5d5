//! When a compose stack is ready: every service answers HTTP on its
//! published port, as seed will reach it.
//!
//! Docker's health status lags: a healthcheck runs once per `interval`
//! (1 s in compose.yml, and Docker 20.10 has no `start_interval`), so a
//! tenant that answers 50 ms after it starts is reported healthy about a
//! second later. The gate therefore probes the published ports itself,
//! each on its own task every [`PROBE_INTERVAL`], and starts seed the
//! moment all of them answer 2xx. The images keep their `HEALTHCHECK`s for
//! `docker compose up` users and for compose's own `depends_on`.
//!
//! A container that exits must still fail the wait at once, without a
//! `docker` subprocess on every tick (each costs tens of milliseconds, a
//! `docker-compose` one about half a second): the waiter reads all of the
//! project's containers in one `docker ps`
//! ([`super::project::container_states`]), first [`FIRST_STATE_CHECK`]
//! after the wait began (a stack that is up by then never pays for it),
//! then every [`STATE_INTERVAL`].

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinSet;

/// How often a service that does not answer yet is probed again.
pub(crate) const PROBE_INTERVAL: Duration = Duration::from_millis(25);
/// How long one probe may take (a port that accepts but never answers).
pub(crate) const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// When the containers' states are first read, if the stack is not ready.
pub(crate) const FIRST_STATE_CHECK: Duration = Duration::from_millis(300);
/// How often they are read after that.
pub(crate) const STATE_INTERVAL: Duration = Duration::from_millis(500);

/// The last outcome of each service's probe, for the summary of a stack
/// that never became ready.
pub(crate) type LastProbe = Arc<Mutex<Vec<String>>>;

/// Probe `urls` concurrently, each on its own task, every
/// [`PROBE_INTERVAL`] until it answers 2xx; the set yields the index of
/// each service as it becomes ready. Dropping the set stops the probes.
pub(crate) fn spawn_probes(
    client: &reqwest::Client,
    urls: Vec<String>,
) -> (JoinSet<usize>, LastProbe) {
    let last: LastProbe = Arc::new(Mutex::new(vec!["not probed yet".to_string(); urls.len()]));
    let mut set = JoinSet::new();
    for (i, url) in urls.into_iter().enumerate() {
        let client = client.clone();
        let last = Arc::clone(&last);
        set.spawn(async move {
            loop {
                let outcome = match client.get(&url).timeout(PROBE_TIMEOUT).send().await {
                    Ok(r) if r.status().is_success() => return i,
                    Ok(r) => format!("GET {url} answered {}", r.status().as_u16()),
                    Err(e) if e.is_timeout() => {
                        format!("GET {url}: no answer in {} s", PROBE_TIMEOUT.as_secs())
                    }
                    Err(e) if e.is_connect() => format!("GET {url}: cannot connect"),
                    Err(_) => format!("GET {url}: connection closed before an answer"),
                };
                if let Ok(mut l) = last.lock() {
                    l[i] = outcome;
                }
                tokio::time::sleep(PROBE_INTERVAL).await;
            }
        });
    }
    (set, last)
}
