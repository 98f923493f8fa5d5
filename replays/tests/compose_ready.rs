//! When the compose gate calls the stack ready, without Docker: a fake
//! `COMPOSE` (records its calls, starts nothing), a fake `docker` first on
//! `PATH` (its `ps` prints the container states the test chose) and real
//! HTTP servers on loopback ports standing in for the published ports.
//!
//! - every service answers: ready, seed runs (and fails against the fakes);
//! - a service whose port never answers 2xx: exit 1 with `not healthy
//!   after N s`, naming it, its container state and the last probe, once
//!   `--up-timeout` is over (not before, and not much after);
//! - a service whose container exited: `stopped (exit code N)` at once,
//!   long before the timeout.
//!
//! Each case is followed by the failure path's `logs` and by `down`: the
//! project's containers, networks and volumes removed by docker, or,
//! should that fail, compose's `down -v --timeout 0`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use test_support::FakeServer;

const FAKE_COMPOSE: &str = r#"#!/bin/sh
echo "ARGS $*" >> "$FAKE_LOG"
case "$*" in
  *" logs "*) echo "fake logs" ;;
esac
exit 0
"#;

/// Records its calls; `docker ps` prints `$FAKE_PS` (`ps -aq` three ids),
/// `docker rm` fails when `$FAKE_RM_FAILS` is set, everything else succeeds.
const FAKE_DOCKER: &str = r#"#!/bin/sh
echo "DOCKER $*" >> "$FAKE_LOG"
case "$*" in
  "ps -aq "*) echo "id-1 id-2 id-3" ;;
  "ps "*) cat "$FAKE_PS" ;;
  "rm "*) [ -z "$FAKE_RM_FAILS" ] || { echo "rm: no such container" >&2; exit 1; } ;;
esac
exit 0
"#;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn script(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn route_key(_method: &str, _path: &str) -> &'static str {
    "any"
}

/// A server answering every request with `status` and `{"status":"ok"}`.
async fn answering(status: u16) -> FakeServer {
    FakeServer::start(route_key, move |_, _, _| {
        (status, r#"{"status":"ok"}"#.to_string())
    })
    .await
}

fn port_of(base: &str) -> String {
    base.rsplit(':').next().unwrap().to_string()
}

/// A loopback port nothing listens on.
fn dead_port() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port().to_string()
}

struct Run {
    code: Option<i32>,
    stderr: String,
    calls: String,
    took: Duration,
}

