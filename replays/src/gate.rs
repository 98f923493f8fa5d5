//! `replays gate`: the whole CI job in one command — stack up, seed, every
//! replay, down.
//!
//! 1. **check** the replay files (an invalid file or a `--filter` matching
//!    nothing is exit 2 before anything starts); then the run's shard
//!    (`--shard K/N`, [`replay_runner::shard`]) is cut — an empty shard
//!    still brings the stack up and seeds it, and passes;
//! 2. **stack up**: the [embedded](crate::stack::Embedded) stack (default)
//!    or [compose](crate::stack::Compose);
//!    The stack is named: stub version and contract fingerprint, each
//!    tenant's `/buildinfo` sha, compose's images (again at the end);
//! 3. **seed** ([`seed::run`]) into `.seed.env` in a fresh temp folder;
//! 4. **replays** ([`replay_runner::run`]) with that file — the same output, exit
//!    codes and `--junit` / `--json` reports as `replays run`. Seed keys
//!    exported in the environment are ignored (a stale `ALPHA_BASE` must
//!    not beat the stack the gate just seeded). Every replay runs: with
//!    opaque tenants ([`StackChoice::opaque_tenants`]) their reference-only
//!    (`evidence`) steps SKIP; on the embedded reference tenants the run
//!    requires evidence ([`RunOptions::require_evidence`]), so those deeper
//!    checks cannot go missing quietly;
//! 5. **down** (compose: unless `keep_up`).
//!
//! A stack or seed failure is exit 1 with the cause (seed's own message,
//! e.g. which CP variable the tenant was missing), reported like a replay
//! named `gate:stack` / `gate:seed` with result ERROR, so the summary lines
//! and the JUnit / JSON reports exist either way; the services' logs are
//! printed on stderr. On any failure the temp folder (with `.seed.env`) is
//! kept and its path printed. Each phase's time goes to stderr.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::stack::{
    identify, Compose, ComposeOptions, ComposeStack, Embedded, Endpoints, RunningStack, StackError,
    StackIdentity, StackOptions,
};
use replay_runner::{
    human, render_replay, EnvFile, Outcome, ReplayReport, RunError, RunOptions, Selection, Style,
    Summary,
};

/// Default overall timeout of the seed phase: seed's own.
pub const DEFAULT_SEED_TIMEOUT: Duration = contract::defaults::SEED_TIMEOUT;

/// How often seed polls the stack (the stub's journal for a provision
/// call) when the gate runs it: the stack is on this machine, so polling
/// often costs nothing, and seed's 100 ms default is most of its time.
const SEED_POLL_INTERVAL: Duration = Duration::from_millis(20);

/// Which stack the gate brings up.
// Built once per gate run; boxing the options would only make them clumsier to write.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum StackChoice {
    /// cp-stub and both tenants in this process.
    Embedded(StackOptions),
    /// `compose.yml` through docker compose.
    Compose(ComposeOptions),
}

impl StackChoice {
    /// Whether the tenants run opaque ([`StackOptions::opaque_tenants`],
    /// [`ComposeOptions::opaque_tenants`]): then the replays'
    /// reference-only (`evidence`) steps SKIP.
    pub fn opaque_tenants(&self) -> bool {
        match self {
            StackChoice::Embedded(o) => o.opaque_tenants,
            StackChoice::Compose(o) => o.opaque_tenants,
        }
    }

    /// `embedded` or `compose`.
    pub fn label(&self) -> &'static str {
        match self {
            StackChoice::Embedded(_) => "embedded",
            StackChoice::Compose(_) => "compose",
        }
    }
}

/// What `replays gate` does.
#[derive(Debug, Clone)]
pub struct GateOptions {
    /// The stack.
    pub stack: StackChoice,
    /// The replay run: folder, filter, jobs, timeouts, reports, output.
    /// `env_file` is replaced by the gate's own `.seed.env`; `process_env`
    /// (`None`: the real environment) loses its seed keys.
    pub run: RunOptions,
    /// Overall timeout of seed (it also waits for the stack's health).
    pub seed_timeout: Duration,
    /// Where seed writes the env file; `None`: `.seed.env` in a fresh temp
    /// folder (kept on failure, removed on success). A given file is kept.
    pub seed_env_file: Option<PathBuf>,
    /// Print `[gate]` progress and timing lines on stderr.
    pub progress: bool,
}

impl Default for GateOptions {
    fn default() -> Self {
        GateOptions {
            stack: StackChoice::Embedded(StackOptions::default()),
            run: RunOptions::default(),
            seed_timeout: DEFAULT_SEED_TIMEOUT,
            seed_env_file: None,
            progress: true,
        }
    }
}

