//! The `cp-stub` binary: configuration files and precedence, exit code 2
//! with a message naming the file, field and reason, graceful SIGTERM,
//! and the `healthcheck` subcommand.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use assert_cmd::Command as AssertCommand;
use cp_stub::{ConfigError, Settings};
use predicates::prelude::*;
use serde_json::{json, Value};
use test_support::{stub::*, *};

const BIN: &str = env!("CARGO_BIN_EXE_cp-stub");

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// The binary with a clean environment for its own variables.
fn cmd() -> AssertCommand {
    let mut c = AssertCommand::new(BIN);
    for (k, _) in std::env::vars() {
        if k.starts_with("CP_STUB_") || k == "PORT" {
            c.env_remove(k);
        }
    }
    c.timeout(Duration::from_secs(20));
    c
}

/// A running binary and the base URL it printed.
struct Running {
    child: Child,
    base: String,
    lines: mpsc::Receiver<String>,
}

impl Running {
    fn spawn(args: &[&str], envs: &[(&str, &str)]) -> Running {
        let mut c = Command::new(BIN);
        for (k, _) in std::env::vars() {
            if k.starts_with("CP_STUB_") || k == "PORT" {
                c.env_remove(k);
            }
        }
        let mut child = c
            .args(["--port", "0"])
            .args(args)
            .envs(envs.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        // Killed on drop, even if this function panics below.
        struct Guard(Option<Child>);
        impl Drop for Guard {
            fn drop(&mut self) {
                if let Some(c) = self.0.as_mut() {
                    let _ = c.kill();
                    let _ = c.wait();
                }
            }
        }
        let mut guard = Guard(Some(child));
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let first = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("a listening line");
        let base = match serde_json::from_str::<Value>(&first) {
            Ok(v) => v["addr"].as_str().map(str::to_string),
            Err(_) => first
                .split_whitespace()
                .find_map(|w| w.strip_prefix("addr="))
                .map(str::to_string),
        }
        .unwrap_or_else(|| panic!("no addr in {first}"));
        let child = guard.0.take().unwrap();
        Running {
            child,
            base,
            lines: rx,
        }
    }

    fn term(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn wait(mut self) -> (std::process::ExitStatus, Vec<String>) {
        let status = self.child.wait().unwrap();
        // Every line the child wrote: the reader thread ends at EOF, which
        // follows the exit (bounded, should the pipe be held open).
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let mut lines = Vec::new();
        while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => lines.push(line),
                Err(_) => break,
            }
        }
        (status, lines)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn unknown_config_file_field_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "stub.toml", "port = 9090\nprot = 1\n");
    let err = Settings::from_toml_file(&p).unwrap_err();
    assert!(matches!(err, ConfigError::Toml { .. }));
    let msg = err.to_string();
    assert!(
        msg.contains("prot") && msg.contains(&p.display().to_string()),
        "{msg}"
    );
    cmd()
        .args(["--config", p.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("cp-stub: config file")
                .and(predicate::str::contains("unknown field `prot`")),
        );
}

#[test]
fn nested_tenant_config_file_is_refused_with_the_path_and_d1() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "tenant.json",
        r#"{"MOLECULE_CP_URL": "http://x", "runtimes": ["hermes"]}"#,
    );
    let err = cp_stub::load_tenant_config(&p).unwrap_err();
    let expected = format!(
        "cp-stub: tenant config {}: /runtimes: expected string, found array — the tenant's client decodes a flat map of strings (incident D1)",
        p.display()
    );
    assert_eq!(err.to_string(), expected);
    cmd()
        .args(["--tenant-config", p.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(expected));
    // The same check for an inline [tenant_config] table in the TOML file.
    let t = write(dir.path(), "stub.toml", "[tenant_config]\nMOLECULE_CP_URL = \"http://x\"\n[tenant_config.feature_flags]\nx = true\n");
    cmd()
        .env("CP_STUB_CONFIG", t.to_str().unwrap())
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("/feature_flags: expected string, found object")
                .and(predicate::str::contains("stub.toml")),
        );
    // Not JSON, and a missing file.
    let bad = write(dir.path(), "bad.json", "{nope");
    cmd()
        .args(["--tenant-config", bad.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not valid JSON"));
    cmd()
        .args(["--tenant-config", "/nonexistent/x.json"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("/nonexistent/x.json"));
}

#[test]
fn bad_values_are_usage_errors() {
    cmd().args(["--bind", "not-an-ip"]).assert().code(2);
    cmd().env("PORT", "99999").assert().code(2);
    cmd()
        .args(["--public-url", "cp-stub:9090"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("public_url"));
    cmd()
        .args(["--expect-admin-token", "org="])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("expect_admin_tokens"));
    cmd()
        .args(["--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("CP_STUB_EXPECT_SHARED_SECRET"));
}

#[test]
fn flags_beat_env_beat_the_config_file_beat_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let tenant = write(
        dir.path(),
        "tenant.json",
        r#"{"MOLECULE_LLM_DEFAULT_MODEL": "file-model"}"#,
    );
    let toml = format!(
        "instance_prefix = \"file-\"\nshared_secret = \"file-secret\"\njournal_capacity = 3\npublic_url = \"http://from-file:1\"\ntenant_config_file = \"{}\"\n",
        tenant.display()
    );
    let p = write(dir.path(), "stub.toml", &toml);
    let run = Running::spawn(
        &[
            "--config",
            p.to_str().unwrap(),
            "--instance-prefix",
            "flag-",
        ],
        &[
            ("CP_STUB_INSTANCE_PREFIX", "env-"),
            ("CP_STUB_SHARED_SECRET", "env-secret"),
        ],
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let c = client();
        let v: Value = provision(&c, &run.base, "org-a", "w1")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(v["instance_id"], "flag-w1", "flag beats env and file");
        let cfg = get_json(&c, &format!("{}/cp/tenants/config", run.base)).await;
        assert_eq!(
            cfg["MOLECULE_CP_SHARED_SECRET"], "env-secret",
            "env beats file"
        );
        assert_eq!(
            cfg["MOLECULE_CP_URL"], "http://from-file:1",
            "file beats default"
        );
        assert_eq!(cfg["MOLECULE_LLM_DEFAULT_MODEL"], "file-model");
        assert_eq!(journal(&c, &run.base, "").await.capacity, 3);
    });
    run.term();
    let (status, _) = run.wait();
    assert!(status.success());

    // The library's view of the same rule.
    let cli = Settings {
        port: Some(1234),
        ..Settings::default()
    };
    let c = cp_stub::load_config(cli, Some(&p)).unwrap();
    assert_eq!(c.port, 1234);
    assert_eq!(c.instance_prefix, "file-");
    assert_eq!(c.journal_capacity, 3);
    assert_eq!(
        c.log_format,
        cp_stub::LogFormat::Text,
        "the binary logs by default"
    );
    assert_eq!(c.body_limit, cp_stub::DEFAULT_BODY_LIMIT);
}

#[test]
fn sigterm_lets_the_in_flight_request_finish_then_exits_0() {
    let run = Running::spawn(&["--log-format", "json"], &[]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let c = client();
        add_fault(
            &c,
            &run.base,
            json!({"route": "provision", "delay_ms": 1500, "times": 1}),
        )
        .await;
        let in_flight = {
            let (c, base) = (c.clone(), run.base.clone());
            tokio::spawn(async move {
                let r = provision(&c, &base, "org-a", "held").await;
                (r.status().as_u16(), r.json::<Value>().await.unwrap())
            })
        };
        // Wait until the server holds the request (the fault was hit).
        let mut held = false;
        for _ in 0..400 {
            let faults = get_json(&c, &format!("{}/__/stub/faults", run.base)).await;
            if faults[0]["hits"] == 1 {
                held = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(held, "the request never reached the server");
        run.term();
        let (status, body) = in_flight.await.unwrap();
        assert_eq!(status, 201, "in-flight request finished after SIGTERM");
        assert_eq!(body["instance_id"], "mol-ws-held");
    });
    let (status, lines) = run.wait();
    assert!(status.success(), "exit status {status:?}");
    let joined = lines.join("\n");
    assert!(joined.contains("SIGTERM"), "{joined}");
    assert!(joined.contains("\"msg\":\"stopped\""), "{joined}");
    // The held request was logged as one JSON line.
    let line = lines
        .iter()
        .find(|l| l.contains("/cp/workspaces/provision"))
        .unwrap();
    let v: Value = serde_json::from_str(line).unwrap();
    assert_eq!(v["status"], 201);
}

#[test]
fn healthcheck_exit_codes() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let stub = rt.block_on(start_default());
    let base = stub.base_url();
    cmd()
        .args(["healthcheck", "--url", &format!("{base}/healthz")])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("healthy"));
    // PORT picks the default URL's port.
    cmd()
        .env("PORT", stub.local_addr().port().to_string())
        .arg("healthcheck")
        .assert()
        .code(0);
    // 404: a server, but not a healthy stub.
    cmd()
        .args(["healthcheck", "--url", &format!("{base}/nothing")])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("status 404"));
    // 200 without {"status":"ok"}.
    cmd()
        .args(["healthcheck", "--url", &format!("{base}/__/stub/version")])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("expected {\"status\":\"ok\"}"));
    let port = stub.local_addr().port();
    rt.block_on(stub.shutdown());
    cmd()
        .args([
            "healthcheck",
            "--url",
            &format!("http://127.0.0.1:{port}/healthz"),
            "--timeout-ms",
            "500",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("cannot connect"));
}