/// The gate against fake compose and docker; `ports` are the stub's,
/// alpha's and beta's; `ps` is what `docker ps` prints.
fn gate(ports: [&str; 3], ps: &str, up_timeout: &str, rm_fails: bool) -> Run {
    let tmp = tempfile::tempdir().unwrap();
    script(tmp.path(), "fake-compose", FAKE_COMPOSE);
    script(tmp.path(), "docker", FAKE_DOCKER);
    let log = tmp.path().join("calls.log");
    let ps_file = tmp.path().join("ps.txt");
    std::fs::write(&ps_file, ps).unwrap();
    let path = format!(
        "{}:{}",
        tmp.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let root = root();
    let started = Instant::now();
    let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_replays"));
    cmd.env_clear();
    if rm_fails {
        cmd.env("FAKE_RM_FAILS", "1");
    }
    let out = cmd
        .env("PATH", path)
        .env("FAKE_LOG", &log)
        .env("FAKE_PS", &ps_file)
        .env("COMPOSE", tmp.path().join("fake-compose"))
        .current_dir(tmp.path())
        .args(["gate", "--stack", "compose", "--color", "never"])
        .arg("--dir")
        .arg(root.join("replays/cases"))
        .arg("--compose-file")
        .arg(root.join("compose.yml"))
        .args(["--build", "never", "--seed-timeout", "1s"])
        .args(["--up-timeout", up_timeout])
        .args(["--stub-port", ports[0]])
        .args(["--alpha-port", ports[1]])
        .args(["--beta-port", ports[2]])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    Run {
        code: out.status.code(),
        stderr: String::from_utf8_lossy(&out.stderr).to_string(),
        calls: std::fs::read_to_string(&log).unwrap_or_default(),
        took: started.elapsed(),
    }
}

/// Down: the project's containers removed by docker (killed: `-f`), its
/// networks and volumes listed by compose's label; compose not called.
fn assert_removed(run: &Run) {
    for want in [
        "DOCKER ps -aq --filter label=com.docker.compose.project=",
        "DOCKER rm -f -v id-1 id-2 id-3",
        "DOCKER network ls -q --filter label=com.docker.compose.project=",
        "DOCKER volume ls -q --filter label=com.docker.compose.project=",
    ] {
        assert!(run.calls.contains(want), "no `{want}` in:\n{}", run.calls);
    }
    assert!(!run.calls.contains(" down "), "{}", run.calls);
}

const ALL_RUNNING: &str = "cp-stub\trunning\tUp 3 seconds (healthy)\n\
tenant-alpha\trunning\tUp 2 seconds (healthy)\n\
tenant-beta\trunning\tUp 2 seconds (healthy)\n";

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn ready_when_every_published_port_answers() {
    let rt = rt();
    let (stub, alpha, beta) = rt.block_on(async {
        (
            answering(200).await,
            answering(200).await,
            answering(200).await,
        )
    });
    let (s, a, b) = (
        port_of(&stub.base),
        port_of(&alpha.base),
        port_of(&beta.base),
    );
    let run = gate([&s, &a, &b], ALL_RUNNING, "30s", false);
    // Ready at once; seed then fails against the fakes (exit 1).
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr.contains("[gate] healthy in ")
            && run
                .stderr
                .contains("cp-stub=ready tenant-alpha=ready tenant-beta=ready"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("seed FAILED"), "{}", run.stderr);
    for (fake, path) in [(&stub, "/healthz"), (&alpha, "/health"), (&beta, "/health")] {
        assert!(
            fake.seen()
                .iter()
                .any(|r| r.method == "GET" && r.path == path),
            "no GET {path} at {}",
            fake.base
        );
    }
    assert!(run.calls.contains(" up -d"), "{}", run.calls);
    assert_removed(&run);
}

#[test]
fn a_service_that_never_answers_is_named_after_the_timeout() {
    let rt = rt();
    let (stub, alpha) = rt.block_on(async { (answering(200).await, answering(503).await) });
    let beta = dead_port();
    let (s, a) = (port_of(&stub.base), port_of(&alpha.base));
    let run = gate([&s, &a, &beta], ALL_RUNNING, "2s", false);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let want = format!(
        "compose stack: not healthy after 2 s (cp-stub=ready tenant-alpha=running/healthy (GET http://127.0.0.1:{a}/health answered 503) tenant-beta=running/healthy (GET http://127.0.0.1:{beta}/health: cannot connect)); raise --up-timeout or see the services' logs below"
    );
    assert!(
        run.stderr.contains(&want),
        "no `{want}` in:\n{}",
        run.stderr
    );
    // Waited out the timeout, and stopped then.
    assert!(
        run.took >= Duration::from_secs(2) && run.took < Duration::from_secs(20),
        "took {:?}",
        run.took
    );
    // The failure path: logs, then down.
    assert!(run.stderr.contains("fake logs"), "{}", run.stderr);
    assert_removed(&run);
    assert!(!run.stderr.contains("seed FAILED"), "{}", run.stderr);
}

#[test]
fn a_service_that_exits_fails_at_once() {
    let rt = rt();
    let stub = rt.block_on(answering(200));
    let (alpha, beta) = (dead_port(), dead_port());
    let ps = "cp-stub\trunning\tUp 3 seconds (healthy)\n\
tenant-alpha\trunning\tUp 2 seconds (health: starting)\n\
tenant-beta\texited\tExited (3) 1 second ago\n";
    let run = gate([&port_of(&stub.base), &alpha, &beta], ps, "60s", false);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "compose stack: service tenant-beta stopped (exit code 3) before the stack was healthy; its logs follow"
        ),
        "{}",
        run.stderr
    );
    assert!(run.took < Duration::from_secs(20), "took {:?}", run.took);
    assert!(run.stderr.contains("fake logs"), "{}", run.stderr);
    assert_removed(&run);
}

/// Should docker fail to remove the containers, compose's own `down -v
/// --timeout 0` takes the stack down, and the gate says so.
#[test]
fn down_falls_back_on_compose_when_docker_rm_fails() {
    let rt = rt();
    let stub = rt.block_on(answering(200));
    let (alpha, beta) = (dead_port(), dead_port());
    let ps = "tenant-alpha\texited\tExited (1) 1 second ago\n";
    let run = gate([&port_of(&stub.base), &alpha, &beta], ps, "60s", true);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.calls.contains("DOCKER rm -f -v id-1 id-2 id-3"),
        "{}",
        run.calls
    );
    assert!(run.calls.contains(" down -v --timeout 0"), "{}", run.calls);
    assert!(
        run.stderr.contains("rm: no such container") && run.stderr.contains("compose down instead"),
        "{}",
        run.stderr
    );
}
