//! `replays wire-export` against a real cp-stub on 127.0.0.1: a provision
//! and a stop, as the real client sends them, come out in wire.json's format
//! with the placeholders and without any secret the calls carried.

use assert_cmd::Command;
use contract::wire::{WireFile, WORKSPACE_PLACEHOLDER};
use contract::RouteId;
use serde_json::json;
use test_support::{stub::*, *};

const SECRETS: &[&str] = &[
    "wire-shared-secret",
    "wire-admin-token",
    "sk-ant-wire-secret",
    "gitea-wire-secret",
    "wire-url-password",
];
const KEY: &str = "cpprov-0123456789abcdef0123456789abcdef";

/// A provision and a stop of `ws-wire-1` as org-alpha's real client sends them.
async fn record_calls(base: &str) {
    let c = client();
    let creds = |rb: reqwest::RequestBuilder| {
        rb.header("Authorization", "Bearer wire-shared-secret")
            .header("X-Molecule-Admin-Token", "wire-admin-token")
    };
    let body = json!({
        "org_id": "org-alpha",
        "workspace_id": "ws-wire-1",
        "idempotency_key": KEY,
        "runtime": "claude-code",
        "tier": 2,
        "display": {},
        "platform_url": "http://tenant:wire-url-password@tenant-alpha:8080",
        "env": {"ANTHROPIC_API_KEY": "sk-ant-wire-secret", "GITEA_TOKEN": "gitea-wire-secret"},
    });
    let r = creds(c.post(format!("{base}/cp/workspaces/provision")))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let stop = format!("{base}/cp/workspaces/ws-wire-1?instance_id=mol-ws-ws-wire-1&prune=true");
    let r = creds(c.delete(stop)).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    // Another org's call, left out by --org.
    assert_eq!(
        provision(&c, base, "org-beta", "ws-beta").await.status(),
        201
    );
}

fn check(text: &str) -> WireFile {
    for secret in SECRETS {
        assert!(!text.contains(secret), "the export shows {secret}:\n{text}");
    }
    let w: WireFile = serde_json::from_str(text).expect("the export parses as a WireFile");
    let c = &w.calls;
    assert_eq!(c.len(), 2, "{text}");
    assert_eq!(c[0].route, Some(RouteId::Provision));
    assert_eq!(c[0].path, "/cp/workspaces/provision");
    assert_eq!(c[0].body["workspace_id"], WORKSPACE_PLACEHOLDER);
    assert_eq!(c[0].body["idempotency_key"], KEY, "no secret: kept");
    assert_eq!(c[0].body["env"]["ANTHROPIC_API_KEY"], "<redacted>");
    assert_eq!(c[0].stub_status, 201);
    assert!(c[0].headers.contains(&"x-molecule-admin-token".to_string()));
    assert!(!c[0].org_header_sent);
    assert_eq!(c[1].route, Some(RouteId::Stop));
    assert_eq!(c[1].method, "DELETE");
    assert_eq!(c[1].path, format!("/cp/workspaces/{WORKSPACE_PLACEHOLDER}"));
    assert_eq!(c[1].query_keys, vec!["instance_id", "prune"]);
    assert_eq!(
        c[1].headers,
        vec!["authorization", "x-molecule-admin-token"]
    );
    assert!(c[1].body.is_null());
    // The same shape as the real client's stop-and-prune, less `provider`.
    let real: WireFile =
        serde_json::from_str(include_str!("../../fixtures/real-client/wire.json")).unwrap();
    let diffs = c[1].shape_differences(&real.calls[10]);
    assert_eq!(
        diffs,
        vec!["query key `provider` missing (the real client sends it)"]
    );
    w
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_exports_a_provision_and_a_stop_without_secrets() {
    let stub = start_default().await;
    let base = stub.base_url();
    record_calls(&base).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("wire.json");
    let args = [
        "wire-export",
        "--stub",
        &base,
        "--workspace",
        "ws-wire-1",
        "--org",
        "org-alpha",
    ]
    .map(str::to_string);
    let assert_file = {
        let (args, out) = (args.clone(), out.clone());
        tokio::task::spawn_blocking(move || {
            Command::cargo_bin("replays")
                .unwrap()
                .env_clear()
                .args(&args)
                .arg("--out")
                .arg(&out)
                .assert()
        })
    };
    let a = assert_file.await.unwrap().success();
    assert!(a.get_output().stdout.is_empty());
    let w = check(&std::fs::read_to_string(&out).unwrap());
    assert!(w.what.contains("org org-alpha"), "{}", w.what);
    // Default: stdout.
    let stdout = tokio::task::spawn_blocking(move || {
        Command::cargo_bin("replays")
            .unwrap()
            .env_clear()
            .args(args)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone()
    })
    .await
    .unwrap();
    check(&String::from_utf8(stdout).unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journal_is_read_page_by_page_and_a_dead_stub_is_exit_2() {
    let stub = start_default().await;
    let base = stub.base_url();
    let c = client();
    for i in 0..7 {
        assert_eq!(
            provision(&c, &base, "org-p", &format!("ws-{i}"))
                .await
                .status(),
            201
        );
    }
    let opts = replays::WireExportOptions {
        stub: base.clone(),
        workspaces: vec!["ws-3".into()],
        org: None,
        timeout: std::time::Duration::from_secs(10),
        page_size: 2,
    };
    let export = replays::wire_export(&opts).await.unwrap();
    let bodies: Vec<String> = export
        .file
        .calls
        .iter()
        .map(|c| c.body["workspace_id"].to_string())
        .collect();
    assert_eq!(
        bodies,
        [
            "\"ws-0\"",
            "\"ws-1\"",
            "\"ws-2\"",
            "\"{workspace_id}\"",
            "\"ws-4\"",
            "\"ws-5\"",
            "\"ws-6\""
        ]
    );
    assert_eq!(export.dropped, 0);

    // Not a stub: exit 2, naming the URL.
    let dead = dead_url().await;
    let out = tokio::task::spawn_blocking(move || {
        Command::cargo_bin("replays")
            .unwrap()
            .env_clear()
            .args(["wire-export", "--stub", &dead])
            .assert()
            .code(2)
            .get_output()
            .stderr
            .clone()
    })
    .await
    .unwrap();
    let err = String::from_utf8(out).unwrap();
    assert!(
        err.contains("cannot read the journal at http://127.0.0.1:"),
        "{err}"
    );
}

/// A loopback URL where nothing listens.
async fn dead_url() -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}")
}
