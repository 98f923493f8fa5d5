//! No secret in any output of the reference tenant: its log lines (stderr),
//! its answers and its `/__/tenant/cp` evidence hold none of the tokens,
//! secrets and URL passwords it was started with or was served — whatever
//! the CP answered, failures included.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;
use contract::admin::FaultSpec;
use contract::RouteId;
use serde_json::{json, Value};
use test_support::{stub::*, *};

const ADMIN_TOKEN: &str = "td-admin-S3CRET-1";
const SHARED_SECRET: &str = "td-shared-S3CRET-2";
const ADMIN_API_TOKEN: &str = "td-api-S3CRET-3";
const URL_PASSWORD: &str = "td-url-S3CRET-4";
const LLM_TOKEN: &str = "td-llm-S3CRET-5";
const BODY_SECRET: &str = "td-body-S3CRET-6";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn get(port: u16, path: &str) -> String {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\nX-Molecule-Org-Id: org-alpha\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_the_tenants_log_answers_or_evidence() {
    let stub = start_default().await;
    let addr = stub.local_addr();
    // A failing provision whose answer carries a secret, once.
    let c = client();
    let fault = FaultSpec {
        route: RouteId::Provision.into(),
        status: Some(400),
        body: Some(json!({"error": format!("bad request: token={BODY_SECRET}")})),
        times: Some(1),
        ..Default::default()
    };
    let resp = c
        .post(format!("{}/__/stub/faults", stub.base_url()))
        .json(&fault)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);

    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("stderr.log");
    let port = free_port();
    let cp = format!("http://harness:{URL_PASSWORD}@{addr}");
    let mut child = Command::cargo_bin("tenant-double")
        .unwrap()
        .env_clear()
        .env("PORT", port.to_string())
        .env("MOLECULE_ORG_ID", "org-alpha")
        .env("ADMIN_TOKEN", ADMIN_TOKEN)
        .env("MOLECULE_CP_SHARED_SECRET", SHARED_SECRET)
        .env("CP_ADMIN_API_TOKEN", ADMIN_API_TOKEN)
        .env("CP_PROVISION_URL", &cp)
        .env("MOLECULE_CP_URL", &cp)
        .envs(test_support::tenant::LLM_ENV)
        .env("MOLECULE_LLM_USAGE_TOKEN", LLM_TOKEN)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "tenant-double never listened");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let base = format!("http://127.0.0.1:{port}");
    let mut outputs = Vec::new();
    // Two workspaces: the first provision meets the fault, the second succeeds.
    for name in ["first", "second"] {
        let resp = c
            .post(format!("{base}/workspaces"))
            .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
            .header("x-molecule-org-id", "org-alpha")
            .json(&json!({"name": name, "tier": 1}))
            .send()
            .await
            .unwrap();
        outputs.push(resp.text().await.unwrap());
    }
    // Wait until both provisions were answered at the stub.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let page: Value = c
            .get(format!(
                "{}/__/stub/requests?route=provision",
                stub.base_url()
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if page["entries"].as_array().map_or(0, Vec::len) >= 2 {
            break;
        }
        assert!(Instant::now() < deadline, "the provisions never arrived");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let list = get(port, "/workspaces");
    let ids: Vec<String> = list
        .split("\"id\":\"")
        .skip(1)
        .filter_map(|s| s.split('"').next().map(str::to_string))
        .collect();
    for id in &ids {
        outputs.push(get(port, &format!("/workspaces/{id}")));
        outputs.push(get(port, &format!("/workspaces/{id}/console")));
    }
    outputs.push(get(port, "/__/tenant/cp"));
    outputs.push(list);

    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let _ = child.wait();
    outputs.push(std::fs::read_to_string(&log).unwrap());

    let all = outputs.join("\n");
    assert!(
        all.contains("provision"),
        "the outputs say nothing at all, so the test proves nothing: {all}"
    );
    for secret in [
        ADMIN_TOKEN,
        SHARED_SECRET,
        ADMIN_API_TOKEN,
        URL_PASSWORD,
        LLM_TOKEN,
        BODY_SECRET,
        cp_stub::DEFAULT_SHARED_SECRET,
    ] {
        assert!(
            !all.contains(secret),
            "tenant-double shows {secret} in its output:\n{all}"
        );
    }
    stub.shutdown().await;
}
