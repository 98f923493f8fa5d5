//! `replays gate --opaque-tenants`: both tenants answer as the real tenant
//! (`tenant-double --no-evidence`: no `/__/tenant/*`, `provisioning` after
//! a provision, no `instance_id`), every replay runs with its
//! reference-only (`evidence`) steps and checks SKIP, and each drift still
//! turns the gate red with its cause named — caught from the stub's side
//! (seed reads the stub's journal) since the tenants show nothing. On
//! failure the tenants' own log lines are in the outcome; every run names
//! the stack.
//!
//! Real loopback sockets, in-process servers. No timed assertions.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use contract::admin::FaultSpec;
use replay_runner::{render_replay, ColorChoice, EnvFile, Outcome, RunOptions, Style, Summary};
use replays::stack::{Embedded, Endpoints, StackOptions, TenantOptions};
use replays::{GateOptions, GateOutcome, StackChoice};
use serde_json::{json, Value};

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("cases")
}

fn opaque(stack: StackOptions) -> GateOptions {
    GateOptions {
        stack: StackChoice::Embedded(StackOptions {
            opaque_tenants: true,
            ..stack
        }),
        run: RunOptions {
            dir: cases_dir(),
            env_file: EnvFile::Disabled,
            process_env: Some(BTreeMap::new()),
            color: ColorChoice::Never,
            print: false,
            ..RunOptions::default()
        },
        seed_timeout: Duration::from_secs(30),
        seed_env_file: None,
        progress: false,
    }
}

fn run(stack: StackOptions) -> GateOutcome {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let g = rt.block_on(replays::gate(&opaque(stack))).unwrap();
    if let Some(d) = &g.workdir {
        let _ = std::fs::remove_dir_all(d);
    }
    g
}

/// A red gate whose failure (seed's message) contains every `needle`, and
/// whose outcome carries the opaque tenants' own log lines.
fn red(g: &GateOutcome, needles: &[&str]) -> String {
    assert_eq!(g.exit_code, 1);
    let failure = g.failure.clone().expect("a stack or seed failure");
    for n in needles {
        assert!(failure.contains(n), "no `{n}` in: {failure}");
    }
    assert!(!failure.contains("/__/tenant/"), "{failure}");
    let logs = g.logs.clone().expect("the tenants' logs on failure");
    for label in ["alpha", "beta"] {
        assert!(
            logs.contains(&format!("---- tenant {label} (")) && logs.contains(", opaque; last "),
            "{logs}"
        );
    }
    assert!(logs.contains("CP provision base"), "{logs}");
    failure
}

fn fault(route: contract::RouteId, status: u16, body: serde_json::Value) -> FaultSpec {
    FaultSpec {
        route: route.into(),
        status: Some(status),
        body: Some(body),
        ..FaultSpec::default()
    }
}

