//! The compose stack: `compose.yml` driven as a subprocess, with
//! `docker compose` (v2) when it works, else `docker-compose` (1.29).
//!
//! Neither `up --wait` nor `name:` is used (1.29 has neither): readiness is
//! polled here — every service's published port over HTTP (`/healthz`,
//! `/health`) every 25 ms, not Docker's health status, which lags by a
//! healthcheck interval (module `ready`); a service whose container exits
//! fails at once (one `docker ps` every 500 ms while the stack is not up).
//! The compose file, the ports and the image build script
//! (`docker/build-images.sh`) are the ones a manual `docker-compose up`
//! uses, so both bring up the same stack; the images keep their
//! `HEALTHCHECK`s for that manual use and for compose's `depends_on`.
//!
//! Override files (`--compose-file` again, e.g. `compose.real-tenant.yml`)
//! are passed as further `-f`; every invocation gets this run's own
//! `SECRETS_ENCRYPTION_KEY` (32 random bytes, base64, never printed) and
//! `TENANT_DOUBLE_NO_EVIDENCE` ([`ComposeOptions::opaque_tenants`]).
//!
//! Flow: [`Compose::prepare`] (find the tools and check the engine and the
//! images, all at once; build the images when missing) →
//! [`ComposeStack::up`] (`up -d`, wait until every service answers) → …
//! → [`ComposeStack::logs`] on failure → [`ComposeStack::down`] (what
//! `down -v --timeout 0` does, through the docker CLI by compose's labels;
//! module `project`), unless `keep_up`. Every `docker-compose` call starts
//! Python (about half a second on the CI machine), so the gate makes only
//! `up -d` (and, on failure, `ps` and `logs`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use replay_runner::human;
use tokio::process::Command;

use super::project::{self, ContainerState};
use super::ready;
use super::{Endpoints, StackError, TenantEndpoint};

/// The services of `compose.yml`, in start order.
pub const SERVICES: &[&str] = &["cp-stub", "tenant-alpha", "tenant-beta"];
/// Default image of the stub (compose.yml's `CP_STUB_IMAGE`).
pub const DEFAULT_STUB_IMAGE: &str = "cp-harness/cp-stub:local";
/// Default image of both tenants (compose.yml's `TENANT_IMAGE`).
pub const DEFAULT_TENANT_IMAGE: &str = "cp-harness/tenant-double:local";
/// The build script, relative to the compose file's folder.
pub const BUILD_SCRIPT: &str = "docker/build-images.sh";

/// When to run `docker/build-images.sh`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum BuildPolicy {
    /// Only when the stub or tenant image is not present locally.
    #[default]
    IfMissing,
    /// Always (the script is incremental: cargo and the image content hash).
    Always,
    /// Never (a missing image is pulled by compose, or fails).
    Never,
}

/// What the compose stack runs.
#[derive(Debug, Clone)]
pub struct ComposeOptions {
    /// The compose file (its folder is the repository root for the build script).
    pub compose_file: PathBuf,
    /// Override files laid over it, in order (`-f` each after the first),
    /// e.g. `compose.real-tenant.yml`.
    pub extra_compose_files: Vec<PathBuf>,
    /// Run the tenant-double tenants opaque (`TENANT_DOUBLE_NO_EVIDENCE`,
    /// which compose.yml passes through); a real tenant image is opaque anyway.
    pub opaque_tenants: bool,
    /// Compose project name (`-p`).
    pub project: String,
    /// The compose command (`docker compose` or `docker-compose`); `None` = detect.
    pub command: Option<String>,
    /// When to build the images.
    pub build: BuildPolicy,
    /// Leave the stack up afterwards.
    pub keep_up: bool,
    /// How long the services may take to answer HTTP after `up -d`.
    pub up_timeout: Duration,
    /// Host port of the stub (`CP_STUB_PORT`).
    pub stub_port: u16,
    /// Host port of tenant alpha (`ALPHA_PORT`).
    pub alpha_port: u16,
    /// Host port of tenant beta (`BETA_PORT`).
    pub beta_port: u16,
    /// The stub image (`CP_STUB_IMAGE`).
    pub stub_image: String,
    /// The tenants' image (`TENANT_IMAGE`).
    pub tenant_image: String,
    /// Print progress lines on stderr.
    pub progress: bool,
}

