//! One container: `docker run` from a local image (never pulled), waited
//! for until Docker reports it healthy or until it exits with the expected
//! code, then driven by name (ports, logs, stop) and removed on drop.

use std::time::{Duration, Instant};

use crate::docker::{docker, report_leftover, unique_name, DockerError, LABEL, LOG_TAIL};

/// How often the container's state is polled while waiting for it.
const POLL: Duration = Duration::from_millis(100);

/// What `run` waits for before it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// The image's HEALTHCHECK reports `healthy`.
    Healthy,
    /// The container exits by itself with this code.
    Exit(i64),
}

/// A container to start: image, environment, command, network, name and
/// the container ports to publish on 127.0.0.1.
#[derive(Debug, Clone)]
pub struct ContainerSpec {
    image: String,
    name: Option<String>,
    env: Vec<(String, String)>,
    cmd: Vec<String>,
    network: Option<String>,
    ports: Vec<u16>,
    wait: Wait,
    startup_timeout: Duration,
}

impl ContainerSpec {
    /// `image` (`name:tag`, local), waited for until healthy, within 60 s.
    pub fn new(image: impl Into<String>) -> Self {
        Self {
            image: image.into(),
            name: None,
            env: Vec::new(),
            cmd: Vec::new(),
            network: None,
            ports: Vec::new(),
            wait: Wait::Healthy,
            startup_timeout: Duration::from_secs(60),
        }
    }

    /// The container's name (unique by default; peers on a network use it).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((name.into(), value.into()));
        self
    }

    /// Arguments after the image (the image's entrypoint stays).
    pub fn cmd<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.cmd = args.into_iter().map(Into::into).collect();
        self
    }

    pub fn network(mut self, network: impl Into<String>) -> Self {
        self.network = Some(network.into());
        self
    }

    /// Publish the container's TCP `port` on an ephemeral 127.0.0.1 port
    /// (see [`Container::host_port`]).
    pub fn publish(mut self, port: u16) -> Self {
        self.ports.push(port);
        self
    }

    pub fn wait(mut self, wait: Wait) -> Self {
        self.wait = wait;
        self
    }

    pub fn startup_timeout(mut self, timeout: Duration) -> Self {
        self.startup_timeout = timeout;
        self
    }

    /// Start the container and wait for it (see [`Wait`]). On failure the
    /// container is removed and the error carries its state and log tail.
    pub fn run(self) -> Result<Container, DockerError> {
        let name = self.name.clone().unwrap_or_else(|| unique_name("ctr"));
        let mut args: Vec<String> = ["run", "--detach", "--pull", "never", "--label", LABEL]
            .map(String::from)
            .into();
        args.extend(["--name".to_string(), name.clone()]);
        if let Some(network) = &self.network {
            args.extend(["--network".to_string(), network.clone()]);
        }
        for (key, value) in &self.env {
            args.extend(["--env".to_string(), format!("{key}={value}")]);
        }
        for port in &self.ports {
            args.extend(["--publish".to_string(), format!("127.0.0.1::{port}/tcp")]);
        }
        args.push(self.image.clone());
        args.extend(self.cmd.iter().cloned());

        // From here on the handle owns the name: dropping it removes a
        // container that was created but failed to start or to turn ready.
        let container = Container {
            name,
            image: self.image.clone(),
        };
        match docker(&args) {
            Ok(_) => {}
            Err(DockerError::Failed { stderr, .. }) if stderr.contains("No such image") => {
                return Err(DockerError::ImageMissing { image: self.image });
            }
            Err(e) => return Err(e),
        }
        container.wait_for(self.wait, self.startup_timeout)?;
        Ok(container)
    }
}

/// A running (or exited) container, removed with its volumes on drop.
#[derive(Debug)]
pub struct Container {
    name: String,
    image: String,
}

/// `docker inspect` of the fields a wait looks at.
struct State {
    status: String,
    health: String,
    exit_code: i64,
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let health = if self.health.is_empty() {
            "none"
        } else {
            &self.health
        };
        write!(
            f,
            "status {}, health {health}, exit code {}",
            self.status, self.exit_code
        )
    }
}

impl Container {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 127.0.0.1 port Docker published the container's TCP `port` on.
    pub fn host_port(&self, port: u16) -> Result<u16, DockerError> {
        let output = docker(&["port", &self.name, &format!("{port}/tcp")])?;
        // One line per binding, `127.0.0.1:49153` (we publish on IPv4 only).
        output
            .lines()
            .find_map(|line| line.rsplit_once(':')?.1.trim().parse().ok())
            .ok_or(DockerError::NoHostPort {
                name: self.name.clone(),
                port,
                output,
            })
    }