/// The CLI: exit 0, every replay run and passed, the evidence steps
/// skipped and counted (text, JUnit, JSON), the stack named.
#[test]
fn the_gate_passes_with_opaque_tenants() {
    let tmp = tempfile::tempdir().unwrap();
    let junit = tmp.path().join("junit.xml");
    let json = tmp.path().join("report.json");
    let out = assert_cmd::Command::new(env!("CARGO_BIN_EXE_replays"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("GATE_OPAQUE_TENANTS", "1")
        .current_dir(tmp.path())
        .arg("gate")
        .arg("--dir")
        .arg(cases_dir())
        .args(["--color", "never"])
        .arg("--junit")
        .arg(&junit)
        .arg("--json")
        .arg(&json)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("\n10 passed, 0 failed, 0 skipped\n"),
        "{stdout}"
    );
    for name in EVIDENCE_REPLAYS {
        assert!(
            stdout.contains(&format!("[replay] PASS: {name} (")),
            "{name}: {stdout}"
        );
    }
    assert!(
        stdout.contains("[replay] PASS: tenant-isolation ("),
        "{stdout}"
    );
    // Each skip names the tenant (variable and URL) and the endpoint.
    let skip = regex::Regex::new(
        r"step recorded-by-tenant: SKIP tenant BETA_BASE=http://127\.0\.0\.1:\d+ has no evidence \(GET /__/tenant/cp answered 404: an opaque tenant\); reference-only step skipped",
    )
    .unwrap();
    assert!(skip.is_match(&stdout), "{stdout}");
    let total = regex::Regex::new(
        r"Evidence skipped: (\d+) reference-only step\(s\) and check\(s\) in 5 replay\(s\)",
    )
    .unwrap();
    let n: usize = total
        .captures(&stdout)
        .unwrap_or_else(|| panic!("no evidence total in {stdout}"))[1]
        .parse()
        .unwrap();
    assert!(n >= EVIDENCE_REPLAYS.len(), "{stdout}");
    assert!(!stdout.contains("✗"), "{stdout}");
    assert!(
        stderr.contains(
            "[gate] opaque tenants: every replay runs; its reference-only steps and checks"
        ),
        "{stderr}"
    );
    // The reports count the same.
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(doc["summary"]["evidence_skipped"], n, "{doc}");
    assert_eq!(doc["summary"]["failed"], 0);
    let per_replay: usize = doc["replays"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["evidence_skipped"].as_u64().unwrap() as usize)
        .sum();
    assert_eq!(per_replay, n);
    let report =
        quick_junit::Report::deserialize_from_str(&std::fs::read_to_string(&junit).unwrap())
            .unwrap();
    let suite = &report.test_suites[0];
    assert_eq!(suite.failures + suite.errors, 0);
    let prop = |props: &[quick_junit::Property]| {
        props
            .iter()
            .find(|p| p.name.as_str() == "evidence_skipped")
            .map(|p| p.value.as_str().parse::<usize>().unwrap())
    };
    assert_eq!(prop(&suite.properties), Some(n));
    let stop = suite
        .test_cases
        .iter()
        .find(|c| c.name.as_str() == "tenant-stop-reaches-stub")
        .unwrap();
    assert!(matches!(
        stop.status,
        quick_junit::TestCaseStatus::Success { .. }
    ));
    assert!(prop(&stop.properties).is_some_and(|k| k > 0));
    let out = stop.system_out.as_ref().unwrap().to_string();
    assert!(
        out.contains("evidence skipped: step `recorded-by-tenant` skipped: tenant BETA_BASE=http://127.0.0.1:"),
        "{out}"
    );
    for line in [
        "[gate] stack: cp-stub 0.1.0 (git ",
        &format!("contract {})", contract::fingerprint()),
        "; tenant alpha git ",
        "(opaque tenants)",
        "[gate] ran against: cp-stub ",
    ] {
        assert!(stderr.contains(line), "no `{line}` in:\n{stderr}");
    }
}

/// The replays that read tenant evidence (`/__/tenant/*`, `running`,
/// `instance_id`) in some step or check.
const EVIDENCE_REPLAYS: [&str; 5] = [
    "tenant-admin-restart",
    "tenant-config-applied",
    "tenant-cp-bases",
    "tenant-provision-attributed",
    "tenant-stop-reaches-stub",
];

#[test]
fn the_outcome_names_the_stack_and_counts_the_skipped_evidence() {
    let g = run(StackOptions::default());
    assert_eq!(g.exit_code, 0, "{:?}", g.failure);
    assert_eq!(g.summary.replays.len(), 10, "every replay runs");
    for r in &g.summary.replays {
        let expect = EVIDENCE_REPLAYS.contains(&r.name.as_str());
        assert_eq!(r.evidence_skipped > 0, expect, "{}: {r:?}", r.name);
        // Only the reference-only parts are skipped: the rest ran.
        if expect {
            assert!(
                r.steps
                    .iter()
                    .any(|s| s.skipped.is_none() && !s.checks.is_empty()),
                "{}",
                r.name
            );
        }
    }
    let stack = g.stack.expect("the stack's identity");
    assert!(stack.stub.contains(contract::fingerprint()), "{stack}");
    assert_eq!(stack.tenants.len(), 2);
    assert!(stack.tenants[0].1.contains("tenant-double"), "{stack}");
    assert!(g.logs.is_none(), "logs are collected on failure only");
}

/// D3: provision answered 200. The tenant side of it (its own log line)
/// is in the outcome and in the JUnit report's system-out.
#[test]
fn d3_provision_answered_200() {
    let tmp = tempfile::tempdir().unwrap();
    let junit = tmp.path().join("junit.xml");
    let mut opts = opaque(StackOptions {
        faults: vec![fault(
            contract::RouteId::Provision,
            200,
            json!({"workspace_id": "w", "status": "ok"}),
        )],
        ..StackOptions::default()
    });
    opts.run.junit = Some(junit.clone());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let g = rt.block_on(replays::gate(&opts)).unwrap();
    if let Some(d) = &g.workdir {
        let _ = std::fs::remove_dir_all(d);
    }
    let failure = red(
        &g,
        &[
            "seed: workspace alpha-", // parent or child: whichever the tenant marks failed first
            "failed to provision: the tenant reports it failed",
            "the stub answered its 1 provision call(s) under org-alpha with 200",
            "answered 200 where the real client needs 201",
            "(incident D3)",
        ],
    );
    assert!(
        !failure.contains("fix the tenant's CP settings"),
        "{failure}"
    );
    assert!(g.logs.unwrap().contains("provision failed (200)"));
    let report =
        quick_junit::Report::deserialize_from_str(&std::fs::read_to_string(&junit).unwrap())
            .unwrap();
    let case = &report.test_suites[0].test_cases[0];
    assert_eq!(case.name.as_str(), "gate:seed");
    let out = case
        .system_out
        .as_ref()
        .map(|o| o.to_string())
        .unwrap_or_default();
    assert!(
        out.contains("---- tenant alpha (") && out.contains("provision failed (200)"),
        "{out}"
    );
}

/// D3/D10: a 201 the client cannot decode (`state: 7`).
#[test]
fn d3_provision_201_the_client_cannot_decode() {
    let g = run(StackOptions {
        faults: vec![fault(
            contract::RouteId::Provision,
            201,
            json!({"instance_id": "mol-ws-x", "state": 7}),
        )],
        ..StackOptions::default()
    });
    red(
        &g,
        &[
            "seed: workspace alpha-", // parent or child: whichever the tenant marks failed first
            "has no instance: the stub answered its provision call 201 with",
            r#""state":7"#,
            "/state",
            "incident D3",
        ],
    );
}

/// D10: a 201 whose instance id is not the CP's `mol-ws-`.
#[test]
fn d10_provision_201_without_a_mol_ws_id() {
    let g = run(StackOptions {
        faults: vec![fault(
            contract::RouteId::Provision,
            201,
            json!({"instance_id": "i-123", "state": "running"}),
        )],
        ..StackOptions::default()
    });
    red(&g, &["has no instance", "`mol-ws-…` id", "incident D10"]);
}

/// D1: a nested tenant config, armed before the tenants boot.
#[test]
fn d1_nested_config() {
    let g = run(StackOptions {
        faults: vec![fault(
            contract::RouteId::TenantsConfig,
            200,
            json!({"MOLECULE_CP_URL": "http://cp-stub:9090", "runtimes": ["claude-code"]}),
        )],
        ..StackOptions::default()
    });
    red(
        &g,
        &[
            "seed: tenant alpha's boot config call (GET /cp/tenants/config under org-alpha)",
            "cannot decode",
            "/runtimes",
            "(incident D1)",
        ],
    );
}

/// D2: alpha wired only through CP_UPSTREAM_URL, which no CP client reads.
#[test]
fn d2_only_cp_upstream_url() {
    let g = run(StackOptions {
        alpha: TenantOptions::alpha()
            .with_env("CP_PROVISION_URL", "")
            .with_env("MOLECULE_CP_URL", "")
            .with_env("CP_UPSTREAM_URL", "{stub}"),
        ..StackOptions::default()
    });
    red(
        &g,
        &[
            "seed: workspace alpha-", // parent or child: whichever the tenant marks failed first
            "the stub received no provision call for it under org-alpha (incident D2)",
            "its boot config call did not reach this stub under org-alpha either",
            "CP_UPSTREAM_URL is read by neither CP client",
        ],
    );
}

/// D4: alpha's MOLECULE_ORG_ID is not the org seed (and the harness) uses.
#[test]
fn d4_tenant_org_differs_from_seeds() {
    let g = run(StackOptions {
        alpha: TenantOptions::alpha().with_env("MOLECULE_ORG_ID", "org-gamma"),
        ..StackOptions::default()
    });
    red(
        &g,
        &[
            "seed: creating alpha-parent on tenant alpha",
            "answered 404",
            "the stub saw no boot config call from it under org-alpha",
            "the tenant's MOLECULE_ORG_ID is not org-alpha (incident D4)",
        ],
    );
}

/// D4: alpha provisions through another stub. The opaque tenant stays
/// `provisioning` either way: only the stub's journal shows that the call
/// never arrived (after seed's arrival window).
#[test]
fn d4_provision_misrouted_to_another_stub() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let other = rt
        .block_on(cp_stub::start(cp_stub::Config {
            port: 0,
            ..Default::default()
        }))
        .unwrap();
    let g = run(StackOptions {
        alpha: TenantOptions::alpha().with_env("CP_PROVISION_URL", &other.base_url()),
        ..StackOptions::default()
    });
    red(
        &g,
        &[
            "seed: tenant alpha (",
            "the stub never received its provision call under org-alpha for alpha-parent",
            "while the tenant reports it provisioning",
            "(incident D4, or D2)",
        ],
    );
    rt.block_on(other.shutdown());
}

