//! The engine: select replays, preflight them, schedule them over `--jobs`
//! workers with the shared/exclusive lock, run, report.

pub(crate) mod bundle;
pub(crate) mod capture;
pub(crate) mod ctx;
pub(crate) mod execution;
pub(crate) mod expect;
pub(crate) mod mask;
pub(crate) mod poll;
pub(crate) mod preflight;
pub(crate) mod replay;
pub(crate) mod request;
pub(crate) mod scoped;
pub(crate) mod shell;
pub(crate) mod stub;
pub(crate) mod vars;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use crate::format::{self, Kind, LoadError, Replay};
use crate::report::text::{render_replay, render_summary, ColorChoice, Style};
use crate::report::{Outcome, ReplayReport, Summary};
use crate::shard::{Selection, Shard};

use self::ctx::{shell_quote, Ctx};
use self::mask::Secrets;
use self::vars::{EnvFile, Resolver, VarsError};

/// Default per-replay timeout.
pub const DEFAULT_REPLAY_TIMEOUT: Duration = Duration::from_secs(60);
/// Default per-step (per-request) timeout.
pub const DEFAULT_STEP_TIMEOUT: Duration = Duration::from_secs(10);
/// Default replay folder.
pub const DEFAULT_DIR: &str = "replays/cases";

/// What `replays run` does. `gate` builds one of these too.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Replay folder.
    pub dir: PathBuf,
    /// Env file choice.
    pub env_file: EnvFile,
    /// `--var NAME=VALUE` values.
    pub vars: Vec<(String, String)>,
    /// The process environment to use (`None`: the real one).
    pub process_env: Option<BTreeMap<String, String>>,
    /// Only replays whose name contains this.
    pub filter: Option<String>,
    /// Only the replays of this shard (applied after `filter`; see
    /// [`crate::shard`]).
    pub shard: Option<Shard>,
    /// Parallel workers (at least 1).
    pub jobs: usize,
    /// Stop starting replays after the first failure.
    pub fail_fast: bool,
    /// Per-replay timeout (a replay's `timeout` overrides it).
    pub replay_timeout: Duration,
    /// Per-step timeout (a request's `timeout` overrides it).
    pub step_timeout: Duration,
    /// Write a JUnit XML report here.
    pub junit: Option<PathBuf>,
    /// Write a JSON report here.
    pub json: Option<PathBuf>,
    /// Colour.
    pub color: ColorChoice,
    /// Only failures and result lines.
    pub quiet: bool,
    /// Print to stdout (off for callers that only want the [`Summary`]).
    pub print: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            dir: PathBuf::from(DEFAULT_DIR),
            env_file: EnvFile::Default,
            vars: Vec::new(),
            process_env: None,
            filter: None,
            shard: None,
            jobs: 1,
            fail_fast: false,
            replay_timeout: DEFAULT_REPLAY_TIMEOUT,
            step_timeout: DEFAULT_STEP_TIMEOUT,
            junit: None,
            json: None,
            color: ColorChoice::Auto,
            quiet: false,
            print: true,
        }
    }
}