impl Default for ComposeOptions {
    fn default() -> Self {
        ComposeOptions {
            compose_file: PathBuf::from("compose.yml"),
            extra_compose_files: Vec::new(),
            opaque_tenants: false,
            project: ComposeOptions::default_project(false),
            command: None,
            build: BuildPolicy::IfMissing,
            keep_up: false,
            up_timeout: Duration::from_secs(120),
            stub_port: contract::defaults::STUB_PORT,
            alpha_port: 8081,
            beta_port: 8082,
            stub_image: DEFAULT_STUB_IMAGE.to_string(),
            tenant_image: DEFAULT_TENANT_IMAGE.to_string(),
            progress: true,
        }
    }
}

impl ComposeOptions {
    /// The project name: `cp-harness` when the stack stays up (so a manual
    /// `docker-compose -p cp-harness down` finds it), else
    /// `cp-harness-gate-<pid>`.
    pub fn default_project(keep_up: bool) -> String {
        if keep_up {
            "cp-harness".to_string()
        } else {
            format!("cp-harness-gate-{}", std::process::id())
        }
    }

    /// What seed and the replays reach: the published ports on 127.0.0.1
    /// and compose.yml's orgs and tokens.
    pub fn endpoints(&self) -> Endpoints {
        Endpoints {
            stub: format!("http://127.0.0.1:{}", self.stub_port),
            alpha: TenantEndpoint {
                label: "alpha",
                base: format!("http://127.0.0.1:{}", self.alpha_port),
                org_id: contract::defaults::ALPHA_ORG_ID.to_string(),
                admin_token: contract::defaults::ALPHA_ADMIN_TOKEN.to_string(),
            },
            beta: TenantEndpoint {
                label: "beta",
                base: format!("http://127.0.0.1:{}", self.beta_port),
                org_id: contract::defaults::BETA_ORG_ID.to_string(),
                admin_token: contract::defaults::BETA_ADMIN_TOKEN.to_string(),
            },
        }
    }
}

/// Prepares the compose stack.
#[derive(Debug, Clone, Copy)]
pub struct Compose;

impl Compose {
    /// Find docker and compose, check the engine answers, and build the
    /// images when the policy says so. Starts nothing.
    pub async fn prepare(opts: ComposeOptions) -> Result<ComposeStack, StackError> {
        for file in std::iter::once(&opts.compose_file).chain(&opts.extra_compose_files) {
            if !file.is_file() {
                return Err(StackError::Tool(format!(
                    "compose file {} not found: run from the repository root or pass --compose-file",
                    file.display()
                )));
            }
        }
        // Engine, compose command and images at once: each check is a
        // subprocess, and the gate's wall time is what they add up to.
        let mut info = Command::new("docker");
        info.arg("info");
        let (engine, command, missing) = tokio::join!(
            quiet_status(&mut info, Duration::from_secs(30)),
            async {
                match &opts.command {
                    Some(c) => Ok(c.split_whitespace().map(str::to_string).collect::<Vec<_>>()),
                    None => detect_compose().await,
                }
            },
            missing_images([&opts.stub_image, &opts.tenant_image]),
        );
        let command = command?;
        if command.is_empty() {
            return Err(StackError::Tool(
                "the compose command is empty (COMPOSE / --compose-command)".into(),
            ));
        }
        if !engine {
            return Err(StackError::Tool(
                "the Docker engine does not answer (`docker info` failed): start dockerd (e.g. `nohup dockerd >/tmp/dockerd.log 2>&1 &`)".into(),
            ));
        }
        let stack = ComposeStack {
            root: opts
                .compose_file
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
            command,
            endpoints: opts.endpoints(),
            opts,
            up: false,
            secrets_key: secrets_key()?,
        };
        stack.build_images(&missing).await?;
        Ok(stack)
    }
}

/// `docker compose` (v2) when `docker compose version` works, else
/// `docker-compose` when it is on `PATH`. Not `docker-compose version`:
/// that is a Python start of about half a second, and a broken install
/// fails `up -d` with its own output anyway.
async fn detect_compose() -> Result<Vec<String>, StackError> {
    let v2 = quiet_status(
        Command::new("docker").args(["compose", "version"]),
        Duration::from_secs(20),
    )
    .await;
    if v2 {
        return Ok(vec!["docker".into(), "compose".into()]);
    }
    if on_path("docker-compose") {
        return Ok(vec!["docker-compose".into()]);
    }
    Err(StackError::Tool(
        "neither `docker compose` nor `docker-compose` works: install one (Debian: apt-get install -y docker-compose) or set COMPOSE".into(),
    ))
}