/// D17: a provision the tenant keeps retrying (503 at every attempt, the
/// real backoff) is bounded by seed's timeout, and the stub's side names
/// the retried answers although the opaque tenant still shows
/// `provisioning`.
#[test]
fn d17_a_retried_provision_is_bounded_and_named() {
    let mut opts = opaque(StackOptions {
        faults: vec![FaultSpec {
            route: contract::RouteId::Provision.into(),
            org: Some("org-alpha".into()),
            status: Some(503),
            ..FaultSpec::default()
        }],
        ..StackOptions::default()
    });
    opts.seed_timeout = Duration::from_secs(4);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let g = rt.block_on(replays::gate(&opts)).unwrap();
    if let Some(d) = &g.workdir {
        let _ = std::fs::remove_dir_all(d);
    }
    red(
        &g,
        &[
            "seed: workspace alpha-", // parent or child: whichever the tenant marks failed first
            "is not provisioned after",
            "(status provisioning)",
            "provision call(s) under org-alpha with 503, 503",
            "never 201",
        ],
    );
}

// ---- The replays on their own (no seed) against opaque tenants: each
// drift is still a FAIL, caught from the stub's side by a public step.

/// Create the four seed workspaces by hand and wait until each one's
/// provision reached the stub (an opaque tenant stays `provisioning`, so
/// the stub's journal is where that is seen), at most 10 s each.
async fn opaque_hand_seed(e: &Endpoints, dir: &Path) -> PathBuf {
    let http = test_support::client();
    let mut vars = vec![
        ("SEED_STACK_ID".to_string(), "hand-seeded".to_string()),
        ("SEED_STAMP".to_string(), "2026-01-01T00:00:00Z".to_string()),
        ("CP_STUB_BASE".to_string(), e.stub.clone()),
    ];
    let mut ids = BTreeMap::new();
    for t in [&e.alpha, &e.beta] {
        let up = t.label.to_uppercase();
        vars.push((format!("{up}_BASE"), t.base.clone()));
        vars.push((format!("{up}_ORG_ID"), t.org_id.clone()));
        vars.push((format!("{up}_ADMIN_TOKEN"), t.admin_token.clone()));
        let mut parent: Option<String> = None;
        for (suffix, tier) in [("parent", 0), ("child", 1)] {
            let mut body = json!({"name": format!("{}-{suffix}", t.label), "tier": tier});
            if let Some(p) = &parent {
                body["parent_id"] = json!(p);
            }
            let v: Value = http
                .post(format!("{}/workspaces", t.base))
                .bearer_auth(&t.admin_token)
                .header("X-Molecule-Org-Id", &t.org_id)
                .json(&body)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let id = v["id"].as_str().unwrap().to_string();
            ids.insert(format!("{up}_{}_ID", suffix.to_uppercase()), id.clone());
            parent = Some(id);
        }
    }
    // Until every workspace's provision is in the stub's journal, or 5 s
    // (one deadline for all: in a drifted stack some never arrive, and the
    // replays are what must notice).
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let mut waiting: Vec<&String> = ids.values().collect();
    while !waiting.is_empty() && std::time::Instant::now() < deadline {
        let mut still = Vec::new();
        for id in waiting {
            let v: Value = http
                .get(format!(
                    "{}/__/stub/requests?route=provision&workspace={id}",
                    e.stub
                ))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if v["entries"].as_array().is_none_or(|a| a.is_empty()) {
                still.push(id);
            }
        }
        waiting = still;
        if !waiting.is_empty() {
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

/// The replays whose name contains `filter`, on an opaque drifted stack,
/// without seed.
fn opaque_replays_without_seed(stack: StackOptions, filter: &str) -> Summary {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let stack = Embedded::start(StackOptions {
            opaque_tenants: true,
            ..stack
        })
        .await
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let env = opaque_hand_seed(stack.endpoints(), dir.path()).await;
        let opts = RunOptions {
            dir: cases_dir(),
            env_file: EnvFile::Path(env),
            process_env: Some(BTreeMap::new()),
            filter: Some(filter.to_string()),
            color: ColorChoice::Never,
            print: false,
            replay_timeout: Duration::from_secs(20),
            ..RunOptions::default()
        };
        let s = replay_runner::run(&opts).await.unwrap();
        stack.shutdown().await;
        s
    })
}

/// The one replay's outcome and text (its SKIP lines included).
fn only(s: &Summary) -> (Outcome, String) {
    assert_eq!(s.replays.len(), 1, "{s:?}");
    let r = &s.replays[0];
    (r.outcome, render_replay(r, &Style::default()))
}

#[test]
fn opaque_replays_d1_nested_config_fails_at_the_stubs_config() {
    let s = opaque_replays_without_seed(
        StackOptions {
            faults: vec![fault(
                contract::RouteId::TenantsConfig,
                200,
                json!({"MOLECULE_CP_URL": "http://cp-stub:9090", "runtimes": ["claude-code"]}),
            )],
            ..StackOptions::default()
        },
        "tenant-config-applied",
    );
    let (outcome, text) = only(&s);
    assert_eq!(outcome, Outcome::Fail, "{text}");
    assert!(
        text.contains("step alpha-applied-config: SKIP tenant ALPHA_BASE="),
        "{text}"
    );
    assert!(
        text.contains("✗ body matches contract schema tenant_config"),
        "{text}"
    );
    assert!(text.contains("/runtimes"), "{text}");
    assert!(
        text.contains("must be a flat object whose every value is a string (D1)"),
        "{text}"
    );
}

#[test]
fn opaque_replays_d2_only_cp_upstream_url_fails_at_the_stubs_journal() {
    let s = opaque_replays_without_seed(
        StackOptions {
            alpha: TenantOptions::alpha()
                .with_env("CP_PROVISION_URL", "")
                .with_env("MOLECULE_CP_URL", "")
                .with_env("CP_UPSTREAM_URL", "{stub}"),
            ..StackOptions::default()
        },
        "tenant-cp-bases",
    );
    let (outcome, text) = only(&s);
    assert_eq!(outcome, Outcome::Fail, "{text}");
    assert!(text.contains("step alpha-bases: SKIP"), "{text}");
    assert!(text.contains("step alpha-provision-arrived-here"), "{text}");
    assert!(
        text.contains("because: tenant alpha's provision never reached this stub")
            && text.contains("CP_UPSTREAM_URL is read by neither client (D2)"),
        "{text}"
    );
}

#[test]
fn opaque_replays_d3_provision_200_fails_at_the_stubs_journal_or_the_tenants_status() {
    let s = opaque_replays_without_seed(
        StackOptions {
            faults: vec![fault(
                contract::RouteId::Provision,
                200,
                json!({"workspace_id": "w", "status": "ok"}),
            )],
            ..StackOptions::default()
        },
        "tenant-provision-attributed",
    );
    let (outcome, text) = only(&s);
    assert_eq!(outcome, Outcome::Fail, "{text}");
    // Which one depends on how soon the tenant marks it failed.
    assert!(
        text.contains("✗ $.entries[0].status == 201") || text.contains("✗ $.status != \"failed\""),
        "{text}"
    );
    assert!(text.contains("(D3)"), "{text}");
}

#[test]
fn opaque_replays_d10_instance_id_prefix_fails_at_the_stubs_journal() {
    let s = opaque_replays_without_seed(
        StackOptions {
            faults: vec![fault(
                contract::RouteId::Provision,
                201,
                json!({"instance_id": "i-stub-123", "state": "running"}),
            )],
            ..StackOptions::default()
        },
        "tenant-provision-attributed",
    );
    let (outcome, text) = only(&s);
    assert_eq!(outcome, Outcome::Fail, "{text}");
    assert!(text.contains("step answered-201-at-stub"), "{text}");
    assert!(
        text.contains("✗ $.entries[0].response.instance_id matches /^mol-ws-/"),
        "{text}"
    );
    assert!(text.contains("(D10: i-stub- sent"), "{text}");
}

#[test]
fn opaque_replays_d4_misrouted_provision_fails_at_the_stubs_counters() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let other = rt
        .block_on(cp_stub::start(cp_stub::Config {
            port: 0,
            ..Default::default()
        }))
        .unwrap();
    let s = opaque_replays_without_seed(
        StackOptions {
            alpha: TenantOptions::alpha().with_env("CP_PROVISION_URL", &other.base_url()),
            ..StackOptions::default()
        },
        "tenant-provision-attributed",
    );
    let (outcome, text) = only(&s);
    assert_eq!(outcome, Outcome::Fail, "{text}");
    assert!(
        text.contains("✗ counter provision_calls +1 for org org-alpha since step `create`"),
        "{text}"
    );
    assert!(
        text.contains("0 = provision never reached the stub under org-alpha"),
        "{text}"
    );
    rt.block_on(other.shutdown());
}