/// Why the gate could not run at all (exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    /// The replay run is misconfigured (invalid file, filter matching
    /// nothing, unwritable report).
    #[error(transparent)]
    Run(#[from] RunError),
    /// The machine cannot run this stack (no docker / compose, no compose file).
    #[error(transparent)]
    Stack(StackError),
    /// The temp folder for `.seed.env` could not be made.
    #[error("cannot create the gate's temp folder: {0}")]
    Workdir(String),
}

/// One timed phase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phase {
    /// `stack up`, `seed`, `replays`, `down`.
    pub name: &'static str,
    /// How long it took.
    pub duration: Duration,
}

/// What a gate run did.
#[derive(Debug)]
pub struct GateOutcome {
    /// The process exit status: the replays' (0 / 1), 1 when the stack or seed failed.
    pub exit_code: i32,
    /// Timed phases, in order.
    pub phases: Vec<Phase>,
    /// Total wall time.
    pub duration: Duration,
    /// The stack or seed failure, when that is what failed
    /// (`embedded stack: …` / `compose stack: …` / `seed: …`).
    pub failure: Option<String>,
    /// The replays' results (one `gate:stack` / `gate:seed` ERROR when they did not run).
    pub summary: Summary,
    /// The seed outcome, when seed ran.
    pub seed: Option<seed::Outcome>,
    /// The endpoints of the stack, when it came up.
    pub endpoints: Option<Endpoints>,
    /// The env file seed wrote (or was to write).
    pub env_file: PathBuf,
    /// The temp folder holding it, when the gate made one: kept on failure,
    /// removed on success.
    pub workdir: Option<PathBuf>,
    /// Whether `workdir` was kept.
    pub kept: bool,
    /// The services' logs, collected on failure (embedded: the last
    /// [`crate::stack::LOG_TAIL`] log lines of each tenant; compose:
    /// `ps` and `logs`).
    pub logs: Option<String>,
    /// What the stack was (stub version and contract, tenants' builds,
    /// images), when it came up.
    pub stack: Option<StackIdentity>,
}

/// The running stack, either kind.
enum Running {
    Embedded(RunningStack),
    Compose(ComposeStack),
}

impl Running {
    async fn logs(&self) -> String {
        match self {
            Running::Embedded(s) => s.logs(),
            Running::Compose(s) => s.logs().await,
        }
    }

    async fn down(self) -> Result<(), StackError> {
        match self {
            Running::Embedded(s) => {
                s.shutdown().await;
                Ok(())
            }
            Running::Compose(s) => s.down().await,
        }
    }
}

struct Progress {
    on: bool,
}

impl Progress {
    fn say(&self, line: &str) {
        if self.on {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "[gate] {line}");
        }
    }
}

