//! `replays gate` on the embedded stack: it passes on a clean stack, and
//! for each injected drift (incidents D1, D2, D3, D4) the gate fails with a
//! message that names the cause — seed's own error when seed is what
//! catches it, and the tenant-side replays' `because` texts when the
//! replays run against the drifted stack without seed (hand-seeded env
//! file), so the replays catch it on their own too.
//!
//! Real loopback sockets, in-process servers. No timed assertions.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use contract::admin::FaultSpec;
use replay_runner::{render_replay, ColorChoice, EnvFile, Outcome, RunOptions, Style, Summary};
use replays::stack::{Embedded, Endpoints, RunningStack, StackOptions, TenantOptions};
use replays::{GateOptions, StackChoice};
use serde_json::{json, Value};

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("cases")
}

fn run_options(filter: Option<&str>) -> RunOptions {
    RunOptions {
        dir: cases_dir(),
        env_file: EnvFile::Disabled,
        process_env: Some(BTreeMap::new()),
        filter: filter.map(str::to_string),
        color: ColorChoice::Never,
        print: false,
        ..RunOptions::default()
    }
}

fn gate_options(stack: StackOptions) -> GateOptions {
    GateOptions {
        stack: StackChoice::Embedded(stack),
        run: run_options(None),
        seed_timeout: Duration::from_secs(30),
        seed_env_file: None,
        progress: false,
    }
}

/// Every replay's text block, as `replays run` prints it (no colour).
fn text(summary: &Summary) -> String {
    summary
        .replays
        .iter()
        .map(|r| render_replay(r, &Style::default()))
        .collect()
}

fn outcome(summary: &Summary, name: &str) -> Outcome {
    summary
        .replays
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no replay {name}"))
        .outcome
}