/// Why a run could not start or finish (exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Replay files could not be loaded or are invalid.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// Variables could not be loaded.
    #[error(transparent)]
    Vars(#[from] VarsError),
    /// Nothing to run.
    #[error("{0}")]
    NothingToRun(String),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    /// A report file could not be written.
    #[error("cannot write report {path}: {reason}")]
    Report {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// Select the replays of a run (after loading and checking every file):
/// those `filter` matches; [`Selection::new`] then cuts them to `shard`.
pub fn select(opts: &RunOptions) -> Result<Vec<Replay>, RunError> {
    let all = format::load_dir(&opts.dir)?;
    if all.is_empty() {
        // The same message as `check`'s.
        return Err(RunError::NothingToRun(
            LoadError::Empty(opts.dir.clone()).to_string(),
        ));
    }
    let selected: Vec<Replay> = match &opts.filter {
        Some(f) => all
            .iter()
            .filter(|r| r.name.contains(f.as_str()))
            .cloned()
            .collect(),
        None => all.clone(),
    };
    if selected.is_empty() {
        let names: Vec<&str> = all.iter().map(|r| r.name.as_str()).collect();
        return Err(RunError::NothingToRun(format!(
            "no replay name contains `{}` (replays in {}: {})",
            opts.filter.as_deref().unwrap_or(""),
            opts.dir.display(),
            names.join(", ")
        )));
    }
    Ok(selected)
}

/// Run replays: the library form of `replays run`.
///
/// Prints one block per replay as it finishes and the summary (unless
/// `print` is off), writes the reports, and returns the [`Summary`]; its
/// [`Summary::exit_code`] is the process exit status. `Err` is a usage or
/// configuration problem (exit status 2).
pub async fn run(opts: &RunOptions) -> Result<Summary, RunError> {
    run_inner(opts, None).await
}

/// [`run`] of replays already [`select`]ed and sharded (the gate selects
/// before any stack starts, and does not read the files twice); the
/// selection's shard is the run's, whatever `opts.shard` says.
pub async fn run_selected(opts: &RunOptions, selection: Selection) -> Result<Summary, RunError> {
    run_inner(opts, Some(selection)).await
}

async fn run_inner(opts: &RunOptions, selected: Option<Selection>) -> Result<Summary, RunError> {
    let started = Instant::now();
    let process_env = opts
        .process_env
        .clone()
        .unwrap_or_else(|| std::env::vars().collect());
    let resolver = Resolver::load(&opts.env_file, &opts.vars, process_env)?;
    let selection = match selected {
        Some(selection) => selection,
        None => Selection::new(select(opts)?, opts.shard),
    };
    if let (true, Some(note)) = (opts.print, selection.note()) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{note}");
        let _ = out.flush();
    }
    let Selection {
        replays,
        shard: shard_info,
    } = selection;
    let client = request::client().map_err(|e| RunError::Client(e.to_string()))?;
    let ctx = Arc::new(Ctx::new(
        client,
        resolver,
        opts.replay_timeout,
        opts.step_timeout,
        rerun_command(opts),
    ));
    let style = Style {
        color: opts.color.enabled(),
        quiet: opts.quiet,
    };
    let workers = Arc::new(Semaphore::new(opts.jobs.max(1)));
    let stop = Arc::new(AtomicBool::new(false));
    let mut set = tokio::task::JoinSet::new();
    for (i, r) in replays.iter().cloned().enumerate() {
        let ctx = ctx.clone();
        let workers = workers.clone();
        let stop = stop.clone();
        let fail_fast = opts.fail_fast;
        let print = opts.print;
        // Permits are taken here, in file order, so replays start in order
        // (with --jobs 1 the run is strictly sequential and deterministic).
        let permit = workers.acquire_owned().await;
        set.spawn(async move {
            let _permit = permit;
            let report = if stop.load(Ordering::SeqCst) {
                let mut rep =
                    ReplayReport::bare(&r.name, r.path.clone(), kind_label(&r), Outcome::Skip);
                rep.reason =
                    Some("not run: --fail-fast stopped the run after a failure".to_string());
                rep
            } else {
                let mut rep = run_one(&ctx, &r, ctx.replay_id(i + 1)).await;
                ctx.secrets().report(&mut rep);
                rep
            };
            if fail_fast && report.outcome.is_failure() {
                stop.store(true, Ordering::SeqCst);
            }
            if print {
                let text = render_replay(&report, &style);
                let text = ctx.secrets().mask(&text).into_owned();
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(text.as_bytes());
                let _ = out.flush();
            }
            (i, report)
        });
    }
    let mut reports: Vec<(usize, ReplayReport)> = Vec::new();
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(x) => reports.push(x),
            Err(e) => {
                // A panic inside a replay is a bug of the runner; report it as an ERROR.
                let mut rep =
                    ReplayReport::bare("(runner)", PathBuf::new(), "toml", Outcome::Error);
                rep.errors = vec![format!("internal error: {e}")];
                reports.push((usize::MAX, rep));
            }
        }
    }
    reports.sort_by_key(|(i, _)| *i);
    let mut summary = Summary {
        replays: reports.into_iter().map(|(_, r)| r).collect(),
        duration: started.elapsed(),
        shard: shard_info,
    };
    // Once more with every secret of the run: one captured by a later
    // replay may have shown up in an earlier one.
    let secrets = ctx.secrets();
    secrets.summary(&mut summary);
    finish_run(opts, &summary, &secrets)?;
    Ok(summary)
}

