//! Golden black-box tests, Hurl style: each folder under `tests/golden/`
//! is a case. `case.toml` says which servers to start and how to run the
//! `replays` binary; `stdout`, `stderr` and `exit` are what it must print
//! and return. The binary runs with a clean environment, in the case folder.
//!
//! In the expected files `{{*}}` matches anything within a line (times),
//! and these placeholders stand for values of the run:
//! `{{STUB}}` (a fresh in-process cp-stub), `{{SECOND}}` (a second stub,
//! for drift), `{{DEAD}}` (a closed port), `{{STALE}}` (a server that
//! claims another contract), `{{TMP}}` (a temp folder for reports),
//! `{{FINGERPRINT}}` (this build's contract fingerprint) and `rp-{{RUN}}-N`
//! (replay ids).
//!
//! Each case is its own test (libtest-mimic, `harness = false`), named by
//! its folder: `cargo test -p replays --test golden -- legacy-shell` runs
//! one. Outputs are compared with snapbox (`{{*}}` becomes its `[..]`), so
//! a broken expectation fails that case alone, with a diff.
//!
//! `UPDATE_GOLDEN=1` (or snapbox's `SNAPSHOTS=overwrite`) with
//! `cargo test -p replays --test golden` rewrites the expected files from
//! what the binary printed, with times turned into `{{*}}`; review the diff
//! before committing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use contract::admin::FaultSpec;
use libtest_mimic::{Arguments, Failed, Trial};
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CaseSpec {
    /// What the case shows.
    #[allow(dead_code)]
    description: String,
    /// Arguments of `replays`.
    args: Vec<String>,
    /// Environment (on top of PATH and HOME).
    #[serde(default)]
    env: BTreeMap<String, String>,
    /// Faults programmed on the stub before the run.
    #[serde(default)]
    faults: Vec<FaultSpec>,
    /// Faults programmed on the second stub.
    #[serde(default)]
    second_faults: Vec<FaultSpec>,
}

/// Servers a case can use.
struct Servers {
    stub: cp_stub::Stub,
    second: cp_stub::Stub,
    stale: String,
    dead: String,
}

async fn stale_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                let body = r#"{"name":"cp-stub","version":"0.0.1","git_sha":"0ld5ha","contract":"00000000deadbeef"}"#;
                let resp = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
    format!("http://{addr}")
}

async fn program(base: &str, faults: &[FaultSpec]) {
    let client = test_support::client();
    for f in faults {
        let r = client
            .post(format!("{base}/__/stub/faults"))
            .json(f)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 201, "programming fault {f:?}");
    }
}

async fn servers() -> Servers {
    let cfg = || cp_stub::Config {
        port: 0,
        ..Default::default()
    };
    Servers {
        stub: cp_stub::start(cfg()).await.unwrap(),
        second: cp_stub::start(cfg()).await.unwrap(),
        stale: stale_server().await,
        dead: test_support::dead_base(),
    }
}