/// Whether an executable file `name` is in one of `PATH`'s folders.
fn on_path(name: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            std::fs::metadata(dir.join(name))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    })
}

/// The images of `images` that are not present locally (`docker image
/// inspect`, both at once).
async fn missing_images(images: [&String; 2]) -> Vec<String> {
    let present = |image: &String| {
        let image = image.clone();
        async move {
            let ok = quiet_status(
                Command::new("docker").args(["image", "inspect", &image]),
                Duration::from_secs(30),
            )
            .await;
            (!ok).then_some(image)
        }
    };
    let (a, b) = tokio::join!(present(images[0]), present(images[1]));
    a.into_iter().chain(b).collect()
}

/// Whether a command exits 0 (output discarded).
async fn quiet_status(cmd: &mut Command, timeout: Duration) -> bool {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    matches!(tokio::time::timeout(timeout, cmd.status()).await, Ok(Ok(s)) if s.success())
}

/// The last `n` lines of a command's output.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// A fresh `SECRETS_ENCRYPTION_KEY` for this run: 32 random bytes from the
/// OS, base64 (what `openssl rand -base64 32` gives). The real tenant
/// refuses to boot without one; it is passed to compose in the env only,
/// never printed.
fn secrets_key() -> Result<String, StackError> {
    use base64::Engine as _;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| {
        StackError::Tool(format!("no OS randomness for SECRETS_ENCRYPTION_KEY: {e}"))
    })?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// A compose stack (prepared; up after [`ComposeStack::up`]).
#[derive(educe::Educe)]
#[educe(Debug)]
pub struct ComposeStack {
    opts: ComposeOptions,
    root: PathBuf,
    command: Vec<String>,
    endpoints: Endpoints,
    up: bool,
    /// `SECRETS_ENCRYPTION_KEY` of this run.
    #[educe(Debug(method(contract::redact::debug_masked)))]
    secrets_key: String,
}

impl ComposeStack {
    /// URLs, orgs and tokens (published ports on 127.0.0.1).
    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// The compose command line prefix, e.g. `docker-compose -f compose.yml -p cp-harness-gate-42`.
    pub fn command_line(&self) -> String {
        let files: Vec<String> = self
            .files()
            .map(|f| format!("-f {}", f.display()))
            .collect();
        format!(
            "{} {} -p {}",
            self.command.join(" "),
            files.join(" "),
            self.opts.project
        )
    }

    /// The compose file, then the overrides.
    fn files(&self) -> impl Iterator<Item = &PathBuf> {
        std::iter::once(&self.opts.compose_file).chain(&self.opts.extra_compose_files)
    }

    /// The options.
    pub fn options(&self) -> &ComposeOptions {
        &self.opts
    }

    fn say(&self, line: &str) {
        if self.opts.progress {
            eprintln!("[gate] {line}");
        }
    }

    fn compose(&self) -> Command {
        let mut cmd = Command::new(&self.command[0]);
        cmd.args(&self.command[1..]);
        for file in self.files() {
            cmd.arg("-f").arg(file);
        }
        cmd.arg("-p")
            .arg(&self.opts.project)
            .env(
                "TENANT_DOUBLE_NO_EVIDENCE",
                if self.opts.opaque_tenants {
                    "true"
                } else {
                    "false"
                },
            )
            .env("SECRETS_ENCRYPTION_KEY", &self.secrets_key)
            .env("CP_STUB_PORT", self.opts.stub_port.to_string())
            .env("ALPHA_PORT", self.opts.alpha_port.to_string())
            .env("BETA_PORT", self.opts.beta_port.to_string())
            .env("CP_STUB_IMAGE", &self.opts.stub_image)
            .env("TENANT_IMAGE", &self.opts.tenant_image)
            .stdin(Stdio::null())
            .kill_on_drop(true);
        cmd
    }

    /// Run a compose subcommand; its output is returned (and named in the error).
    async fn run(&self, args: &[&str], timeout: Duration) -> Result<String, StackError> {
        let line = format!("{} {}", self.command_line(), args.join(" "));
        let mut cmd = self.compose();
        cmd.args(args);
        let out = tokio::time::timeout(timeout, cmd.output())
            .await
            .map_err(|_| StackError::Command {
                command: line.clone(),
                status: format!("no answer in {} s", timeout.as_secs()),
                output: String::new(),
            })?
            .map_err(|e| StackError::Command {
                command: line.clone(),
                status: e.to_string(),
                output: String::new(),
            })?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if out.status.success() {
            Ok(text)
        } else {
            let t = tail(&text, 40);
            Err(StackError::Command {
                command: line,
                status: out.status.to_string(),
                output: if t.is_empty() {
                    String::new()
                } else {
                    format!(":\n{t}")
                },
            })
        }
    }

