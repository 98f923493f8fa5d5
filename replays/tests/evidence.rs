//! Reference-only evidence at run time, over real loopback sockets: tenant
//! alpha is the reference tenant-double, tenant beta runs `--no-evidence`
//! (`TENANT_DOUBLE_NO_EVIDENCE=true`, as the real tenant answers). The same
//! replay runs against both: beta's evidence steps and checks SKIP with the
//! tenant and endpoint named, alpha's run and hold (or fail), the rest of
//! the replay runs, a capture of a skipped step skips the steps that use
//! it, and the summary, JUnit and JSON count what was skipped.

use std::collections::BTreeMap;
use std::path::Path;

use replay_runner::{ColorChoice, EnvFile, Outcome, RunOptions, Summary};
use replays::stack::{Embedded, RunningStack, StackOptions, TenantOptions};

/// One replay against both tenants; `extra` is appended (more steps).
fn replay(extra: &str) -> String {
    format!(
        r#"name = "mixed-evidence"

[[step]]
name = "alpha-evidence"
evidence = "${{ALPHA_BASE}}"
request.url = "${{ALPHA_BASE}}/__/tenant/cp"
expect.status = 200
capture = {{ ALPHA_SOURCE = "$.provision.source" }}

[[step]]
name = "beta-evidence"
evidence = "${{BETA_BASE}}"
request.url = "${{BETA_BASE}}/__/tenant/cp"
expect.status = 200
capture = {{ BETA_SOURCE = "$.provision.source" }}

[[step]]
name = "uses-beta-capture"
request.url = "${{BETA_BASE}}/health?source=${{BETA_SOURCE}}"
expect.status = 200

[[step]]
name = "uses-that-chain"
request.url = "${{CP_STUB_BASE}}/healthz"
expect.status = 200
expect.body_contains = "${{BETA_SOURCE}}"

[[step]]
name = "uses-alpha-capture"
request.url = "${{ALPHA_BASE}}/health?source=${{ALPHA_SOURCE}}"
expect.status = 200

[[step]]
name = "beta-public-with-evidence-check"
request.url = "${{BETA_BASE}}/workspaces/00000000-0000-4000-8000-00000000dead"
request.headers = {{ "Authorization" = "Bearer ${{BETA_ADMIN_TOKEN}}", "X-Molecule-Org-Id" = "${{BETA_ORG_ID}}" }}
expect.status = 404
expect.json = [
  {{ path = "$.error", equals = "workspace not found" }},
  {{ path = "$.nothing_like_this", exists = true, evidence = true }},
]

[[step]]
name = "alpha-public-with-evidence-check"
request.url = "${{ALPHA_BASE}}/health"
expect.status = 200
expect.json = [{{ path = "$.status", equals = "ok", evidence = true }}]

[[step]]
name = "rest-runs"
request.url = "${{BETA_BASE}}/health"
expect.status = 200
{extra}"#
    )
}

async fn mixed_stack() -> RunningStack {
    Embedded::start(StackOptions {
        beta: TenantOptions::beta().with_env("TENANT_DOUBLE_NO_EVIDENCE", "true"),
        ..StackOptions::default()
    })
    .await
    .unwrap()
}

fn options(stack: &RunningStack, dir: &Path) -> RunOptions {
    let e = stack.endpoints();
    RunOptions {
        dir: dir.to_path_buf(),
        env_file: EnvFile::Disabled,
        process_env: Some(BTreeMap::from([
            ("CP_STUB_BASE".to_string(), e.stub.clone()),
            ("ALPHA_BASE".to_string(), e.alpha.base.clone()),
            ("BETA_BASE".to_string(), e.beta.base.clone()),
            ("BETA_ORG_ID".to_string(), e.beta.org_id.clone()),
            ("BETA_ADMIN_TOKEN".to_string(), e.beta.admin_token.clone()),
        ])),
        color: ColorChoice::Never,
        print: false,
        junit: Some(dir.join("out/junit.xml")),
        json: Some(dir.join("out/report.json")),
        ..RunOptions::default()
    }
}

fn run(src: &str, require_evidence: bool) -> (Summary, String, tempfile::TempDir, String) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mixed.toml"), src).unwrap();
    let (s, beta) = rt.block_on(async {
        let stack = mixed_stack().await;
        let mut opts = options(&stack, dir.path());
        opts.require_evidence = require_evidence;
        let s = replay_runner::run(&opts).await.unwrap();
        let beta = stack.endpoints().beta.base.clone();
        stack.shutdown().await;
        (s, beta)
    });
    let text = replay_runner::render_replay(&s.replays[0], &replay_runner::Style::default());
    (s, text, dir, beta)
}

