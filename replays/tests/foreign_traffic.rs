//! The gate's replays stay exact beside traffic that is not theirs (issue
//! 10): the embedded stack comes up once, then the gate's work — seed,
//! then every replay with `--jobs 4` — runs 20 times while a concurrent
//! client sends at least 500 requests/s
//! of mixed foreign traffic to the same stub — another org's provisions,
//! status calls as a health sweep makes them, unknown `/cp/*` routes,
//! admin reads. 0 red is required, and so is the rate: a generator that fell
//! short fails the test (it could not have shown anything).
//!
//! Also: the unscoped form of a shipped expectation is moved by that
//! traffic (so the scopes are what keeps the runs green).
//!
//! Real loopback sockets, in-process servers; the generator is bounded in
//! count and in time.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use replay_runner::{render_replay, ColorChoice, EnvFile, Outcome, RunOptions, Style, Summary};
use replays::stack::{Embedded, RunningStack, StackOptions};

/// Gate runs.
const RUNS: usize = 20;
/// Foreign requests per second the generator must reach.
const MIN_RATE: f64 = 500.0;
/// The pace the generator keeps: twice the minimum. Unpaced, a release
/// build sends ~20,000 req/s, which turns over the stub's default journal
/// (1000 entries) every 50 ms — the journal checks are then ERROR naming
/// that bound, as designed, which is not what this test measures.
const PACE: f64 = 1000.0;
/// The generator stops after this many requests or this long, whatever happens.
const MAX_REQUESTS: u64 = 400_000;
const MAX_TIME: Duration = Duration::from_secs(240);
/// Concurrent foreign clients.
const CLIENTS: usize = 12;

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("cases")
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// Seed the stack (new workspaces on both tenants); the env file and its keys.
async fn seed(stack: &RunningStack, dir: &Path) -> (PathBuf, BTreeMap<String, String>) {
    let env = dir.join(".seed.env");
    let mut cfg = stack
        .endpoints()
        .seed_config(env.clone(), Duration::from_secs(60));
    cfg.stack_id = Some(format!("foreign-traffic-{}", std::process::id()));
    seed::run(&cfg).await.expect("seed");
    let text = std::fs::read_to_string(&env).unwrap();
    let vars = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| {
            let v = v.trim().trim_matches('"').trim_matches('\'');
            (
                k.trim().trim_start_matches("export ").to_string(),
                v.to_string(),
            )
        })
        .collect();
    (env, vars)
}

/// Which foreign request the `i`th is.
fn foreign_request(
    c: &reqwest::Client,
    base: &str,
    seeded: &[String],
    i: usize,
) -> reqwest::RequestBuilder {
    let foreign_ws = format!("foreign-ws-{}", i % 512);
    match i % 8 {
        // Another org's provisions (some from another replay run).
        0 | 1 => {
            let mut r = c.post(format!("{base}/cp/workspaces/provision")).json(
                &test_support::stub::provision_body("org-foreign", &foreign_ws),
            );
            if i % 16 == 1 {
                r = r.header("X-Replay-Id", format!("rp-foreign-{}", i % 64));
            }
            r
        }
        // A health sweep: status of every workspace, no org, no replay id.
        2..=4 => {
            let id = if i % 8 == 4 || seeded.is_empty() {
                foreign_ws
            } else {
                seeded[i % seeded.len()].clone()
            };
            c.get(format!(
                "{base}/cp/workspaces/{id}/status?instance_id=mol-ws-{id}"
            ))
        }
        // Routes the contract lacks (501) and wrong methods.
        5 => c.get(format!("{base}/cp/foreign/unknown-{}", i % 8)),
        6 => c.delete(format!("{base}/cp/foreign/{}", i % 4)),
        // Admin reads.
        _ => match i % 3 {
            0 => c.get(format!("{base}/__/stub/state")),
            1 => c.get(format!("{base}/__/stub/requests?limit=5")),
            _ => c.get(format!("{base}/__/stub/counts?org=org-foreign")),
        },
    }
}