/// What the body of the gate ended with.
enum Body {
    /// The replays ran.
    Ran(Summary),
    /// Stack or seed failed: (synthetic replay name, message).
    Failed(&'static str, String),
    /// The replay run could not run (exit 2).
    RunError(RunError),
}

/// Run the gate. `Err` is exit status 2 (nothing was started, or the
/// replay run is misconfigured); everything else is in the [`GateOutcome`].
pub async fn gate(opts: &GateOptions) -> Result<GateOutcome, GateError> {
    let started = Instant::now();
    let p = Progress { on: opts.progress };
    // Invalid files and filters fail before any stack starts.
    let selected = replay_runner::select(&opts.run)?;
    if opts.stack.opaque_tenants() {
        p.say("opaque tenants: every replay runs; its reference-only steps and checks (`evidence`: /__/tenant/*, running, instance_id) SKIP, counted in the summary");
    }
    // The shard is cut last: a replay's shard depends on its name alone.
    let selection = Selection::new(selected, opts.run.shard);
    let shard = selection.shard;
    let (dir, env_path) = match &opts.seed_env_file {
        Some(p) => (None, p.clone()),
        None => {
            let dir = tempfile::Builder::new()
                .prefix("replays-gate-")
                .tempdir()
                .map_err(|e| GateError::Workdir(e.to_string()))?;
            let path = dir.path().join(contract::defaults::SEED_ENV_FILE);
            (Some(dir), path)
        }
    };
    let mut phases = Vec::new();
    let kind = opts.stack.label();
    let watch = matches!(opts.stack, StackChoice::Compose(_));

    // 1. stack up.
    let t = Instant::now();
    let (running, up_error) = match &opts.stack {
        StackChoice::Embedded(o) => match Embedded::start(o.clone()).await {
            Ok(s) => (Some(Running::Embedded(s)), None),
            Err(e) => (None, Some(e)),
        },
        StackChoice::Compose(o) => match Compose::prepare(o.clone()).await {
            Err(e) if e.is_config() => return Err(GateError::Stack(e)),
            Err(e) => (None, Some(e)),
            Ok(mut s) => {
                let r = unless_interrupted(true, s.up())
                    .await
                    .unwrap_or(Err(StackError::Interrupted));
                (Some(Running::Compose(s)), r.err())
            }
        },
    };
    phases.push(Phase {
        name: "stack up",
        duration: t.elapsed(),
    });
    let endpoints = running.as_ref().map(|r| match r {
        Running::Embedded(s) => s.endpoints().clone(),
        Running::Compose(s) => s.endpoints().clone(),
    });
    let mut identity = None;
    let mut seed_outcome = None;
    let body = match (&up_error, &endpoints) {
        (Some(e), _) => {
            p.say(&format!("stack up FAILED: {e}"));
            Body::Failed("gate:stack", e.to_string())
        }
        (None, None) => Body::Failed("gate:stack", format!("{kind} stack: did not start")),
        (None, Some(ep)) => {
            p.say(&format!(
                "stack up: {kind}: cp-stub {}, alpha {} ({}), beta {} ({}) ({})",
                ep.stub,
                ep.alpha.base,
                ep.alpha.org_id,
                ep.beta.base,
                ep.beta.org_id,
                human(t.elapsed())
            ));
            let images = match &opts.stack {
                StackChoice::Compose(o) => Some((o.stub_image.clone(), o.tenant_image.clone())),
                StackChoice::Embedded(_) => None,
            };
            let id = identify(ep, images).await;
            p.say(&format!(
                "stack: {id}{}",
                if opts.stack.opaque_tenants() {
                    " (opaque tenants)"
                } else {
                    ""
                }
            ));
            identity = Some(id);
            // 2. seed.
            let t = Instant::now();
            let mut seed_config = ep.seed_config(env_path.clone(), opts.seed_timeout);
            seed_config.poll_interval = SEED_POLL_INTERVAL;
            seed_config.stack_id = Some(match &opts.stack {
                StackChoice::Compose(o) => o.project.clone(),
                StackChoice::Embedded(_) => format!("gate-embedded-{}", std::process::id()),
            });
            let seeded = unless_interrupted(watch, seed::run(&seed_config)).await;
            phases.push(Phase {
                name: "seed",
                duration: t.elapsed(),
            });
            match seeded {
                None => Body::Failed("gate:seed", "seed: interrupted".into()),
                Some(Err(e)) => {
                    p.say(&format!("seed FAILED ({}): {e}", human(t.elapsed())));
                    Body::Failed("gate:seed", format!("seed: {e}"))
                }
                Some(Ok(outcome)) => {
                    let how = match outcome.attribution {
                        seed::Attribution::Journal => "in the stub's journal",
                        seed::Attribution::Counters => "by the stub's per-org counters",
                    };
                    p.say(&format!(
                        "seed: {} workspaces provisioned, each tenant's calls attributed to its org {how}; wrote {} ({})",
                        outcome.workspaces.len(),
                        env_path.display(),
                        human(t.elapsed())
                    ));
                    seed_outcome = Some(outcome);
                    // 3. replays.
                    let t = Instant::now();
                    let mut run = opts.run.clone();
                    run.env_file = EnvFile::Path(env_path.clone());
                    // The embedded reference tenants have evidence: a
                    // reference-only step that would skip is a failure.
                    run.require_evidence |=
                        matches!(&opts.stack, StackChoice::Embedded(o) if !o.opaque_tenants);
                    let mut env: BTreeMap<String, String> = run
                        .process_env
                        .take()
                        .unwrap_or_else(|| std::env::vars().collect());
                    let dropped: Vec<&str> = contract::seed_env::KEYS
                        .iter()
                        .filter(|k| env.remove(k.name).is_some())
                        .map(|k| k.name)
                        .collect();
                    if !dropped.is_empty() {
                        p.say(&format!(
                            "ignoring exported {} (the gate's own .seed.env wins)",
                            dropped.join(", ")
                        ));
                    }
                    run.process_env = Some(env);
                    p.say(&format!(
                        "replays: {} in {}{}",
                        selection.replays.len(),
                        run.dir.display(),
                        shard.map_or(String::new(), |s| format!(
                            " (shard {}/{} of {} selected)",
                            s.index, s.count, s.selected
                        ))
                    ));
                    let r = unless_interrupted(watch, replay_runner::run_selected(&run, selection))
                        .await;
                    phases.push(Phase {
                        name: "replays",
                        duration: t.elapsed(),
                    });
                    match r {
                        None => Body::Failed("gate:replays", "replays: interrupted".into()),
                        Some(Ok(s)) => {
                            p.say(&format!(
                                "replays: exit {} ({})",
                                s.exit_code(),
                                human(t.elapsed())
                            ));
                            Body::Ran(s)
                        }
                        Some(Err(e)) => Body::RunError(e),
                    }
                }
            }
        }
    };

    let failed = !matches!(&body, Body::Ran(s) if s.exit_code() == 0);
    // Logs, then down.
    let mut logs = None;
    if let Some(r) = running {
        if failed {
            let text = r.logs().await;
            if opts.progress && !text.trim().is_empty() {
                let mut err = std::io::stderr().lock();
                let _ = writeln!(err, "\n==== [gate] services' logs ({kind} stack) ====");
                let _ = write!(err, "{text}");
                if !text.ends_with('\n') {
                    let _ = writeln!(err);
                }
            }
            logs = Some(text);
        }
        let keep_up = matches!(&opts.stack, StackChoice::Compose(o) if o.keep_up);
        let t = Instant::now();
        let down = r.down().await;
        if !keep_up {
            phases.push(Phase {
                name: "down",
                duration: t.elapsed(),
            });
        }
        match down {
            Ok(()) if keep_up => {}
            Ok(()) => p.say(&format!("down ({})", human(t.elapsed()))),
            Err(e) => p.say(&format!("down FAILED: {e}")),
        }
    }

    let (summary, failure) = match body {
        Body::Ran(s) => (s, None),
        Body::RunError(e) => {
            if let Some(dir) = dir {
                keep_and_say(dir, &p);
            }
            return Err(GateError::Run(e));
        }
        Body::Failed(name, message) => {
            let mut rep = ReplayReport::bare(
                name,
                PathBuf::from(format!("replays gate --stack {kind}")),
                "gate",
                Outcome::Error,
            );
            rep.errors = vec![message.clone()];
            rep.duration = started.elapsed();
            let mut s = Summary {
                replays: vec![rep],
                duration: started.elapsed(),
                shard,
            };
            if opts.run.print {
                let style = Style {
                    color: opts.run.color.enabled(),
                    quiet: opts.run.quiet,
                };
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(render_replay(&s.replays[0], &style).as_bytes());
                let _ = out.flush();
            }
            // The tenant side of the failure in the JUnit (system-out) and
            // JSON reports too; stderr has it already, so not printed twice.
            s.replays[0].output = logs.clone().filter(|t| !t.trim().is_empty());
            replay_runner::end_run(&opts.run, &s)?;
            (s, Some(message))
        }
    };
    let exit_code = summary.exit_code();
    let workdir = dir.as_ref().map(|d| d.path().to_path_buf());
    let kept = exit_code != 0 && dir.is_some();
    if let Some(dir) = dir.filter(|_| kept) {
        keep_and_say(dir, &p);
    }
    if let StackChoice::Compose(o) = &opts.stack {
        if o.keep_up && endpoints.is_some() {
            p.say(&format!(
                "the stack stays up: replays run --env-file {} (CP_STUB_BASE {})",
                env_path.display(),
                endpoints.as_ref().map_or("", |e| e.stub.as_str())
            ));
        }
    }
    if let Some(id) = &identity {
        p.say(&format!("ran against: {id}"));
    }
    let duration = started.elapsed();
    let times: Vec<String> = phases
        .iter()
        .map(|ph| format!("{} {}", ph.name, human(ph.duration)))
        .collect();
    p.say(&format!(
        "total {} ({}), exit {exit_code}",
        human(duration),
        times.join(", ")
    ));
    Ok(GateOutcome {
        exit_code,
        phases,
        duration,
        failure,
        summary,
        seed: seed_outcome,
        endpoints,
        env_file: env_path,
        workdir,
        kept,
        logs,
        stack: identity,
    })
}

fn keep_and_say(dir: tempfile::TempDir, p: &Progress) {
    let path = dir.keep();
    p.say(&format!(
        "kept {} (the .seed.env of this run, when seed got that far)",
        path.display()
    ));
}

/// Wait for a future; with `watch` on, give up on Ctrl-C / SIGTERM
/// (`None`) so the compose stack still goes down. The embedded stack dies
/// with the process, so it installs no signal handler.
async fn unless_interrupted<F: std::future::Future>(watch: bool, fut: F) -> Option<F::Output> {
    if !watch {
        return Some(fut.await);
    }
    tokio::select! {
        r = fut => Some(r),
        () = interrupted() => None,
    }
}

async fn interrupted() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
