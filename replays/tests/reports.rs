//! The `replays` binary's reports and its parallel runner, end to end
//! against an in-process cp-stub: JUnit and JSON parsed back, and exact
//! counters under `--jobs 4`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use test_support::stub::start_default;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// The reports, parsed back: JUnit with quick-junit's reader, JSON with serde.
#[test]
fn junit_and_json_reports_parse_back() {
    let rt = runtime();
    let stub = rt.block_on(start_default());
    let tmp = tempfile::tempdir().unwrap();
    let junit = tmp.path().join("junit.xml");
    let json = tmp.path().join("report.json");
    let out = assert_cmd::Command::new(env!("CARGO_BIN_EXE_replays"))
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/every-result-kind"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("CP_STUB_BASE", stub.base_url())
        .args(["run", "--dir", "replays", "--junit"])
        .arg(&junit)
        .arg("--json")
        .arg(&json)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));

    let report =
        quick_junit::Report::deserialize_from_str(&std::fs::read_to_string(&junit).unwrap())
            .unwrap();
    assert_eq!(report.test_suites.len(), 1);
    let suite = &report.test_suites[0];
    assert_eq!(suite.name.as_str(), "replays");
    let by_name: BTreeMap<&str, &quick_junit::TestCase> = suite
        .test_cases
        .iter()
        .map(|c| (c.name.as_str(), c))
        .collect();
    use quick_junit::{NonSuccessKind, TestCaseStatus};
    assert!(matches!(
        by_name["kind-pass"].status,
        TestCaseStatus::Success { .. }
    ));
    match &by_name["kind-fail"].status {
        TestCaseStatus::NonSuccess {
            kind: NonSuccessKind::Failure,
            message,
            description,
            ..
        } => {
            assert!(message.as_ref().unwrap().as_str().contains("status is 418"));
            let text = description.as_ref().unwrap().as_str();
            assert!(text.contains("reproduce: curl -sS -i"), "{text}");
            assert!(
                text.contains("[this replay]"),
                "journal slice in the failure: {text}"
            );
        }
        other => panic!("kind-fail: {other:?}"),
    }
    assert!(matches!(
        by_name["kind-error"].status,
        TestCaseStatus::NonSuccess {
            kind: NonSuccessKind::Error,
            ..
        }
    ));
    assert!(
        matches!(&by_name["kind-xpass"].status, TestCaseStatus::NonSuccess { kind: NonSuccessKind::Failure, ty: Some(t), .. } if t.as_str() == "XPASS")
    );
    assert!(matches!(
        &by_name["kind-skip"].status,
        TestCaseStatus::Skipped { .. }
    ));
    assert!(
        matches!(&by_name["kind-xfail"].status, TestCaseStatus::Skipped { ty: Some(t), .. } if t.as_str() == "xfail")
    );

    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(doc["exit_code"], 1);
    assert_eq!(doc["summary"]["total"], 6);
    assert_eq!(doc["counts"]["xpass"], 1);
    let outcomes: BTreeMap<String, String> = doc["replays"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(outcomes["kind-fail"], "FAIL");
    assert_eq!(outcomes["kind-xfail"], "XFAIL");
    let fail = doc["replays"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "kind-fail")
        .unwrap();
    assert!(fail["bundle"]["curl"]
        .as_str()
        .unwrap()
        .starts_with("curl "));
    assert_eq!(fail["steps"][0]["checks"][0]["expected"], "418");
    rt.block_on(stub.shutdown());
}

/// `--jobs 4` over replays that assert exact counters while others hammer
/// the same routes and org: every exact assertion holds, every time
/// (incident D11) — in the replay's own scope, so they run in parallel.
#[test]
fn parallel_jobs_keep_exact_counters() {
    let rt = runtime();
    let stub = rt.block_on(start_default());
    let dir = tempfile::tempdir().unwrap();
    for i in 0..6 {
        std::fs::write(
            dir.path().join(format!("exact-{i}.toml")),
            format!(
                r#"name = "exact-{i}"
[[step]]
name = "provision"
request = {{ method = "POST", url = "${{CP_STUB_BASE}}/cp/workspaces/provision", json = {{ org_id = "org-shared", workspace_id = "w-${{REPLAY_ID}}", runtime = "r", tier = 1, platform_url = "http://t", env = {{}} }} }}
expect.status = 201
expect.counters = [{{ counter = "provision_calls", delta = 1, replay = true }}, {{ counter = "total_requests", delta = 1, replay = true }}, {{ counter = "provision_calls", delta = 1, workspace = "w-${{REPLAY_ID}}" }}]
[[step]]
name = "config"
request = {{ url = "${{CP_STUB_BASE}}/cp/tenants/config", headers = {{ "X-Molecule-Org-Id" = "org-shared" }} }}
expect.counters = [{{ counter = "tenants_config_calls", delta = 1, replay = true }}, {{ counter = "provision_calls", delta = 1, replay = true, since = "provision" }}]
"#
            ),
        )
        .unwrap();
        std::fs::write(
            dir.path().join(format!("noise-{i}.toml")),
            format!(
                r#"name = "noise-{i}"
requires = ["CP_STUB_BASE"]
[[step]]
request = {{ method = "POST", url = "${{CP_STUB_BASE}}/cp/workspaces/provision", json = {{ org_id = "org-shared", workspace_id = "n-{i}", runtime = "r", tier = 1, platform_url = "http://t", env = {{}} }} }}
expect.status = 201
[[step]]
request = {{ url = "${{CP_STUB_BASE}}/cp/tenants/config", headers = {{ "X-Molecule-Org-Id" = "org-shared" }} }}
expect.status = 200
[[step]]
request = {{ method = "POST", url = "${{CP_STUB_BASE}}/cp/workspaces/provision", json = {{ org_id = "org-shared", workspace_id = "m-{i}", runtime = "r", tier = 1, platform_url = "http://t", env = {{}} }} }}
expect.status = 201
"#
            ),
        )
        .unwrap();
    }
    for round in 0..3 {
        let json = dir.path().join(format!("r{round}.json"));
        let out = assert_cmd::Command::new(env!("CARGO_BIN_EXE_replays"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("CP_STUB_BASE", stub.base_url())
            .args(["run", "-q", "--jobs", "4", "--dir"])
            .arg(dir.path())
            .arg("--json")
            .arg(&json)
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "round {round}:\n{stdout}");
        assert!(
            stdout.contains("Replay summary: 12 passed, 0 failed, 0 skipped (of 12 total)"),
            "{stdout}"
        );
    }
    rt.block_on(stub.shutdown());
}