/// Foreign traffic until `stop` (or the bounds), counting answered requests in `sent`.
async fn foreign(base: String, seeded: Vec<String>, stop: Arc<AtomicBool>, sent: Arc<AtomicU64>) {
    let c = client();
    let started = Instant::now();
    let seeded = Arc::new(seeded);
    let issued = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let (c, base, seeded, stop, sent, issued) = (
            c.clone(),
            base.clone(),
            seeded.clone(),
            stop.clone(),
            sent.clone(),
            issued.clone(),
        );
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed)
                && started.elapsed() < MAX_TIME
                && sent.load(Ordering::Relaxed) < MAX_REQUESTS
            {
                // The `i`th request of all clients leaves at `i / PACE` s.
                let i = issued.fetch_add(1, Ordering::Relaxed);
                let due = started + Duration::from_secs_f64(i as f64 / PACE);
                tokio::time::sleep_until(due.into()).await;
                let i = usize::try_from(i).unwrap_or(usize::MAX);
                if let Ok(resp) = foreign_request(&c, &base, &seeded, i).send().await {
                    let _ = resp.bytes().await;
                    sent.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}

fn red(s: &Summary) -> Vec<String> {
    s.replays
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Fail | Outcome::Error | Outcome::Xpass))
        .map(|r| render_replay(r, &Style::default()))
        .collect()
}

fn run_options(dir: PathBuf, env: &Path) -> RunOptions {
    RunOptions {
        dir,
        env_file: EnvFile::Path(env.to_path_buf()),
        process_env: Some(BTreeMap::new()),
        jobs: 4,
        color: ColorChoice::Never,
        print: false,
        ..RunOptions::default()
    }
}

/// The stack, seeded, with the foreign traffic running.
struct Traffic {
    stack: RunningStack,
    env: PathBuf,
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
    generator: tokio::task::JoinHandle<()>,
    _tmp: tempfile::TempDir,
}

impl Traffic {
    async fn start() -> Traffic {
        let stack = Embedded::start(StackOptions::default()).await.unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let (env, vars) = seed(&stack, tmp.path()).await;
        let seeded: Vec<String> = vars
            .iter()
            .filter(|(k, _)| k.ends_with("_ID") && !k.ends_with("ORG_ID"))
            .map(|(_, v)| v.clone())
            .collect();
        assert!(!seeded.is_empty(), "seed wrote no workspace ids: {vars:?}");
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let generator = tokio::spawn(foreign(
            stack.stub_base().to_string(),
            seeded,
            stop.clone(),
            sent.clone(),
        ));
        // Let the traffic reach its pace before the first run.
        tokio::time::sleep(Duration::from_millis(500)).await;
        Traffic {
            stack,
            env,
            stop,
            sent,
            generator,
            _tmp: tmp,
        }
    }

    fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    async fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        self.generator.await.unwrap();
        self.stack.shutdown().await;
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn twenty_gate_runs_with_jobs_4_stay_green_beside_500_foreign_requests_a_second() {
    rt().block_on(async {
        let traffic = Traffic::start().await;
        let (t0, n0) = (Instant::now(), traffic.sent());
        let mut reds = Vec::new();
        let mut replays = 0;
        let mut passed = 0;
        for run in 1..=RUNS {
            // Seed decides "provisioned" from the stub's journal, which the
            // foreign provisions fill too: it runs under the traffic as well.
            let dir = traffic._tmp.path().join(format!("run-{run}"));
            std::fs::create_dir_all(&dir).unwrap();
            let (env, _) = seed(&traffic.stack, &dir).await;
            let s = replay_runner::run(&run_options(cases_dir(), &env))
                .await
                .unwrap();
            replays += s.replays.len();
            passed += s.replays.iter().filter(|r| r.outcome == Outcome::Pass).count();
            for text in red(&s) {
                reds.push(format!("run {run}:\n{text}"));
            }
        }
        let (elapsed, n) = (t0.elapsed(), traffic.sent() - n0);
        traffic.stop().await;
        let rate = n as f64 / elapsed.as_secs_f64();
        eprintln!(
            "foreign traffic: {RUNS} runs of seed + replays ({replays} replays) in {:.1}s beside {n} foreign requests = {rate:.0} req/s; {} red",
            elapsed.as_secs_f64(),
            reds.len()
        );
        assert!(reds.is_empty(), "{} red:\n{}", reds.len(), reds.join("\n"));
        assert_eq!(replays, RUNS * 10, "every run ran the 10 shipped replays");
        assert_eq!(passed, replays, "none skipped or xfailed");
        assert!(
            rate >= MIN_RATE,
            "the generator reached only {rate:.0} foreign req/s (< {MIN_RATE}): the runs proved nothing"
        );
    });
}

/// The old, unscoped `total_requests +1` of `cp-stub-unmatched-501`
/// (`owns_stub` makes `check` accept it), over a call the stub holds for
/// 300 ms: the same traffic moves it, so it goes red — while the same count
/// in the replay's own scope holds.
#[test]
fn the_unscoped_form_of_a_shipped_expectation_is_moved_by_that_traffic() {
    rt().block_on(async {
        let traffic = Traffic::start().await;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("unscoped.toml"),
            r#"name = "unscoped-total"
owns_stub = true
[[step]]
name = "slow-down"
request = { method = "POST", url = "${CP_STUB_BASE}/__/stub/faults", json = { route = "auth_me", org = "slow", delay_ms = 300 } }
expect.status = 201
[[step]]
name = "counted"
request = { url = "${CP_STUB_BASE}/cp/auth/me", headers = { X-Molecule-Org-Id = "slow" } }
expect.status = 200
expect.counters = [
  { counter = "total_requests", delta = 1 },
  { counter = "total_requests", delta = 1, replay = true },
]
"#,
        )
        .unwrap();
        let s = replay_runner::run(&run_options(dir.path().to_path_buf(), &traffic.env))
            .await
            .unwrap();
        traffic.stop().await;
        let text = render_replay(&s.replays[0], &Style::default());
        assert_eq!(s.replays[0].outcome, Outcome::Fail, "{text}");
        assert!(
            text.contains("counter total_requests +1 (whole stub)"),
            "{text}"
        );
    });
}

/// A replay that fails on a busy stub: its failure bundle shows its own
/// calls and the calls about its workspace (read by scope), not the last
/// lines of other callers' traffic.
#[test]
fn a_failure_bundle_on_a_busy_stub_shows_the_replays_own_calls() {
    rt().block_on(async {
        let traffic = Traffic::start().await;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("fails.toml"),
            r#"name = "fails-on-a-busy-stub"
[vars]
WS = "ws-bundle-${REPLAY_ID}"
[[step]]
name = "provision"
request = { method = "POST", url = "${CP_STUB_BASE}/cp/workspaces/provision", json = { org_id = "org-bundle", workspace_id = "${WS}", runtime = "claude-code", tier = 1, platform_url = "http://t.invalid", env = {} } }
expect.status = 201
[[step]]
name = "wait"
request = { url = "${CP_STUB_BASE}/__/stub/requests?workspace=${WS}" }
expect.json = [{ path = "$.entries", length = 2 }]
poll = { timeout = "400ms", interval = "50ms" }
"#,
        )
        .unwrap();
        let s = replay_runner::run(&run_options(dir.path().to_path_buf(), &traffic.env))
            .await
            .unwrap();
        traffic.stop().await;
        let r = &s.replays[0];
        assert_eq!(r.outcome, Outcome::Fail, "{}", render_replay(r, &Style::default()));
        let b = r.bundle.as_ref().expect("a bundle");
        let note = b.journal_note.as_deref().unwrap_or_default();
        assert!(note.contains("from other callers left out"), "{note}");
        assert!(
            b.journal.iter().any(|l| l.contains("/cp/workspaces/provision") && l.contains("[this replay]")),
            "{:#?}",
            b.journal
        );
        assert!(
            b.journal.iter().all(|l| l.starts_with("    ") || l.contains("[this replay]")),
            "only the replay's own calls: {:#?}",
            b.journal
        );
    });
}