    /// Run `docker/build-images.sh` when the policy says so (its output
    /// goes to stderr); `missing` are the images not present.
    async fn build_images(&self, missing: &[String]) -> Result<(), StackError> {
        let build = match self.opts.build {
            BuildPolicy::Always => true,
            BuildPolicy::Never => false,
            BuildPolicy::IfMissing => !missing.is_empty(),
        };
        if !build {
            if missing.is_empty() {
                self.say(&format!(
                    "images present: {}, {} (--build always rebuilds)",
                    self.opts.stub_image, self.opts.tenant_image
                ));
            } else {
                self.say(&format!(
                    "images missing: {}; compose will try to pull them (--build if-missing builds them)",
                    missing.join(", ")
                ));
            }
            return Ok(());
        }
        let script = self.root.join(BUILD_SCRIPT);
        if !script.is_file() {
            return Err(StackError::Tool(format!(
                "{} not found: the images {} must be built (run from the repository root, or build them and pass --build never)",
                script.display(),
                missing.join(", ")
            )));
        }
        self.say(&format!(
            "building images with {} ({})",
            script.display(),
            if missing.is_empty() {
                "--build always".to_string()
            } else {
                format!("missing: {}", missing.join(", "))
            }
        ));
        let mut cmd = Command::new("bash");
        cmd.arg(&script)
            .current_dir(&self.root)
            .env("CP_STUB_IMAGE", &self.opts.stub_image)
            .env("TENANT_DOUBLE_IMAGE", &self.opts.tenant_image)
            .stdin(Stdio::null())
            .stdout(stderr_stdio())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        let status = cmd.status().await.map_err(|e| StackError::Command {
            command: format!("bash {}", script.display()),
            status: e.to_string(),
            output: String::new(),
        })?;
        if status.success() {
            Ok(())
        } else {
            Err(StackError::Command {
                command: format!("bash {}", script.display()),
                status: status.to_string(),
                output: " (its output is above)".into(),
            })
        }
    }

    /// `up -d`, then wait until every service answers HTTP.
    pub async fn up(&mut self) -> Result<(), StackError> {
        self.say(&format!("{} up -d", self.command_line()));
        self.up = true;
        let t = Instant::now();
        self.run(
            &["up", "-d"],
            self.opts.up_timeout + Duration::from_secs(60),
        )
        .await?;
        self.say(&format!("up -d returned ({})", human(t.elapsed())));
        self.wait_ready().await
    }

    fn health_url(&self, service: &str) -> String {
        match service {
            "cp-stub" => format!("{}/healthz", self.endpoints.stub),
            "tenant-alpha" => format!("{}/health", self.endpoints.alpha.base),
            _ => format!("{}/health", self.endpoints.beta.base),
        }
    }