/// The end of every run: the summary on stdout (unless `print` is off),
/// then the reports, every text in them masked with the secret values of
/// the run's variables.
pub fn end_run(opts: &RunOptions, summary: &Summary) -> Result<(), RunError> {
    let process_env = opts
        .process_env
        .clone()
        .unwrap_or_else(|| std::env::vars().collect());
    // A caller's own summary (the gate's, when nothing could run): the
    // variables as far as they can be read; an unreadable env file was
    // reported already.
    let secrets = Resolver::load(&opts.env_file, &opts.vars, process_env)
        .map(|r| r.secrets().clone())
        .unwrap_or_default();
    let mut summary = summary.clone();
    secrets.summary(&mut summary);
    finish_run(opts, &summary, &secrets)
}

fn finish_run(opts: &RunOptions, summary: &Summary, secrets: &Secrets) -> Result<(), RunError> {
    if opts.print {
        print!("{}", secrets.mask(&render_summary(summary)));
        let _ = std::io::stdout().flush();
    }
    write_reports(opts, summary, secrets)
}

fn kind_label(r: &Replay) -> &'static str {
    match r.kind {
        Kind::Toml(_) => "toml",
        Kind::Shell(_) => "sh",
    }
}

async fn run_one(ctx: &Ctx, r: &Replay, replay_id: String) -> ReplayReport {
    if let Some(reason) = &r.skip {
        let mut rep = ReplayReport::bare(&r.name, r.path.clone(), kind_label(r), Outcome::Skip);
        rep.reason = Some(reason.clone());
        return rep;
    }
    let timeout = match &r.kind {
        Kind::Toml(t) => t.doc.timeout.map_or(ctx.replay_timeout, |d| d.get()),
        Kind::Shell(_) => ctx.replay_timeout,
    };
    let grace = timeout + Duration::from_secs(30);
    let fut = async {
        match &r.kind {
            Kind::Toml(t) => replay::run_toml(ctx, r, t, replay_id).await,
            Kind::Shell(s) => shell::run_shell(ctx, r, s, replay_id).await,
        }
    };
    // Every wait inside is bounded by the replay's deadline; this is a backstop.
    match tokio::time::timeout(grace, fut).await {
        Ok(rep) => rep,
        Err(_) => {
            let mut rep = ReplayReport::bare(&r.name, r.path.clone(), kind_label(r), Outcome::Fail);
            rep.errors = vec!["timed out (runner backstop)".to_string()];
            rep
        }
    }
}

/// `replays run` with the options that find the same replays and variables
/// again; a failing replay's bundle adds its `--filter`.
fn rerun_command(opts: &RunOptions) -> String {
    let mut rerun = format!(
        "replays run --dir {}",
        shell_quote(&opts.dir.display().to_string())
    );
    if let EnvFile::Path(p) = &opts.env_file {
        rerun.push_str(&format!(
            " --env-file {}",
            shell_quote(&p.display().to_string())
        ));
    }
    rerun
}