#[test]
fn evidence_of_an_opaque_tenant_is_skipped_and_the_reference_one_checked() {
    let (s, text, dir, beta) = run(&replay(""), false);
    let r = &s.replays[0];
    assert_eq!(r.outcome, Outcome::Pass, "{text}");
    let step = |name: &str| r.steps.iter().find(|x| x.name == name).unwrap();
    let no_evidence = format!(
        "tenant BETA_BASE={beta} has no evidence (GET /__/tenant/cp answered 404: an opaque tenant); reference-only step skipped"
    );
    // The reference tenant's evidence ran and its capture is usable.
    assert!(step("alpha-evidence").skipped.is_none());
    assert!(step("alpha-evidence").checks.iter().all(|c| c.ok));
    assert!(step("uses-alpha-capture").skipped.is_none());
    assert_eq!(step("uses-alpha-capture").status, Some(200));
    // The opaque tenant's evidence step is SKIP, naming tenant and endpoint.
    assert_eq!(
        step("beta-evidence").skipped.as_deref(),
        Some(no_evidence.as_str())
    );
    assert!(step("beta-evidence").status.is_none(), "not sent");
    // Its capture skips the steps that use it, and theirs in turn, with
    // the reason, instead of an ERROR about a missing variable.
    let chained = step("uses-beta-capture").skipped.clone().unwrap();
    assert_eq!(
        chained,
        format!("uses `${{BETA_SOURCE}}`, which step `beta-evidence` would have captured (skipped: {no_evidence})")
    );
    assert!(step("uses-that-chain")
        .skipped
        .as_deref()
        .unwrap()
        .contains("uses `${BETA_SOURCE}`"));
    // In a public step only the `evidence = true` check is skipped.
    let public = step("beta-public-with-evidence-check");
    assert_eq!(public.status, Some(404));
    assert!(public
        .checks
        .iter()
        .any(|c| c.ok && c.skipped.is_none() && c.label.contains("$.error")));
    let skipped: Vec<_> = public
        .checks
        .iter()
        .filter(|c| c.skipped.is_some())
        .collect();
    assert_eq!(skipped.len(), 1, "{public:?}");
    assert!(skipped[0]
        .skipped
        .as_deref()
        .unwrap()
        .ends_with("reference-only check skipped"));
    assert!(skipped[0]
        .skipped
        .as_deref()
        .unwrap()
        .contains(&format!("BETA_BASE={beta}")));
    // On the reference tenant the same kind of check is made.
    let alpha = step("alpha-public-with-evidence-check");
    assert!(
        alpha.checks.iter().all(|c| c.ok && c.skipped.is_none()),
        "{alpha:?}"
    );
    assert_eq!(step("rest-runs").status, Some(200));
    // Counted: 3 steps + 1 check.
    assert_eq!(r.evidence_skipped, 4);
    assert_eq!(s.evidence_skipped(), (4, 1));
    assert!(
        text.contains(&format!("  step beta-evidence: SKIP {no_evidence}\n")),
        "{text}"
    );
    assert!(
        text.contains("[replay] PASS: mixed-evidence (")
            && text.contains(", 4 reference-only step(s)/check(s) skipped: no tenant evidence)"),
        "{text}"
    );
    let summary = replay_runner::render_summary(&s);
    assert!(
        summary
            .contains("\nEvidence skipped: 4 reference-only step(s) and check(s) in 1 replay(s)"),
        "{summary}"
    );
    assert!(
        summary.ends_with("\n1 passed, 0 failed, 0 skipped\n"),
        "{summary}"
    );

    // JSON: per replay, per step and check, and in the summary.
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out/report.json")).unwrap())
            .unwrap();
    assert_eq!(doc["summary"]["evidence_skipped"], 4);
    assert_eq!(doc["exit_code"], 0);
    assert_eq!(doc["replays"][0]["evidence_skipped"], 4);
    assert_eq!(
        doc["replays"][0]["steps"][1]["skipped"],
        no_evidence.as_str()
    );
    // JUnit: a success with the count as a property and the reasons in
    // system-out; the suite carries the total.
    let report = quick_junit::Report::deserialize_from_str(
        &std::fs::read_to_string(dir.path().join("out/junit.xml")).unwrap(),
    )
    .unwrap();
    let suite = &report.test_suites[0];
    let prop = |props: &[quick_junit::Property]| {
        props
            .iter()
            .find(|p| p.name.as_str() == "evidence_skipped")
            .map(|p| p.value.to_string())
    };
    assert_eq!(prop(&suite.properties).as_deref(), Some("4"));
    let case = &suite.test_cases[0];
    assert!(matches!(
        case.status,
        quick_junit::TestCaseStatus::Success { .. }
    ));
    assert_eq!(prop(&case.properties).as_deref(), Some("4"));
    let out = case.system_out.as_ref().unwrap().to_string();
    assert!(
        out.contains(&format!(
            "evidence skipped: step `beta-evidence` skipped: {no_evidence}"
        )),
        "{out}"
    );
    assert!(out.contains("evidence skipped: step `beta-public-with-evidence-check`: $.nothing_like_this (reference-only) skipped: tenant BETA_BASE="), "{out}");
}

/// A reference-only check that does not hold fails on the reference tenant
/// (it is not skipped there), and a failing evidence step of the opaque
/// one would never be reached: SKIP is only for a tenant without evidence.
#[test]
fn a_failing_reference_only_check_fails_on_the_reference_tenant() {
    let extra = r#"
[[step]]
name = "alpha-wrong"
request.url = "${ALPHA_BASE}/health"
expect.status = 200
expect.json = [{ path = "$.status", equals = "not-ok", evidence = true }]
"#;
    let (s, text, _dir, _) = run(&replay(extra), false);
    let r = &s.replays[0];
    assert_eq!(r.outcome, Outcome::Fail, "{text}");
    assert!(text.contains("✗ $.status == \"not-ok\""), "{text}");
}

/// `require_evidence` (`--require-evidence`, the gate on its embedded
/// reference tenants): a tenant without evidence fails the first
/// reference-only step, naming the tenant and the fix.
#[test]
fn required_evidence_fails_instead_of_skipping() {
    let (s, text, _dir, beta) = run(&replay(""), true);
    let r = &s.replays[0];
    assert_eq!(r.outcome, Outcome::Fail, "{text}");
    assert_eq!(s.exit_code(), 1);
    let last = r.steps.last().unwrap();
    assert_eq!(last.name, "beta-evidence");
    let e = last.error.as_deref().unwrap();
    assert!(
        e.starts_with(&format!("tenant BETA_BASE={beta} has no evidence (GET /__/tenant/cp answered 404), but this run requires it")),
        "{e}"
    );
    assert_eq!(r.evidence_skipped, 0);
}