    /// Wait until every service answers HTTP on its published port
    /// (module [`super::ready`]); a service whose container exits fails
    /// the wait at once, one that never answers after `up_timeout`.
    async fn wait_ready(&self) -> Result<(), StackError> {
        let started = Instant::now();
        let deadline = started + self.opts.up_timeout;
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .map_err(|e| StackError::Tool(format!("HTTP client: {e}")))?;
        let urls = SERVICES.iter().map(|s| self.health_url(s)).collect();
        let (mut probes, last_probe) = ready::spawn_probes(&client, urls);
        let mut ready = [false; SERVICES.len()];
        let mut states: Option<BTreeMap<String, ContainerState>> = None;
        let mut next_state = started + ready::FIRST_STATE_CHECK;
        let mut next_report = started + Duration::from_secs(5);
        let summary = |ready: &[bool], states: &Option<BTreeMap<String, ContainerState>>| {
            let probes = last_probe.lock().map(|l| l.clone()).unwrap_or_default();
            SERVICES
                .iter()
                .enumerate()
                .map(|(i, svc)| {
                    if ready[i] {
                        return format!("{svc}=ready");
                    }
                    let s = states
                        .as_ref()
                        .and_then(|m| m.get(*svc).cloned())
                        .unwrap_or_else(ContainerState::missing);
                    match probes.get(i) {
                        Some(p) => format!("{svc}={}/{} ({p})", s.status, s.health),
                        None => format!("{svc}={}/{}", s.status, s.health),
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        };
        loop {
            let wake = next_state.min(deadline).min(next_report);
            tokio::select! {
                done = probes.join_next() => {
                    // A probe task ends only when its service answered
                    // (`None`: all ended, which the `all` below caught).
                    let i = done
                        .and_then(Result::ok)
                        .ok_or_else(|| StackError::Tool("a readiness probe died".into()))?;
                    ready[i] = true;
                    if ready.iter().all(|r| *r) {
                        self.say(&format!(
                            "healthy in {} (every service answers HTTP on its published port): {}",
                            human(started.elapsed()),
                            summary(&ready, &None)
                        ));
                        return Ok(());
                    }
                }
                () = tokio::time::sleep_until(wake.into()) => {
                    let now = Instant::now();
                    if now >= next_state || now >= deadline {
                        if let Some(s) = project::container_states(&self.opts.project).await {
                            stopped(&s)?;
                            states = Some(s);
                        }
                        next_state = Instant::now() + ready::STATE_INTERVAL;
                    }
                    if now >= deadline {
                        return Err(StackError::Unhealthy {
                            waited_s: started.elapsed().as_secs(),
                            summary: summary(&ready, &states),
                        });
                    }
                    if now >= next_report {
                        self.say(&format!("waiting: {}", summary(&ready, &states)));
                        next_report = now + Duration::from_secs(5);
                    }
                }
            }
        }
    }

    /// `ps` and the last 200 log lines of each service.
    pub async fn logs(&self) -> String {
        let mut out = String::new();
        match self.run(&["ps"], Duration::from_secs(30)).await {
            Ok(t) | Err(StackError::Command { output: t, .. }) => out.push_str(&t),
            Err(e) => out.push_str(&e.to_string()),
        }
        for svc in SERVICES {
            out.push_str(&format!("\n---- logs: {svc} (last 200 lines) ----\n"));
            match self
                .run(
                    &["logs", "--no-color", "--tail=200", svc],
                    Duration::from_secs(30),
                )
                .await
            {
                Ok(t) => out.push_str(&t),
                Err(e) => out.push_str(&e.to_string()),
            }
        }
        out
    }

    /// Take the stack down as `down -v --timeout 0` would (nothing when
    /// `keep_up`, or when `up` never ran): the containers are killed, not
    /// asked to drain — the gate is done with them (their logs were read
    /// on failure) and throws the stack away with its volumes, so a grace
    /// period only costs time. Done with the `docker` CLI by compose's
    /// labels ([`project::remove`]), which skips compose's own start-up;
    /// should a docker call fail, compose's `down -v --timeout 0` runs.
    pub async fn down(&self) -> Result<(), StackError> {
        if !self.up {
            return Ok(());
        }
        if self.opts.keep_up {
            self.say(&format!(
                "KEEP_UP=1: the stack stays up (project {}); take it down with: {} down -v",
                self.opts.project,
                self.command_line()
            ));
            return Ok(());
        }
        if let Err(why) = project::remove(&self.opts.project).await {
            self.say(&format!(
                "removing the containers failed ({why}); compose down instead"
            ));
            self.run(&["down", "-v", "--timeout", "0"], Duration::from_secs(120))
                .await?;
        }
        Ok(())
    }
}

/// The first service of [`SERVICES`] whose container stopped, as the error.
fn stopped(states: &BTreeMap<String, ContainerState>) -> Result<(), StackError> {
    for svc in SERVICES {
        if let Some(st) = states.get(*svc).filter(|st| st.stopped()) {
            return Err(StackError::Exited {
                service: (*svc).to_string(),
                code: st.code.clone(),
            });
        }
    }
    Ok(())
}

/// A `Stdio` writing to this process's stderr (keeps stdout for the replays' output).
fn stderr_stdio() -> Stdio {
    use std::os::fd::AsFd;
    match std::io::stderr().as_fd().try_clone_to_owned() {
        Ok(fd) => Stdio::from(fd),
        Err(_) => Stdio::inherit(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_and_project() {
        let o = ComposeOptions {
            stub_port: 19090,
            ..ComposeOptions::default()
        };
        let e = o.endpoints();
        assert_eq!(e.stub, "http://127.0.0.1:19090");
        assert_eq!(e.alpha.org_id, "org-alpha");
        assert_eq!(ComposeOptions::default_project(true), "cp-harness");
        assert!(ComposeOptions::default_project(false).starts_with("cp-harness-gate-"));
        assert_eq!(tail("a\nb\nc", 2), "b\nc");
    }
}