/// Write the `--junit` / `--json` reports of a run. The summary's texts
/// are masked already; the JSON document is masked once more string by
/// string (so it stays valid JSON whatever a secret looks like).
fn write_reports(opts: &RunOptions, summary: &Summary, secrets: &Secrets) -> Result<(), RunError> {
    let write = |path: &PathBuf, content: Result<String, String>| -> Result<(), RunError> {
        let content = content.map_err(|reason| RunError::Report {
            path: path.clone(),
            reason,
        })?;
        // A report folder that does not exist yet (target/ci/…) is made.
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| RunError::Report {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        }
        std::fs::write(path, content).map_err(|e| RunError::Report {
            path: path.clone(),
            reason: e.to_string(),
        })
    };
    if let Some(p) = &opts.junit {
        write(
            p,
            crate::report::junit::to_junit(summary).map_err(|e| e.to_string()),
        )?;
    }
    if let Some(p) = &opts.json {
        let doc = crate::report::json::to_json(summary)
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text))
            .and_then(|mut v| {
                secrets.json(&mut v);
                serde_json::to_string_pretty(&v)
            });
        write(p, doc.map_err(|e| e.to_string()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn run_dir(files: &[(&str, &str)], base: &str) -> Summary {
        let dir = tempfile::tempdir().unwrap();
        for (name, src) in files {
            std::fs::write(dir.path().join(name), src).unwrap();
        }
        run(&RunOptions {
            dir: dir.path().to_path_buf(),
            env_file: EnvFile::Disabled,
            process_env: Some(BTreeMap::from([(
                "CP_STUB_BASE".to_string(),
                base.to_string(),
            )])),
            print: false,
            ..RunOptions::default()
        })
        .await
        .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn library_run_and_reset_between_baseline_and_check() {
        let stub = cp_stub::start(cp_stub::Config {
            port: 0,
            ..Default::default()
        })
        .await
        .unwrap();
        let base = stub.base_url();
        let s = run_dir(
            &[
                (
                    "a.toml",
                    r#"name = "reset-in-between"
owns_stub = true
[[step]]
name = "first"
request = { url = "${CP_STUB_BASE}/cp/auth/me" }
[[step]]
name = "reset"
request = { method = "POST", url = "${CP_STUB_BASE}/__/stub/reset" }
expect.counters = [{ counter = "auth_me_calls", delta = 1, since = "first" }]
"#,
                ),
                (
                    "b.toml",
                    r#"name = "plain"
[[step]]
request = { url = "${CP_STUB_BASE}/healthz" }
expect.status = 200
"#,
                ),
            ],
            &base,
        )
        .await;
        assert_eq!(s.replays.len(), 2);
        let a = &s.replays[0];
        assert_eq!(a.outcome, Outcome::Fail);
        let check = &a.steps[1].checks[0];
        assert!(
            check
                .actual
                .as_deref()
                .unwrap()
                .contains("the stub was reset after the baseline"),
            "{check:?}"
        );
        assert!(a.bundle.is_some());
        assert_eq!(s.replays[1].outcome, Outcome::Pass);
        assert_eq!(s.exit_code(), 1);
        stub.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_exact_count_of_an_org_beyond_the_stubs_cap_is_an_error_naming_it() {
        let stub = cp_stub::start(cp_stub::Config {
            port: 0,
            orgs_cap: 1,
            ..Default::default()
        })
        .await
        .unwrap();
        let base = stub.base_url();
        let s = run_dir(
            &[(
                "a.toml",
                r#"name = "overflowed-org"
[[step]]
name = "fill"
request = { url = "${CP_STUB_BASE}/cp/auth/me", headers = { X-Molecule-Org-Id = "org-first" } }
[[step]]
name = "lost"
request = { url = "${CP_STUB_BASE}/cp/auth/me", headers = { X-Molecule-Org-Id = "org-second" } }
expect.counters = [{ counter = "auth_me_calls", delta = 1, org = "org-second", since = "fill" }]
"#,
            )],
            &base,
        )
        .await;
        let a = &s.replays[0];
        assert_eq!(a.outcome, Outcome::Error, "{a:?}");
        let text = format!("{a:?}");
        assert!(
            text.contains("org-scope map (CP_STUB_ORGS_CAP=1) evicted entries during this step; the count for org org-second is lost"),
            "{text}"
        );
        stub.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_summary_holds_no_secret() {
        let stub = cp_stub::start(cp_stub::Config {
            port: 0,
            ..Default::default()
        })
        .await
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("s.toml"),
            r#"name = "leaky"
[vars]
LOCAL_SECRET = "local-s3cret"
[[step]]
request = { method = "POST", url = "${CP_STUB_BASE}/cp/tenants/config?q=${RUN_TOKEN}", headers = { X-Echo = "${LOCAL_SECRET}" }, json = { env = { ADMIN_TOKEN = "literal-s3cret" }, plain = "${RUN_TOKEN}" } }
expect.status = 599
"#,
        )
        .unwrap();
        let s = run(&RunOptions {
            dir: dir.path().to_path_buf(),
            env_file: EnvFile::Disabled,
            process_env: Some(BTreeMap::from([
                ("CP_STUB_BASE".to_string(), stub.base_url()),
                ("RUN_TOKEN".to_string(), "run-s3cret".to_string()),
            ])),
            print: false,
            ..RunOptions::default()
        })
        .await
        .unwrap();
        assert_eq!(s.replays[0].outcome, Outcome::Fail);
        let text = format!(
            "{}{}{}",
            render_replay(&s.replays[0], &Style::default()),
            crate::report::json::to_json(&s).unwrap(),
            crate::report::junit::to_junit(&s).unwrap()
        );
        for secret in ["run-s3cret", "local-s3cret", "literal-s3cret"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert!(text.contains("reproduce: curl"), "{text}");
        stub.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn nothing_to_run_is_a_configuration_error() {
        let dir = tempfile::tempdir().unwrap();
        let e = run(&RunOptions {
            dir: dir.path().to_path_buf(),
            env_file: EnvFile::Disabled,
            print: false,
            ..RunOptions::default()
        })
        .await
        .unwrap_err();
        assert!(matches!(e, RunError::NothingToRun(_)), "{e}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_replay_scope_evicted_during_the_step_is_an_error_naming_the_bound() {
        let stub = cp_stub::start(cp_stub::Config {
            port: 0,
            max_replay_scopes: 1,
            ..Default::default()
        })
        .await
        .unwrap();
        let base = stub.base_url();
        let c = reqwest::Client::builder().no_proxy().build().unwrap();
        // The replay's call waits 400 ms at the stub, while other replays' calls
        // (bounded: 3 s at most) keep evicting from the one-entry map.
        let fault = serde_json::json!({"route": "auth_me", "org": "slow", "delay_ms": 400});
        let r = c
            .post(format!("{base}/__/stub/faults"))
            .json(&fault)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 201);
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let others = {
            let (c, base, stop) = (c.clone(), base.clone(), stop.clone());
            tokio::spawn(async move {
                for n in 0..300 {
                    if stop.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                    let _ = c
                        .get(format!("{base}/cp/auth/me"))
                        .header("X-Replay-Id", format!("other-{n}"))
                        .send()
                        .await;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            })
        };
        let s = run_dir(
            &[(
                "a.toml",
                r#"name = "evicted"
[[step]]
request = { url = "${CP_STUB_BASE}/cp/auth/me", headers = { X-Molecule-Org-Id = "slow" } }
expect.counters = [{ counter = "auth_me_calls", delta = 1, replay = true }]
"#,
            )],
            &base,
        )
        .await;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        others.await.unwrap();
        let a = &s.replays[0];
        assert_eq!(a.outcome, Outcome::Error, "{a:?}");
        let text = format!("{a:?}");
        assert!(
            text.contains("the stub's replay-scope map (CP_STUB_MAX_REPLAY_SCOPES=1) evicted entries during this step; the count for replay rp-"),
            "{text}"
        );
        assert!(text.contains("is lost — raise the bound"), "{text}");
        stub.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_check_on_a_journal_page_that_lost_entries_is_an_error_a_passing_one_passes()
    {
        let stub = cp_stub::start(cp_stub::Config {
            port: 0,
            journal_capacity: 2,
            ..Default::default()
        })
        .await
        .unwrap();
        let base = stub.base_url();
        let replay = |name: &str, want: u64| {
            format!(
                r#"name = "{name}"
[[step]]
request = {{ url = "${{CP_STUB_BASE}}/cp/auth/me" }}
[[step]]
request = {{ url = "${{CP_STUB_BASE}}/cp/auth/me" }}
[[step]]
request = {{ url = "${{CP_STUB_BASE}}/cp/auth/me" }}
[[step]]
name = "journal"
request = {{ url = "${{CP_STUB_BASE}}/__/stub/requests?replay=${{REPLAY_ID}}" }}
expect.json = [{{ path = "$.entries", length = {want} }}]
"#
            )
        };
        let (lost, kept) = (replay("wants-3", 3), replay("wants-2", 2));
        let s = run_dir(&[("a.toml", &lost), ("b.toml", &kept)], &base).await;
        let a = &s.replays[0];
        assert_eq!(a.outcome, Outcome::Error, "{a:?}");
        let why = a.steps[3].error.clone().unwrap_or_default();
        assert!(why.contains("the journal page may miss entries"), "{why}");
        assert!(
            why.contains("CP_STUB_JOURNAL_CAPACITY=2")
                && why.contains("dropped 1 entries of replay=rp-"),
            "{why}"
        );
        assert_eq!(s.replays[1].outcome, Outcome::Pass, "{:?}", s.replays[1]);
        stub.shutdown().await;
    }
}
