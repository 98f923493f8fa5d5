//! Issue 11 against the `cp-stub` binary, in its own process (its RSS is
//! read from `/proc/<pid>/status`): slow and stalled clients closed within
//! their timeouts while `/healthz` answers, RSS under byte abuse, shutdown
//! with stalled clients, and a stdout pipe nobody reads.
//!
//! Each case runs twice: a small version in the default `cargo test`
//! (the debug binary), and the full-size one `#[ignore]`d, which
//! `bench/robustness.sh` runs against the release binary (`CP_STUB_BIN`)
//! under `prlimit --nofile=4096` and whose `FIGURE name value` lines it
//! records in BENCHMARKS.md.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The binary: `CP_STUB_BIN` (the release build, from the bench script),
/// else the one cargo built for this test.
fn bin() -> String {
    std::env::var("CP_STUB_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_cp-stub").to_string())
}

/// A running stub whose stdout is a pipe read only up to its `listening`
/// line, then held open and never read again.
struct Proc {
    child: Child,
    addr: SocketAddr,
    _stdout: BufReader<ChildStdout>,
}

impl Proc {
    fn spawn(args: &[&str]) -> Proc {
        let mut c = Command::new(bin());
        for (k, _) in std::env::vars() {
            if k.starts_with("CP_STUB_") || k == "PORT" {
                c.env_remove(k);
            }
        }
        if !args.contains(&"--log-format") {
            c.args(["--log-format", "text"]);
        }
        let mut child = c
            .args(["--port", "0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn cp-stub");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        // The first line on a thread: a stub that never says `listening`
        // fails the test after 20 s instead of hanging it.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut first = String::new();
            let _ = stdout.read_line(&mut first);
            let _ = tx.send((first, stdout));
        });
        let Ok((first, stdout)) = rx.recv_timeout(Duration::from_secs(20)) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("cp-stub printed no listening line within 20 s");
        };
        let addr = first
            .split_whitespace()
            .find_map(|w| w.strip_prefix("addr=http://"))
            .unwrap_or_else(|| panic!("no addr in {first}"))
            .parse()
            .expect("addr");
        Proc {
            child,
            addr,
            _stdout: stdout,
        }
    }

    fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// VmRSS in bytes.
    fn rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("/proc status");
        let kb: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .expect("VmRSS");
        kb * 1024
    }

    /// SIGTERM; the time until the process exited (bounded by `limit`).
    fn term_and_wait(&mut self, limit: Duration) -> Duration {
        let started = Instant::now();
        let ok = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill")
            .success();
        assert!(ok);
        while started.elapsed() < limit {
            if self.child.try_wait().expect("try_wait").is_some() {
                return started.elapsed();
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("cp-stub still running {limit:?} after SIGTERM");
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn figure(name: &str, value: impl std::fmt::Display) {
    println!("FIGURE {name} {value}");
}

async fn healthz_ok(c: &reqwest::Client, base: &str) -> Duration {
    let started = Instant::now();
    let r = c
        .get(format!("{base}/healthz"))
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .expect("/healthz answers");
    assert_eq!(r.status().as_u16(), 200);
    started.elapsed()
}

/// Read until the server closes the stream; when, or `None` after `within`.
async fn closed_at(mut s: TcpStream, within: Duration) -> Option<Instant> {
    let mut buf = [0u8; 512];
    tokio::time::timeout(within, async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await
    .ok()
    .map(|()| Instant::now())
}

#[derive(Clone, Copy, Debug)]
enum Stall {
    /// Headers that never finish.
    Slowloris,
    /// A body 5 bytes of 100.
    SlowBody,
    /// One answered request, then silence.
    Idle,
}

async fn stalled(addr: SocketAddr, kind: Stall) -> (TcpStream, Instant) {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    match kind {
        Stall::Slowloris => s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: ").await,
        Stall::SlowBody => {
            s.write_all(
                b"POST /cp/workspaces/provision HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n01234",
            )
            .await
        }
        Stall::Idle => {
            s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                .await
                .expect("write");
            let mut buf = [0u8; 512];
            let n = s.read(&mut buf).await.expect("answer");
            assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
            Ok(())
        }
    }
    .expect("write");
    (s, Instant::now())
}

/// `per_kind` clients of each stall kind, and `extra` more slow bodies;
/// every one must be closed within its timeout + 1 s while `/healthz`
/// answers. Timeouts in seconds.
async fn slow_clients(per_kind: usize, extra: usize, timeout_s: u64) {
    let t = format!("{timeout_s}s");
    let t_ms = (timeout_s * 1000).to_string();
    let p = Proc::spawn(&[
        "--header-read-timeout-ms",
        &t_ms,
        "--body-read-timeout",
        &t,
        "--idle-timeout",
        &t,
    ]);
    let c = reqwest::Client::new();
    let mut waits = Vec::new();
    for (kind, n) in [
        (Stall::Slowloris, per_kind),
        (Stall::SlowBody, per_kind + extra),
        (Stall::Idle, per_kind),
    ] {
        for _ in 0..n {
            let (s, since) = stalled(p.addr, kind).await;
            let within = Duration::from_secs(timeout_s + 5);
            waits.push((
                kind,
                since,
                tokio::spawn(async move { closed_at(s, within).await }),
            ));
        }
    }
    // /healthz answers while all of them are open.
    let mut worst_health = Duration::ZERO;
    for _ in 0..5 {
        worst_health = worst_health.max(healthz_ok(&c, &p.base()).await);
    }
    let total = waits.len();
    let mut worst = [Duration::ZERO; 3];
    for (kind, since, wait) in waits {
        let at = wait
            .await
            .expect("join")
            .unwrap_or_else(|| panic!("{kind:?} client still open"));
        let took = at - since;
        assert!(
            took <= Duration::from_secs(timeout_s + 1),
            "{kind:?} closed after {took:?} (timeout {timeout_s} s)"
        );
        let i = kind as usize;
        worst[i] = worst[i].max(took);
    }
    // A fresh client: the pooled connection of `c` has been idle past the timeout.
    healthz_ok(&reqwest::Client::new(), &p.base()).await;
    figure("stalled_clients", total);
    figure("timeout_s", timeout_s);
    figure(
        "slowloris_closed_max_s",
        format!("{:.2}", worst[0].as_secs_f64()),
    );
    figure(
        "slow_body_closed_max_s",
        format!("{:.2}", worst[1].as_secs_f64()),
    );
    figure(
        "idle_closed_max_s",
        format!("{:.2}", worst[2].as_secs_f64()),
    );
    figure(
        "healthz_while_stalled_max_ms",
        format!("{:.1}", worst_health.as_secs_f64() * 1000.0),
    );
}

/// `big` requests with a 300 KB header, then `orgs` distinct 4 KB org
/// ids: RSS stays ≤ 64 MB, and so do one journal page and the state.
async fn byte_abuse(big: usize, orgs: usize) {
    const LIMIT: u64 = 64 * 1024 * 1024;
    let p = Proc::spawn(&[]);
    let c = reqwest::Client::new();
    let base = p.base();
    figure("rss_idle_mb", p.rss() / (1024 * 1024));
    let header = "h".repeat(300 * 1000);
    let mut tasks = Vec::new();
    for w in 0..8 {
        let (c, base, header) = (c.clone(), base.clone(), header.clone());
        tasks.push(tokio::spawn(async move {
            for _ in (w..big).step_by(8) {
                let r = c
                    .get(format!("{base}/cp/tenants/config"))
                    .header("x-big", &header)
                    .timeout(Duration::from_secs(10))
                    .send()
                    .await
                    .expect("big header request");
                assert!(r.status().is_success(), "{}", r.status());
            }
        }));
    }
    for t in tasks {
        t.await.expect("join");
    }
    let rss = p.rss();
    figure("rss_after_300kb_headers_mb", rss / (1024 * 1024));
    assert!(rss <= LIMIT, "RSS {rss} after {big} × 300 KB headers");
    let page = c
        .get(format!("{base}/__/stub/requests"))
        .send()
        .await
        .expect("journal")
        .bytes()
        .await
        .expect("journal body");
    figure("journal_page_kb", page.len() / 1024);
    assert!(page.len() <= 1024 * 1024 + 64 * 1024);
    let rss = p.rss();
    figure("rss_after_journal_page_mb", rss / (1024 * 1024));
    assert!(rss <= LIMIT, "RSS {rss} after a journal page");

    let mut tasks = Vec::new();
    for w in 0..8 {
        let (c, base) = (c.clone(), base.clone());
        tasks.push(tokio::spawn(async move {
            for i in (w..orgs).step_by(8) {
                let org = format!("{i:08}-{}", "o".repeat(4096 - 9));
                let r = c
                    .get(format!("{base}/cp/tenants/config"))
                    .header("x-molecule-org-id", org)
                    .timeout(Duration::from_secs(10))
                    .send()
                    .await
                    .expect("org request");
                assert!(r.status().is_success());
            }
        }));
    }
    for t in tasks {
        t.await.expect("join");
    }
    let state = c
        .get(format!("{base}/__/stub/state"))
        .send()
        .await
        .expect("state")
        .bytes()
        .await
        .expect("state body");
    let st: contract::admin::StubState = serde_json::from_slice(&state).expect("StubState");
    assert!(
        st.orgs.len() <= st.orgs_cap as usize + 2,
        "{}",
        st.orgs.len()
    );
    assert!(st.orgs_overflowed > 0 || orgs < 1000);
    let rss = p.rss();
    figure("rss_after_distinct_orgs_mb", rss / (1024 * 1024));
    figure("state_kb", state.len() / 1024);
    assert!(rss <= LIMIT, "RSS {rss} after {orgs} distinct 4 KB orgs");
}

/// `n` stalled clients (half slow bodies, half slowloris), then SIGTERM:
/// the process exits within the grace + 1 s.
async fn shutdown_with_stalled(n: usize, grace_ms: u64) {
    let grace = grace_ms.to_string();
    let mut p = Proc::spawn(&[
        "--shutdown-grace-ms",
        &grace,
        "--body-read-timeout",
        "120s",
        "--header-read-timeout-ms",
        "120000",
    ]);
    let mut held = Vec::new();
    for i in 0..n {
        let kind = if i % 2 == 0 {
            Stall::SlowBody
        } else {
            Stall::Slowloris
        };
        held.push(stalled(p.addr, kind).await.0);
    }
    healthz_ok(&reqwest::Client::new(), &p.base()).await;
    let took = p.term_and_wait(Duration::from_millis(grace_ms + 5000));
    figure("shutdown_stalled_clients", n);
    figure("shutdown_grace_ms", grace_ms);
    figure("shutdown_s", format!("{:.2}", took.as_secs_f64()));
    assert!(
        took <= Duration::from_millis(grace_ms + 1000),
        "shutdown took {took:?} (grace {grace_ms} ms)"
    );
    drop(held);
}

/// `clients` × `each` requests with the stub's stdout a full pipe nobody
/// reads: all are answered, and the dropped lines are counted.
async fn unread_stdout(clients: usize, each: usize) {
    let p = Proc::spawn(&[]);
    let base = p.base();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let base = base.clone();
        tasks.push(tokio::spawn(async move {
            let c = reqwest::Client::new();
            for _ in 0..each {
                let r = c
                    .get(format!("{base}/cp/tenants/config"))
                    .timeout(Duration::from_secs(5))
                    .send()
                    .await
                    .expect("answered with stdout unread");
                assert!(r.status().is_success());
            }
        }));
    }
    tokio::time::timeout(Duration::from_secs(60), async {
        for t in tasks {
            t.await.expect("join");
        }
    })
    .await
    .expect("every request answered within 60 s");
    let st: contract::admin::StubState = reqwest::get(format!("{base}/__/stub/state"))
        .await
        .expect("state")
        .json()
        .await
        .expect("StubState");
    assert_eq!(st.total_requests, (clients * each) as u64);
    figure("unread_stdout_requests", clients * each);
    figure(
        "unread_stdout_s",
        format!("{:.2}", started.elapsed().as_secs_f64()),
    );
    figure("log_lines_dropped", st.log_lines_dropped);
    // Beyond the pipe (64 KiB, ~600 lines) and the buffer, lines are dropped.
    if clients * each > cp_stub::LOG_BUFFER_LINES + 1000 {
        assert!(
            st.log_lines_dropped > 0,
            "the pipe filled, lines were dropped"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_small() {
    slow_clients(5, 5, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn byte_abuse_small() {
    byte_abuse(100, 2_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_with_stalled_clients_small() {
    shutdown_with_stalled(20, 2_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdout_nobody_reads_small() {
    unread_stdout(8, 250).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "full size: bench/robustness.sh (release binary, prlimit --nofile=4096)"]
async fn slow_clients_full() {
    // 500 stalled clients in all: 100 slowloris, 300 slow bodies, 100 idle.
    slow_clients(100, 200, 5).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "full size: bench/robustness.sh (release binary, prlimit --nofile=4096)"]
async fn byte_abuse_full() {
    byte_abuse(1_000, 20_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "full size: bench/robustness.sh (release binary, prlimit --nofile=4096)"]
async fn shutdown_with_stalled_clients_full() {
    shutdown_with_stalled(200, 5_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "full size: bench/robustness.sh (release binary, prlimit --nofile=4096)"]
async fn stdout_nobody_reads_full() {
    unread_stdout(8, 1_000).await;
}
