//! One compose project's Docker objects, found by the labels compose puts
//! on them (`com.docker.compose.project`, `…service`; docker-compose 1.29
//! and v2 alike), through the `docker` CLI: each call is tens of
//! milliseconds, where every `docker-compose` call starts Python (about
//! half a second on the CI machine).
//!
//! - [`container_states`]: every container's state in one `docker ps`, so
//!   the readiness wait catches a container that exited;
//! - [`remove`]: what `down -v --timeout 0` does — containers killed and
//!   removed with their anonymous volumes, then the project's networks and
//!   named volumes — in four `docker` calls instead of compose's start-up
//!   and its own round trips.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

/// How long one `docker` call may take.
const DOCKER_TIMEOUT: Duration = Duration::from_secs(60);

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

fn label_filter(project: &str) -> String {
    format!(
        "label=com.docker.compose.project={}",
        label_project(project)
    )
}

/// Run `docker <args>`; its stdout, or why it failed (the command, its
/// status and the end of its stderr).
async fn docker(args: &[&str]) -> Result<String, String> {
    let line = format!("docker {}", args.join(" "));
    let out = Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(DOCKER_TIMEOUT, out)
        .await
        .map_err(|_| format!("`{line}`: no answer in {} s", DOCKER_TIMEOUT.as_secs()))?
        .map_err(|e| format!("`{line}`: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).to_string())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        Err(format!("`{line}` failed ({}): {}", out.status, err.trim()))
    }
}

/// The ids `docker <kind> ls -q` (or `ps -aq`) lists for the project.
async fn ids(list: &[&str], project: &str) -> Result<Vec<String>, String> {
    let filter = label_filter(project);
    let mut args = list.to_vec();
    args.extend(["--filter", filter.as_str()]);
    Ok(docker(&args)
        .await?
        .split_whitespace()
        .map(str::to_string)
        .collect())
}

/// The state of every container of `project`, by service, from one
/// `docker ps -a`. `None` when docker did not answer (the wait goes on:
/// the HTTP probes decide readiness, this only catches exits early).
pub(crate) async fn container_states(project: &str) -> Option<BTreeMap<String, ContainerState>> {
    let filter = label_filter(project);
    let out = docker(&[
        "ps",
        "-a",
        "--no-trunc",
        "--filter",
        &filter,
        "--format",
        "{{.Label \"com.docker.compose.service\"}}\t{{.State}}\t{{.Status}}",
    ])
    .await
    .ok()?;
    let mut states = BTreeMap::new();
    for (service, state) in out.lines().filter_map(ContainerState::parse) {
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

/// Remove the project: its containers (killed, not stopped: no grace
/// period) with their anonymous volumes, then its networks and named
/// volumes. `Err` names the docker call that failed; the caller then
/// falls back on compose's own `down`.
pub(crate) async fn remove(project: &str) -> Result<(), String> {
    let (containers, networks, volumes) = tokio::join!(
        ids(&["ps", "-aq"], project),
        ids(&["network", "ls", "-q"], project),
        ids(&["volume", "ls", "-q"], project),
    );
    let (containers, networks, volumes) = (containers?, networks?, volumes?);
    let rm = |verb: &'static [&'static str], ids: Vec<String>| async move {
        if ids.is_empty() {
            return Ok(String::new());
        }
        let mut args: Vec<&str> = verb.to_vec();
        args.extend(ids.iter().map(String::as_str));
        docker(&args).await
    };
    rm(&["rm", "-f", "-v"], containers).await?;
    // Free of containers now; both at once.
    let (n, v) = tokio::join!(
        rm(&["network", "rm"], networks),
        rm(&["volume", "rm", "-f"], volumes)
    );
    n?;
    v?;
    Ok(())
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