/// The text of one replay.
fn replay_text(summary: &Summary, name: &str) -> String {
    let r = summary
        .replays
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no replay {name}"));
    render_replay(r, &Style::default())
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// Seeding without seed: create the four workspaces through the tenant
/// API (no waiting, no attribution check) and write every key by hand, so
/// the replays run against a drifted stack that seed would have refused.
async fn hand_seed(e: &Endpoints, dir: &Path) -> PathBuf {
    let http = client();
    let mut ids = BTreeMap::new();
    for t in [&e.alpha, &e.beta] {
        let mut parent = None;
        for (suffix, tier) in [("parent", 0), ("child", 1)] {
            let mut body = json!({"name": format!("{}-{suffix}", t.label), "tier": tier});
            if let Some(p) = &parent {
                body["parent_id"] = json!(p);
            }
            let resp = http
                .post(format!("{}/workspaces", t.base))
                .bearer_auth(&t.admin_token)
                .header("X-Molecule-Org-Id", &t.org_id)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status().as_u16(), 201);
            let v: Value = resp.json().await.unwrap();
            let id = v["id"].as_str().unwrap().to_string();
            ids.insert(
                format!("{}_{}_ID", t.label, suffix).to_uppercase(),
                id.clone(),
            );
            parent = Some(id);
        }
    }
    let mut vars = vec![
        ("SEED_STACK_ID".to_string(), "hand-seeded".to_string()),
        ("SEED_STAMP".to_string(), "2026-01-01T00:00:00Z".to_string()),
        ("CP_STUB_BASE".to_string(), e.stub.clone()),
    ];
    for t in [&e.alpha, &e.beta] {
        let up = t.label.to_uppercase();
        vars.push((format!("{up}_BASE"), t.base.clone()));
        vars.push((format!("{up}_ORG_ID"), t.org_id.clone()));
        vars.push((format!("{up}_ADMIN_TOKEN"), t.admin_token.clone()));
    }
    // Like seed, wait until the tenants are done with them (success or not).
    for (key, id) in &ids {
        let t = if key.starts_with("ALPHA") {
            &e.alpha
        } else {
            &e.beta
        };
        for _ in 0..500 {
            let v: Value = http
                .get(format!("{}/workspaces/{id}", t.base))
                .bearer_auth(&t.admin_token)
                .header("X-Molecule-Org-Id", &t.org_id)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if v["status"] != "provisioning" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    vars.extend(ids.clone());
    vars.push(("ALPHA_ID".into(), ids["ALPHA_PARENT_ID"].clone()));
    vars.push(("BETA_ID".into(), ids["ALPHA_CHILD_ID"].clone()));
    vars.push(("ALPHA_WORKSPACE_ID".into(), ids["ALPHA_PARENT_ID"].clone()));
    vars.push(("BETA_WORKSPACE_ID".into(), ids["BETA_PARENT_ID"].clone()));
    let path = dir.join(".seed.env");
    let body: String = vars.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    std::fs::write(&path, body).unwrap();
    path
}

/// Run the tenant-side replays directly (no seed) against a drifted stack.
async fn tenant_replays_without_seed(stack: &RunningStack) -> Summary {
    let dir = tempfile::tempdir().unwrap();
    let env = hand_seed(stack.endpoints(), dir.path()).await;
    let mut opts = run_options(Some("tenant-"));
    opts.env_file = EnvFile::Path(env);
    // Nothing here waits for a retried fault: the drifts below fail fast.
    opts.replay_timeout = Duration::from_secs(20);
    // Side by side, as the gate runs them: a drift that nothing arrives
    // for is proven by waiting out a replay's poll, once per replay.
    opts.jobs = 4;
    replay_runner::run(&opts).await.unwrap()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

const TENANT_CASES: &[&str] = &[
    "tenant-admin-restart",
    "tenant-config-applied",
    "tenant-cp-bases",
    "tenant-isolation",
    "tenant-provision-attributed",
    "tenant-stop-reaches-stub",
];

/// The README's main-job command, as a process: exit 0, every replay PASS,
/// JUnit and JSON written, each phase timed on stderr.
#[test]
fn gate_passes_on_the_clean_embedded_stack() {
    let tmp = tempfile::tempdir().unwrap();
    // Report folders that do not exist yet are made.
    let junit = tmp.path().join("reports/junit.xml");
    let json_path = tmp.path().join("reports/report.json");
    let out = assert_cmd::Command::new(env!("CARGO_BIN_EXE_replays"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        // A stale exported seed key must not beat the gate's own .seed.env.
        .env("ALPHA_BASE", "http://127.0.0.1:1")
        .current_dir(tmp.path())
        .arg("gate")
        .arg("--dir")
        .arg(cases_dir())
        .arg("--junit")
        .arg(&junit)
        .arg("--json")
        .arg(&json_path)
        .args(["--color", "never"])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    for name in TENANT_CASES {
        assert!(
            stdout.contains(&format!("[replay] PASS: {name} (")),
            "{name} did not pass:\n{stdout}"
        );
    }
    assert!(
        stdout.contains("10 passed, 0 failed, 0 skipped"),
        "{stdout}"
    );
    for phase in [
        "[gate] stack up: embedded: cp-stub http://127.0.0.1:",
        "[gate] seed: 4 workspaces",
        "[gate] ignoring exported ALPHA_BASE",
        "[gate] replays: exit 0",
        "[gate] down (",
        "[gate] total ",
    ] {
        assert!(stderr.contains(phase), "no `{phase}` in:\n{stderr}");
    }
    let report =
        quick_junit::Report::deserialize_from_str(&std::fs::read_to_string(&junit).unwrap())
            .unwrap();
    assert_eq!(report.test_suites[0].test_cases.len(), 10);
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    assert_eq!(doc["exit_code"], 0);
    assert_eq!(doc["counts"]["pass"], 10);
}

/// D2: alpha has only `CP_UPSTREAM_URL`, which neither CP client reads.
#[test]
fn d2_only_cp_upstream_url() {
    let rt = rt();
    let alpha = TenantOptions::alpha()
        .with_env("CP_PROVISION_URL", "")
        .with_env("MOLECULE_CP_URL", "")
        .with_env("CP_UPSTREAM_URL", "{stub}");
    let stack = || StackOptions {
        alpha: alpha.clone(),
        ..StackOptions::default()
    };
    // The gate: seed catches it, with the tenant's own reason.
    let tmp = tempfile::tempdir().unwrap();
    let mut opts = gate_options(stack());
    opts.run.junit = Some(tmp.path().join("junit.xml"));
    opts.run.json = Some(tmp.path().join("report.json"));
    let g = rt.block_on(replays::gate(&opts)).unwrap();
    assert_eq!(g.exit_code, 1);
    let failure = g.failure.clone().unwrap();
    assert!(failure.starts_with("seed: workspace alpha-"), "{failure}");
    assert!(failure.contains("CP_UPSTREAM_URL"), "{failure}");
    assert!(failure.contains("D2"), "{failure}");
    assert!(g.kept && g.workdir.as_ref().is_some_and(|d| d.is_dir()));
    // Reported like a replay, so CI's report shows the cause.
    assert_eq!(outcome(&g.summary, "gate:seed"), Outcome::Error);
    let junit = std::fs::read_to_string(tmp.path().join("junit.xml")).unwrap();
    assert!(junit.contains("CP_UPSTREAM_URL"), "{junit}");
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(doc["exit_code"], 1);
    assert_eq!(doc["replays"][0]["name"], "gate:seed");
    if let Some(d) = &g.workdir {
        let _ = std::fs::remove_dir_all(d);
    }

    // The replays on their own.
    let s = rt.block_on(async {
        let stack = Embedded::start(stack()).await.unwrap();
        let s = tenant_replays_without_seed(&stack).await;
        stack.shutdown().await;
        s
    });
    let bases = replay_text(&s, "tenant-cp-bases");
    assert_eq!(outcome(&s, "tenant-cp-bases"), Outcome::Fail, "{bases}");
    assert!(bases.contains("✗ $.provision.source matches"), "{bases}");
    assert!(
        bases.contains(
            "because: tenant alpha's CP bases do not come from the variables its CP clients read"
        ),
        "{bases}"
    );
    assert!(
        bases.contains("CP_UPSTREAM_URL is read by neither client (D2)"),
        "{bases}"
    );
    let provision = replay_text(&s, "tenant-provision-attributed");
    assert_eq!(outcome(&s, "tenant-provision-attributed"), Outcome::Fail);
    assert!(
        provision.contains("provision never reached the stub under org-alpha"),
        "{provision}"
    );
    let config = replay_text(&s, "tenant-config-applied");
    assert_eq!(outcome(&s, "tenant-config-applied"), Outcome::Fail);
    assert!(
        config.contains("no MOLECULE_CP_URL / MOLECULE_CP_DEFAULT_URL is set (D2)"),
        "{config}"
    );
}

fn nested_config_fault() -> FaultSpec {
    FaultSpec {
        route: contract::RouteId::TenantsConfig.into(),
        status: Some(200),
        body: Some(json!({
            "MOLECULE_CP_URL": "http://cp-stub:9090",
            "runtimes": ["claude-code"],
            "llm_endpoints": {"anthropic": "http://llm"},
            "feature_flags": {"x": true},
        })),
        ..FaultSpec::default()
    }
}

/// D1: the stub's tenant config is nested, armed before the tenants boot.
/// Seed catches it from the stub's journal right after boot; the replays
/// catch it on their own too.
#[test]
fn d1_nested_tenant_config() {
    let rt = rt();
    let stack = || StackOptions {
        faults: vec![nested_config_fault()],
        ..StackOptions::default()
    };
    // Seed writes where it is told (a given file is not a temp folder's),
    // and on a failure leaves it unwritten.
    let tmp = tempfile::tempdir().unwrap();
    let mut opts = gate_options(stack());
    opts.seed_env_file = Some(tmp.path().join("seed.env"));
    let g = rt.block_on(replays::gate(&opts)).unwrap();
    assert_eq!(g.exit_code, 1, "{}", text(&g.summary));
    let failure = g.failure.clone().unwrap();
    assert!(
        failure.starts_with("seed: tenant alpha's boot config call (GET /cp/tenants/config under org-alpha) was answered 200 with a body the client cannot decode"),
        "{failure}"
    );
    assert!(
        failure.contains("/runtimes") && failure.contains("(incident D1)"),
        "{failure}"
    );
    assert_eq!(g.env_file, tmp.path().join("seed.env"));
    assert!(g.workdir.is_none() && !g.kept);
    assert!(!g.env_file.exists());

    let s = rt.block_on(async {
        let stack = Embedded::start(stack()).await.unwrap();
        let s = tenant_replays_without_seed(&stack).await;
        stack.shutdown().await;
        s
    });
    let config = replay_text(&s, "tenant-config-applied");
    assert_eq!(outcome(&s, "tenant-config-applied"), Outcome::Fail);
    assert!(config.contains("✗ $.config_refresh.ok == true"), "{config}");
    assert!(config.contains("/runtimes"), "{config}");
    assert!(
        config.contains("a nested value (runtimes / llm_endpoints / feature_flags) breaks the client's flat map[string]string decode (D1)"),
        "{config}"
    );
    // Provisioning itself is unaffected.
    assert_eq!(outcome(&s, "tenant-provision-attributed"), Outcome::Pass);
}

/// D3: the stub answers provision with 200 and the old body.
#[test]
fn d3_provision_answers_200() {
    let rt = rt();
    let stack = || StackOptions {
        faults: vec![FaultSpec {
            route: contract::RouteId::Provision.into(),
            status: Some(200),
            body: Some(
                json!({"workspace_id": "w", "status": "ok", "phase": "running", "url": "http://w"}),
            ),
            ..FaultSpec::default()
        }],
        ..StackOptions::default()
    };
    let g = rt.block_on(replays::gate(&gate_options(stack()))).unwrap();
    assert_eq!(g.exit_code, 1);
    let failure = g.failure.clone().unwrap();
    assert!(failure.contains("failed to provision"), "{failure}");
    assert!(failure.contains("provision failed (200)"), "{failure}");
    // The fix named is the stub's answer, not the tenant's CP variables.
    assert!(
        failure.contains("answered 200 where the real client needs 201"),
        "{failure}"
    );
    assert!(
        !failure.contains("fix the tenant's CP settings"),
        "{failure}"
    );
    if let Some(d) = &g.workdir {
        let _ = std::fs::remove_dir_all(d);
    }

    let s = rt.block_on(async {
        let stack = Embedded::start(stack()).await.unwrap();
        let s = tenant_replays_without_seed(&stack).await;
        stack.shutdown().await;
        s
    });
    let provision = replay_text(&s, "tenant-provision-attributed");
    assert_eq!(outcome(&s, "tenant-provision-attributed"), Outcome::Fail);
    assert!(provision.contains("step accepted-201"), "{provision}");
    assert!(provision.contains("provision failed (200)"), "{provision}");
    assert!(
        provision.contains("it takes exactly 201 with a non-empty instance_id and state (D3)"),
        "{provision}"
    );
}

/// D4: alpha provisions through another CP (a second, separate stub): the
/// tenant is happy (201 from the other stub), only attribution shows it.
#[test]
fn d4_provision_misrouted_to_another_stub() {
    let rt = rt();
    let other = rt
        .block_on(cp_stub::start(cp_stub::Config {
            port: 0,
            ..Default::default()
        }))
        .unwrap();
    let stack = || StackOptions {
        alpha: TenantOptions::alpha().with_env("CP_PROVISION_URL", &other.base_url()),
        ..StackOptions::default()
    };
    let g = rt.block_on(replays::gate(&gate_options(stack()))).unwrap();
    assert_eq!(g.exit_code, 1);
    let failure = g.failure.clone().unwrap();
    assert!(
        failure
            .contains("the stub never received its provision call under org-alpha (incident D4)"),
        "{failure}"
    );
    if let Some(d) = &g.workdir {
        let _ = std::fs::remove_dir_all(d);
    }

    let s = rt.block_on(async {
        let stack = Embedded::start(stack()).await.unwrap();
        let s = tenant_replays_without_seed(&stack).await;
        stack.shutdown().await;
        s
    });
    let provision = replay_text(&s, "tenant-provision-attributed");
    assert_eq!(outcome(&s, "tenant-provision-attributed"), Outcome::Fail);
    assert!(
        provision.contains("✗ counter provision_calls +1 for org org-alpha since step `create`"),
        "{provision}"
    );
    assert!(provision.contains("actual:   0 (0 → 0)"), "{provision}");
    assert!(
        provision.contains("0 = provision never reached the stub under org-alpha: the tenant's CP_PROVISION_URL / MOLECULE_CP_URL do not point at this stub"),
        "{provision}"
    );
    let restart = replay_text(&s, "tenant-admin-restart");
    assert_eq!(outcome(&s, "tenant-admin-restart"), Outcome::Fail);
    assert!(
        restart.contains("the re-provision never reached the stub under org-alpha"),
        "{restart}"
    );
    rt.block_on(other.shutdown());
}

/// D4 with a closed port: every attempt fails on the wire and is retried
/// (the one test that shortens the retry backoff, because it injects a
/// retried fault).
#[test]
fn d4_provision_to_a_closed_port() {
    let rt = rt();
    let dead = test_support::dead_base();
    let mut alpha = TenantOptions::alpha().with_env("CP_PROVISION_URL", &dead);
    alpha.retry = tenant_double::RetryPolicy::fast();
    let stack = || StackOptions {
        alpha: alpha.clone(),
        ..StackOptions::default()
    };
    let g = rt.block_on(replays::gate(&gate_options(stack()))).unwrap();
    assert_eq!(g.exit_code, 1);
    let failure = g.failure.clone().unwrap();
    assert!(
        failure.contains("workspace alpha-") && failure.contains("failed to provision"),
        "{failure}"
    );
    assert!(failure.contains("gave up after 6 attempts"), "{failure}");
    assert!(failure.contains(&dead), "{failure}");
    if let Some(d) = &g.workdir {
        let _ = std::fs::remove_dir_all(d);
    }

    let s = rt.block_on(async {
        let stack = Embedded::start(stack()).await.unwrap();
        let s = tenant_replays_without_seed(&stack).await;
        stack.shutdown().await;
        s
    });
    let provision = replay_text(&s, "tenant-provision-attributed");
    assert_eq!(outcome(&s, "tenant-provision-attributed"), Outcome::Fail);
    assert!(
        provision.contains("0 = provision never reached the stub under org-alpha"),
        "{provision}"
    );
}

/// `replays gate --stack compose` against compose.yml (needs Docker and the
/// images; builds them when missing). Not part of the default run:
/// `cargo test -p replays --test gate -- --ignored`. Ports 19090, 18081 and
/// 18082 keep it clear of a stack already up on the defaults.
#[test]
#[ignore = "needs Docker, compose and the cp-harness images"]
fn compose_gate_passes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = assert_cmd::Command::new(env!("CARGO_BIN_EXE_replays"))
        .current_dir(&root)
        .env("CP_STUB_PORT", "19090")
        .env("ALPHA_PORT", "18081")
        .env("BETA_PORT", "18082")
        .env_remove("KEEP_UP")
        .args(["gate", "--stack", "compose", "--color", "never"])
        .timeout(Duration::from_secs(900))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    for name in TENANT_CASES {
        assert!(
            stdout.contains(&format!("[replay] PASS: {name} (")),
            "{stdout}"
        );
    }
    assert!(stderr.contains("[gate] healthy in "), "{stderr}");
    assert!(stderr.contains("[gate] down ("), "{stderr}");
}

/// A stack that does not come up is exit 1 with the cause, reported like a
/// replay (`gate:stack`), and nothing else runs.
#[test]
fn stack_failures_are_named() {
    let rt = rt();
    let g = rt
        .block_on(replays::gate(&gate_options(StackOptions {
            alpha: TenantOptions::alpha().with_env("MOLECULE_ORG_ID", ""),
            ..StackOptions::default()
        })))
        .unwrap();
    assert_eq!(g.exit_code, 1);
    let failure = g.failure.clone().unwrap();
    assert!(
        failure.starts_with("embedded stack: tenant alpha did not start")
            && failure.contains("MOLECULE_ORG_ID is empty"),
        "{failure}"
    );
    assert_eq!(g.summary.replays.len(), 1);
    assert_eq!(outcome(&g.summary, "gate:stack"), Outcome::Error);
    assert!(g.seed.is_none() && g.endpoints.is_none());
    if let Some(d) = &g.workdir {
        let _ = std::fs::remove_dir_all(d);
    }

    let g = rt
        .block_on(replays::gate(&gate_options(StackOptions {
            faults: vec![FaultSpec {
                route: contract::RouteId::Provision.into(),
                status: Some(1000),
                ..FaultSpec::default()
            }],
            ..StackOptions::default()
        })))
        .unwrap();
    assert_eq!(g.exit_code, 1);
    let failure = g.failure.clone().unwrap();
    assert!(
        failure.starts_with("embedded stack: arming the fault")
            && failure.contains("\"status\":1000")
            && failure.contains("the stub answered 400"),
        "{failure}"
    );
    if let Some(d) = &g.workdir {
        let _ = std::fs::remove_dir_all(d);
    }
}