#[test]
fn opaque_replays_d17_retried_provision_fails_at_the_stubs_journal() {
    let s = opaque_replays_without_seed(
        StackOptions {
            faults: vec![FaultSpec {
                route: contract::RouteId::Provision.into(),
                org: Some("org-alpha".into()),
                status: Some(503),
                ..FaultSpec::default()
            }],
            ..StackOptions::default()
        },
        "tenant-provision-attributed",
    );
    let (outcome, text) = only(&s);
    assert_eq!(outcome, Outcome::Fail, "{text}");
    assert!(text.contains("step answered-201-at-stub"), "{text}");
    assert!(text.contains("✗ $.entries[0].status == 201"), "{text}");
    assert!(text.contains("actual:   503"), "{text}");
    assert!(text.contains("(D17)"), "{text}");
}

#[test]
fn opaque_replays_d3_a_201_the_client_cannot_decode_fails_at_the_stubs_journal() {
    let s = opaque_replays_without_seed(
        StackOptions {
            faults: vec![fault(
                contract::RouteId::Provision,
                201,
                json!({"instance_id": "mol-ws-x", "state": 7}),
            )],
            ..StackOptions::default()
        },
        "tenant-provision-attributed",
    );
    let (outcome, text) = only(&s);
    assert_eq!(outcome, Outcome::Fail, "{text}");
    // Which one depends on how soon the tenant marks it failed.
    assert!(
        text.contains("✗ $.entries[0].response.state is string")
            || text.contains("✗ $.status != \"failed\""),
        "{text}"
    );
    assert!(text.contains("(D3)"), "{text}");
}