struct Placeholders(Vec<(String, &'static str)>);

impl Placeholders {
    fn fill(&self, s: &str) -> String {
        let mut out = s.to_string();
        for (value, name) in &self.0 {
            out = out.replace(name, value);
        }
        out
    }
    fn normalize(&self, s: &str) -> String {
        let mut out = s.to_string();
        for (value, name) in &self.0 {
            out = out.replace(value.as_str(), name);
        }
        let run = regex::Regex::new(r"rp-[0-9a-f]{8}-").unwrap();
        run.replace_all(&out, "rp-{{RUN}}-").into_owned()
    }
}

/// Turn times into wildcards (for UPDATE_GOLDEN).
fn wildcard_times(s: &str) -> String {
    let rules = [
        (r"\b\d+ ms\b", "{{*}} ms"),
        (r"\b\d+\.\d s\b", "{{*}} s"),
        (r"\+\d+ms\b", "+{{*}}ms"),
        (r"in [0-9.]+m?s of polling", "in {{*}} of polling"),
        (
            r"\(\d+ attempts in [0-9.]+m?s\)",
            "({{*}} attempts in {{*}})",
        ),
        (r", \d+ attempts\)", ", {{*}} attempts)"),
    ];
    let mut out = s.to_string();
    for (re, with) in rules {
        out = regex::Regex::new(re)
            .unwrap()
            .replace_all(&out, with)
            .into_owned();
    }
    out
}

/// True when the expected files are to be rewritten instead of compared.
fn updating() -> bool {
    std::env::var_os("UPDATE_GOLDEN").is_some()
        || std::env::var("SNAPSHOTS").is_ok_and(|v| v == "overwrite")
}

/// `actual` against the expected file `what` of case `dir`, in snapbox's
/// wildcard dialect (`{{*}}` is `[..]`); a diff when they differ.
fn compare(dir: &Path, what: &str, expected: &str, actual: &str) -> Option<String> {
    let expected = snapbox::Data::text(expected.replace("{{*}}", "[..]"));
    snapbox::Assert::new()
        .normalize_paths(false)
        .redact_with(snapbox::Redactions::new())
        .try_eq(Some(&"replays"), snapbox::Data::text(actual), expected)
        .err()
        .map(|e| format!("{what} differs from {}:\n{e}", dir.join(what).display()))
}

fn run_case(rt: &tokio::runtime::Runtime, dir: &Path) -> Result<(), String> {
    let spec: CaseSpec = toml::from_str(&std::fs::read_to_string(dir.join("case.toml")).unwrap())
        .map_err(|e| format!("case.toml: {e}"))?;
    let s = rt.block_on(servers());
    rt.block_on(program(&s.stub.base_url(), &spec.faults));
    rt.block_on(program(&s.second.base_url(), &spec.second_faults));
    let tmp = tempfile::tempdir().unwrap();
    let ph = Placeholders(vec![
        (tmp.path().display().to_string(), "{{TMP}}"),
        (s.stub.base_url(), "{{STUB}}"),
        (s.second.base_url(), "{{SECOND}}"),
        (s.stale.clone(), "{{STALE}}"),
        (s.dead.clone(), "{{DEAD}}"),
        (contract::fingerprint().to_string(), "{{FINGERPRINT}}"),
    ]);
    let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_replays"));
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .timeout(Duration::from_secs(60));
    for (k, v) in &spec.env {
        cmd.env(k, ph.fill(v));
    }
    for a in &spec.args {
        cmd.arg(ph.fill(a));
    }
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run replays: {e}"))?;
    let stdout = ph.normalize(&String::from_utf8_lossy(&out.stdout));
    let stderr = ph.normalize(&String::from_utf8_lossy(&out.stderr));
    let code = out.status.code().unwrap_or(-1);
    rt.block_on(async {
        s.stub.shutdown().await;
        s.second.shutdown().await;
    });
    if updating() {
        std::fs::write(dir.join("stdout"), wildcard_times(&stdout)).unwrap();
        std::fs::write(dir.join("stderr"), wildcard_times(&stderr)).unwrap();
        std::fs::write(dir.join("exit"), format!("{code}\n")).unwrap();
        return Ok(());
    }
    let read = |f: &str| {
        std::fs::read_to_string(dir.join(f))
            .map_err(|e| format!("{f}: {e} (run with UPDATE_GOLDEN=1 to create it)"))
    };
    let mut problems = Vec::new();
    let want_code: i32 = read("exit")?
        .trim()
        .parse()
        .map_err(|e| format!("exit: {e}"))?;
    if want_code != code {
        problems.push(format!(
            "exit status: expected {want_code}, actual {code}\n--- stdout ---\n{stdout}--- stderr ---\n{stderr}"
        ));
    }
    problems.extend(compare(dir, "stdout", &read("stdout")?, &stdout));
    problems.extend(compare(dir, "stderr", &read("stderr")?, &stderr));
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// The case folders, sorted.
fn case_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(golden_dir())
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("case.toml").is_file())
        .collect();
    dirs.sort();
    dirs
}

fn main() {
    let args = Arguments::from_args();
    let rt = Arc::new(runtime());
    let dirs = case_dirs();
    assert!(!dirs.is_empty(), "no golden cases found");
    let trials: Vec<Trial> = dirs
        .into_iter()
        .map(|dir| {
            let name = dir.file_name().unwrap().to_string_lossy().into_owned();
            let rt = Arc::clone(&rt);
            Trial::test(name, move || run_case(&rt, &dir).map_err(Failed::from))
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