/// The scope bounds come from their environment variables; a replay scope
/// past `CP_STUB_MAX_REPLAY_SCOPES` evicts the one created first, and the
/// counts answer names the bound.
#[test]
fn scope_bounds_come_from_their_env_vars_and_evict_the_oldest() {
    let run = Running::spawn(
        &[],
        &[
            ("CP_STUB_MAX_REPLAY_SCOPES", "2"),
            ("CP_STUB_MAX_WORKSPACE_SCOPES", "5"),
            ("CP_STUB_ORGS_CAP", "7"),
        ],
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let c = client();
        for id in ["rp-1", "rp-2", "rp-3"] {
            let r = c
                .get(format!("{}/cp/auth/me", run.base))
                .header("X-Replay-Id", id)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 200);
        }
        let v = get_json(
            &c,
            &format!("{}/__/stub/counts?replay=rp-1&replay=rp-3", run.base),
        )
        .await;
        assert_eq!(v["replays"]["rp-1"]["created_seq"], Value::Null, "{v}");
        assert_eq!(v["replays"]["rp-3"]["total_requests"], 1, "{v}");
        let b = &v["bounds"]["replay"];
        assert_eq!(
            (b["cap"].as_u64(), b["evicted_at_seq"].as_u64()),
            (Some(2), Some(3)),
            "{v}"
        );
        assert_eq!(b["env"], "CP_STUB_MAX_REPLAY_SCOPES");
        assert_eq!(v["bounds"]["workspace"]["cap"], 5);
        assert_eq!(v["bounds"]["org"]["cap"], 7);
    });
    drop(run);
    cmd()
        .env("CP_STUB_MAX_REPLAY_SCOPES", "0")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("max_replay_scopes"));
}
