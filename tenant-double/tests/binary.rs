//! The binary: serve from the real tenant's env, `healthcheck`, SIGTERM.

use std::process::{Command, Stdio};
use std::time::Duration;

use assert_cmd::cargo::CommandCargoExt;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn serves_from_env_answers_healthcheck_and_stops_on_sigterm() {
    let port = free_port();
    let mut child = Command::cargo_bin("tenant-double")
        .unwrap()
        .env_clear()
        .env("PORT", port.to_string())
        .env("MOLECULE_ORG_ID", "org-alpha")
        .env("ADMIN_TOKEN", "alpha-admin-token")
        .env("CP_UPSTREAM_URL", "http://127.0.0.1:9")
        .envs(test_support::tenant::LLM_ENV)
        .arg("--quiet")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut healthy = false;
    for _ in 0..200 {
        let status = Command::cargo_bin("tenant-double")
            .unwrap()
            .env_clear()
            .args(["healthcheck", "--port", &port.to_string()])
            .stderr(Stdio::null())
            .status()
            .unwrap();
        if status.success() {
            healthy = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    assert!(healthy, "tenant-double never became healthy");
    // The evidence shows the D2 situation from the env.
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    use std::io::{Read, Write};
    write!(
        stream,
        "GET /__/tenant/cp HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    assert!(text.contains("neither CP client reads it"), "{text}");

    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

/// `TENANT_DOUBLE_NO_EVIDENCE=true` (what compose.yml passes through) makes
/// the binary opaque: no evidence endpoint, and it says so at start.
#[test]
fn no_evidence_from_env_hides_the_evidence() {
    let port = free_port();
    let mut child = Command::cargo_bin("tenant-double")
        .unwrap()
        .env_clear()
        .env("PORT", port.to_string())
        .env("MOLECULE_ORG_ID", "org-alpha")
        .env("ADMIN_TOKEN", "alpha-admin-token")
        .env("TENANT_DOUBLE_NO_EVIDENCE", "true")
        .envs(test_support::tenant::LLM_ENV)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::{BufRead, BufReader, Read, Write};
    // The start line comes once it listens (bounded: the first 20 lines).
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let started = lines
        .by_ref()
        .take(20)
        .map_while(Result::ok)
        .find(|l| l.starts_with("tenant-double: org"))
        .expect("no start line");
    assert!(
        started.contains("opaque: no /__/tenant/* evidence"),
        "{started}"
    );
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "GET /__/tenant/cp HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    assert!(text.starts_with("HTTP/1.1 404"), "{text}");
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    assert!(child.wait().unwrap().success());
    // Read on to EOF only now: the pipe stayed open while it ran.
    let _ = lines.count();
}

#[test]
fn healthcheck_fails_when_nothing_listens() {
    let port = free_port();
    let out = Command::cargo_bin("tenant-double")
        .unwrap()
        .env_clear()
        .args([
            "healthcheck",
            "--port",
            &port.to_string(),
            "--timeout-ms",
            "500",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("connecting to 127.0.0.1"));
}

#[test]
fn a_bad_port_is_a_usage_error() {
    let out = Command::cargo_bin("tenant-double")
        .unwrap()
        .env_clear()
        .env("PORT", "eighty")
        .env("MOLECULE_ORG_ID", "org-alpha")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn an_empty_org_is_a_configuration_error() {
    let out = Command::cargo_bin("tenant-double")
        .unwrap()
        .env_clear()
        .env("PORT", "0")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("MOLECULE_ORG_ID is empty"));
}

#[test]
fn a_managed_tenant_without_llm_keys_exits_1_after_the_retry_window() {
    // No CP base: the fetch keeps failing through the (short) window, as the
    // real boot's `log.Fatalf` (exit 1), before anything listens.
    let out = Command::cargo_bin("tenant-double")
        .unwrap()
        .env_clear()
        .env("PORT", "0")
        .env("MOLECULE_ORG_ID", "org-alpha")
        .env("ADMIN_TOKEN", "alpha-admin-token")
        .env("MOLECULE_CP_CONFIG_RETRY_WINDOW", "100ms")
        .arg("--quiet")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "Managed tenant boot assertion: CP config fetch did not succeed within 100ms"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("alpha-admin-token"), "{stderr}");
}
