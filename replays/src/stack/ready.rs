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
//! `docker-compose` one about half a second): [`container_states`] reads
//! all of the project's containers in one `docker ps`, first
//! [`FIRST_STATE_CHECK`] after the wait began (a stack that is up by then
//! never pays for it), then every [`STATE_INTERVAL`].

use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::process::Command;
use tokio::task::JoinSet;

/// How often a service that does not answer yet is probed again.
pub(crate) const PROBE_INTERVAL: Duration = Duration::from_millis(25);
/// How long one probe may take (a port that accepts but never answers).
pub(crate) const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// When the containers' states are first read, if the stack is not ready.
pub(crate) const FIRST_STATE_CHECK: Duration = Duration::from_millis(300);
/// How often they are read after that.
pub(crate) const STATE_INTERVAL: Duration = Duration::from_millis(500);
/// How long one `docker ps` may take.
const STATE_TIMEOUT: Duration = Duration::from_secs(10);

/// A container's state as `docker ps` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ContainerState {
    /// `running`, `exited`, `created`, `restarting`, `dead`, … or
    /// `missing` (no container for the service).
    pub status: String,
    /// Docker's health: `healthy`, `unhealthy`, `starting`, `none` (no
    /// healthcheck), or `-` (unknown).
    pub health: String,
    /// Exit code of an exited container, else `-`.
    pub code: String,
}

impl ContainerState {
    /// No container (yet) for the service.
    pub(crate) fn missing() -> Self {
        ContainerState {
            status: "missing".into(),
            health: "-".into(),
            code: "-".into(),
        }
    }

    /// Whether the container has stopped for good (`restart: "no"`).
    pub(crate) fn stopped(&self) -> bool {
        self.status == "exited" || self.status == "dead"
    }

    /// One `docker ps` line: `<service>\t<State>\t<Status>`, e.g.
    /// `tenant-alpha\trunning\tUp 2 seconds (health: starting)` or
    /// `cp-stub\texited\tExited (3) 1 second ago`.
    pub(crate) fn parse(line: &str) -> Option<(String, ContainerState)> {
        let mut parts = line.splitn(3, '\t');
        let service = parts.next()?.trim();
        let status = parts.next()?.trim();
        let detail = parts.next().unwrap_or("").trim();
        if service.is_empty() || status.is_empty() {
            return None;
        }
        let health = if detail.ends_with("(healthy)") {
            "healthy"
        } else if detail.ends_with("(unhealthy)") {
            "unhealthy"
        } else if detail.ends_with("(health: starting)") {
            "starting"
        } else {
            "none"
        };
        // `Exited (3) 1 second ago`: the code between the first parentheses.
        let code = detail
            .strip_prefix("Exited (")
            .and_then(|rest| rest.split_once(')'))
            .map_or("-", |(code, _)| code);
        Some((
            service.to_string(),
            ContainerState {
                status: status.to_string(),
                health: health.to_string(),
                code: code.to_string(),
            },
        ))
    }
}

/// The project name as compose writes it into its labels: lower case,
/// only `[a-z0-9_-]` (docker-compose 1.29 and v2 normalise alike).
pub(crate) fn label_project(project: &str) -> String {
    project
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

/// The state of every container of `project`, by service, from one
/// `docker ps -a`. `None` when docker did not answer (the wait goes on:
/// the HTTP probes decide readiness, this only catches exits early).
pub(crate) async fn container_states(project: &str) -> Option<BTreeMap<String, ContainerState>> {
    let out = Command::new("docker")
        .args([
            "ps",
            "-a",
            "--no-trunc",
            "--filter",
            &format!(
                "label=com.docker.compose.project={}",
                label_project(project)
            ),
            "--format",
            "{{.Label \"com.docker.compose.service\"}}\t{{.State}}\t{{.Status}}",
        ])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(STATE_TIMEOUT, out).await.ok()?.ok()?;
    if !out.status.success() {
        return None;
    }
    let mut states = BTreeMap::new();
    for (service, state) in String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(ContainerState::parse)
    {
        // Several containers of one service (scaled): a stopped one wins.
        let keep = states
            .get(&service)
            .is_some_and(|s: &ContainerState| s.stopped());
        if !keep {
            states.insert(service, state);
        }
    }
    Some(states)
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_ps_lines() {
        let (svc, s) =
            ContainerState::parse("tenant-alpha\trunning\tUp 2 seconds (health: starting)")
                .unwrap();
        assert_eq!(svc, "tenant-alpha");
        assert_eq!(
            (s.status.as_str(), s.health.as_str(), s.code.as_str()),
            ("running", "starting", "-")
        );
        let (_, s) = ContainerState::parse("cp-stub\trunning\tUp 1 second (healthy)").unwrap();
        assert_eq!(s.health, "healthy");
        assert!(!s.stopped());
        let (_, s) = ContainerState::parse("tenant-beta\texited\tExited (3) 1 second ago").unwrap();
        assert_eq!((s.status.as_str(), s.code.as_str()), ("exited", "3"));
        assert!(s.stopped());
        let (_, s) = ContainerState::parse("redis\trunning\tUp 5 seconds").unwrap();
        assert_eq!(s.health, "none");
        assert_eq!(ContainerState::parse("\t\t"), None);
        assert_eq!(ContainerState::parse("garbage"), None);
    }

    #[test]
    fn project_label_is_normalised_like_compose() {
        assert_eq!(label_project("cp-harness-gate-42"), "cp-harness-gate-42");
        assert_eq!(label_project("My.Project_1"), "myproject_1");
    }
}