    /// `http://127.0.0.1:<host port>` of the container's `port`.
    pub fn base_url(&self, port: u16) -> Result<String, DockerError> {
        Ok(format!("http://127.0.0.1:{}", self.host_port(port)?))
    }

    /// The container's whole stdout and stderr, for a failure message
    /// (best effort: the error instead when Docker cannot give them).
    pub fn logs(&self) -> String {
        self.logs_with(&[])
    }

    /// Stop with `timeout` as the grace time between SIGTERM and SIGKILL;
    /// the exit code (137 when Docker had to SIGKILL it).
    pub fn stop(&self, timeout: Duration) -> Result<i64, DockerError> {
        let seconds = timeout.as_secs().to_string();
        docker(&["stop", "--time", &seconds, &self.name])?;
        Ok(self.state()?.exit_code)
    }

    fn state(&self) -> Result<State, DockerError> {
        let format = "{{.State.Status}}|{{if .State.Health}}{{.State.Health.Status}}{{end}}|{{.State.ExitCode}}";
        let args = [
            "inspect",
            "--type",
            "container",
            "--format",
            format,
            &self.name,
        ];
        let output = docker(&args)?;
        let parse = || {
            let mut fields = output.splitn(3, '|');
            Some(State {
                status: fields.next()?.to_string(),
                health: fields.next()?.to_string(),
                exit_code: fields.next()?.parse().ok()?,
            })
        };
        parse().ok_or_else(|| DockerError::Parse {
            command: format!("docker inspect {}", self.name),
            output: output.clone(),
        })
    }

    /// Poll the state until `wait` holds, the container ends otherwise, or
    /// `timeout` passes.
    fn wait_for(&self, wait: Wait, timeout: Duration) -> Result<(), DockerError> {
        let deadline = Instant::now() + timeout;
        loop {
            let state = self.state()?;
            let exited = matches!(state.status.as_str(), "exited" | "dead");
            let failure = match wait {
                Wait::Healthy if state.health == "healthy" => return Ok(()),
                Wait::Healthy if state.health.is_empty() && !exited => {
                    return Err(DockerError::NoHealthcheck {
                        image: self.image.clone(),
                        name: self.name.clone(),
                    });
                }
                Wait::Healthy if exited => Some(format!(
                    "exited with code {} instead of turning healthy",
                    state.exit_code
                )),
                Wait::Exit(code) if exited && state.exit_code == code => return Ok(()),
                Wait::Exit(code) if exited => Some(format!(
                    "exited with code {}, not the expected {code}",
                    state.exit_code
                )),
                _ if Instant::now() >= deadline => Some(match wait {
                    Wait::Healthy => format!("did not turn healthy within {timeout:?}"),
                    Wait::Exit(code) => {
                        format!("did not exit (expected code {code}) within {timeout:?}")
                    }
                }),
                _ => None,
            };
            if let Some(what) = failure {
                return Err(DockerError::Startup {
                    container: format!("{} ({})", self.name, self.image),
                    what,
                    state: state.to_string(),
                    logs: self.logs_with(&["--tail", LOG_TAIL]),
                });
            }
            std::thread::sleep(POLL);
        }
    }

    fn logs_with(&self, extra: &[&str]) -> String {
        // Not `docker()`: the container's stderr arrives on the CLI's stderr.
        let mut args = vec!["logs"];
        args.extend_from_slice(extra);
        args.push(&self.name);
        match crate::docker::output(&args) {
            Ok(out) if out.status.success() => format!(
                "--- container stdout ---\n{}\n--- container stderr ---\n{}",
                String::from_utf8_lossy(&out.stdout).trim_end(),
                String::from_utf8_lossy(&out.stderr).trim_end()
            ),
            Ok(out) => format!(
                "(no logs: `docker logs {}` failed: {})",
                self.name,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            Err(e) => format!("(no logs: {e})"),
        }
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        // Best effort; silent when `docker run` never created it.
        match docker(&["rm", "--force", "--volumes", &self.name]) {
            Err(DockerError::Failed { stderr, .. }) if stderr.contains("No such container") => {}
            Err(e) => report_leftover(&e),
            Ok(_) => {}
        }
    }
}
