//! `seed::run` against an embedded stack (cp-stub + two tenant-doubles on
//! ephemeral ports): the keys, mode 0600, atomicity, and each error path.

use std::collections::BTreeMap;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use contract::admin::FaultSpec;
use serde_json::Value;
use test_support::{stack::*, *};

fn read_vars(path: &std::path::Path) -> BTreeMap<String, String> {
    seed::read_env_file(path).unwrap().into_iter().collect()
}

#[tokio::test]
async fn seeds_the_stack_and_writes_every_key() {
    let stack = Stack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join(".seed.env");
    let mut config = stack.config(&out);
    config.stack_id = Some("stack-under-test".into());
    let outcome = seed::run(&config).await.unwrap();
    assert_eq!(outcome.attribution, seed::Attribution::Journal);
    assert_eq!(outcome.stack_id, "stack-under-test");

    let vars = read_vars(&out);
    for key in seed::KEYS.iter().filter(|k| k.required) {
        assert!(
            vars.get(key.name).is_some_and(|v| !v.is_empty()),
            "{} missing",
            key.name
        );
    }
    assert!(
        !vars.contains_key("ALPHA_HOST"),
        "optional keys are written only when set"
    );
    assert_eq!(vars["SEED_STACK_ID"], "stack-under-test");
    assert!(vars["SEED_STAMP"].ends_with('Z') && vars["SEED_STAMP"].contains('T'));
    assert_eq!(vars["CP_STUB_BASE"], stack.stub.base_url());
    assert_eq!(vars["ALPHA_BASE"], stack.alpha.base_url());
    assert_eq!(vars["BETA_BASE"], stack.beta.base_url());
    assert_eq!(vars["ALPHA_ORG_ID"], "org-alpha");
    assert_eq!(vars["BETA_ORG_ID"], "org-beta");
    assert_eq!(vars["ALPHA_ADMIN_TOKEN"], "alpha-admin-token");
    assert_eq!(vars["BETA_ADMIN_TOKEN"], "beta-admin-token");
    // Aliases, the legacy quirk included.
    assert_eq!(vars["ALPHA_ID"], vars["ALPHA_PARENT_ID"]);
    assert_eq!(vars["ALPHA_WORKSPACE_ID"], vars["ALPHA_PARENT_ID"]);
    assert_eq!(vars["BETA_ID"], vars["ALPHA_CHILD_ID"]);
    assert_eq!(vars["BETA_WORKSPACE_ID"], vars["BETA_PARENT_ID"]);
    assert_eq!(
        outcome.get("BETA_ID"),
        Some(vars["ALPHA_CHILD_ID"].as_str())
    );

    // The ids are the tenants' own, with the right tiers, parents and instances.
    let alpha = stack.alpha.report();
    let beta = stack.beta.report();
    let ws = |r: &tenant_double::CpReport, id: &str| r.workspaces[id].clone();
    assert_eq!(ws(&alpha, &vars["ALPHA_PARENT_ID"]).name, "alpha-parent");
    assert_eq!(ws(&alpha, &vars["ALPHA_CHILD_ID"]).name, "alpha-child");
    assert_eq!(ws(&beta, &vars["BETA_PARENT_ID"]).name, "beta-parent");
    assert_eq!(ws(&beta, &vars["BETA_CHILD_ID"]).name, "beta-child");
    let child: Value = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!(
            "{}/workspaces/{}",
            stack.beta.base_url(),
            vars["BETA_CHILD_ID"]
        ))
        .header("X-Molecule-Org-Id", "org-beta")
        .header("Authorization", "Bearer beta-admin-token")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(child["tier"], 1);
    assert_eq!(child["parent_id"], vars["BETA_PARENT_ID"].as_str());
    for s in &outcome.workspaces {
        assert_eq!(s.instance_id, format!("mol-ws-{}", s.id));
    }

    // 0600, no temp file left, and `seed check` agrees with the repo's example.
    assert_eq!(mode(&out), 0o600);
    assert_eq!(files_in(dir.path()), vec![".seed.env"]);
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.seed.env.example");
    let report = seed::check(&out, Some(&example)).unwrap();
    assert!(report.is_ok(), "{report}");
    assert!(
        report.unknown.is_empty() && report.inconsistent.is_empty(),
        "{report}"
    );

    // A second run replaces the file with a new stack stamp.
    config.stack_id = None;
    let again = seed::run(&config).await.unwrap();
    let vars2 = read_vars(&out);
    assert_eq!(vars2["SEED_STACK_ID"], again.stack_id);
    assert_ne!(vars2["SEED_STACK_ID"], "stack-under-test");
    assert_ne!(vars2["ALPHA_PARENT_ID"], vars["ALPHA_PARENT_ID"]);
    assert_eq!(mode(&out), 0o600);
    stack.shutdown().await;
}

#[tokio::test]
async fn a_failure_between_write_and_rename_leaves_the_old_file_intact() {
    let stack = Stack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join(".seed.env");
    std::fs::write(&out, "ALPHA_PARENT_ID=old-id\n").unwrap();
    let seen: Arc<Mutex<Option<(String, u32, String)>>> = Arc::default();
    let record = Arc::clone(&seen);
    let mut config = stack.config(&out);
    config.before_rename = Some(seed::WriteHook(Arc::new(move |tmp| {
        // The temp file is complete, private and beside the target...
        let text = std::fs::read_to_string(tmp)?;
        let name = tmp.file_name().unwrap().to_string_lossy().into_owned();
        *record.lock().unwrap() = Some((name, mode(tmp), text));
        // ...and the process "dies" before the rename.
        Err(io::Error::other("simulated crash before rename"))
    })));
    let err = seed::run(&config).await.unwrap_err();
    let message = err.to_string();
    assert!(message.contains("before rename"), "{message}");
    assert!(message.contains("simulated crash"), "{message}");
    assert!(
        message.contains("previous file, if any, is untouched"),
        "{message}"
    );

    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "ALPHA_PARENT_ID=old-id\n"
    );
    assert_eq!(
        files_in(dir.path()),
        vec![".seed.env"],
        "the temp file is removed"
    );
    let (name, tmp_mode, text) = seen.lock().unwrap().clone().unwrap();
    assert!(
        name.starts_with(".seed.env.") && name.ends_with(".tmp"),
        "{name}"
    );
    assert_eq!(tmp_mode, 0o600);
    assert!(text.contains("CP_STUB_BASE="), "{text}");
    assert!(text.contains("BETA_WORKSPACE_ID="), "{text}");
    stack.shutdown().await;
}

#[tokio::test]
async fn an_unreachable_tenant_names_the_url_and_keeps_the_old_file() {
    let stub = start_stub().await;
    let stack = Stack::with(stub, None, None).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join(".seed.env");
    std::fs::write(&out, "OLD=1\n").unwrap();
    let mut config = stack.config(&out);
    let dead = dead_base();
    config.alpha.base = dead.clone();
    config.timeout = Duration::from_millis(600);
    let err = seed::run(&config).await.unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(err, seed::SeedError::Unreachable { .. }),
        "{message}"
    );
    assert!(
        message.contains(&format!("tenant alpha is not reachable at {dead}/health")),
        "{message}"
    );
    assert!(message.contains("ALPHA_BASE"), "{message}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "OLD=1\n");

    // The stub too.
    let mut config = stack.config(&out);
    config.cp_stub_base = dead.clone();
    config.timeout = Duration::from_millis(600);
    let message = seed::run(&config).await.unwrap_err().to_string();
    assert!(
        message.contains(&format!("cp-stub is not reachable at {dead}/healthz")),
        "{message}"
    );
    assert!(message.contains("CP_STUB_BASE"), "{message}");
    stack.shutdown().await;
}

#[tokio::test]
async fn a_non_2xx_create_shows_status_and_body() {
    let stack = Stack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = stack.config(&dir.path().join(".seed.env"));
    config.alpha.admin_token = "not-alphas-token".into();
    let err = seed::run(&config).await.unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains(&format!(
            "creating alpha-parent on tenant alpha: POST {}/workspaces answered 404: {{\"error\":\"not found\"}}",
            stack.alpha.base_url()
        )),
        "{message}"
    );
    assert!(message.contains("ALPHA_ADMIN_TOKEN"), "{message}");
    assert!(!dir.path().join(".seed.env").exists());

    // Wrong org: same answer, the hint names the org variable too.
    let mut config = stack.config(&dir.path().join(".seed.env"));
    config.beta.org_id = "org-gamma".into();
    let message = seed::run(&config).await.unwrap_err().to_string();
    assert!(
        message.contains("creating beta-parent on tenant beta"),
        "{message}"
    );
    assert!(message.contains("BETA_ORG_ID"), "{message}");
    stack.shutdown().await;
}

#[tokio::test]
async fn a_create_answer_without_id_is_named() {
    let stack = Stack::start().await;
    let fake = FakeTenant::start(201, r#"{"name":"alpha-parent","status":"provisioning"}"#).await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = stack.config(&dir.path().join(".seed.env"));
    config.alpha.base = fake.base.clone();
    config.alpha.host = Some("alpha.proxy.test".into());
    let err = seed::run(&config).await.unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, seed::SeedError::NoId { .. }), "{message}");
    assert!(message.contains("the 201 answer of POST"), "{message}");
    assert!(message.contains("has no `id`"), "{message}");
    assert!(
        message.contains(r#"{"name":"alpha-parent","status":"provisioning"}"#),
        "{message}"
    );
    // The Host header for a proxy was sent on every request.
    let hosts = fake.hosts.lock().unwrap().clone();
    assert!(
        !hosts.is_empty() && hosts.iter().all(|h| h == "alpha.proxy.test"),
        "{hosts:?}"
    );
    stack.shutdown().await;
}

#[tokio::test]
async fn a_workspace_that_never_provisions_shows_the_tenants_reason() {
    // Tenant alpha has no CP variable at all (incident D2).
    let stub = start_stub().await;
    let base = stub.base_url();
    let stack = Stack::with(stub, None, Some(&base)).await;
    let dir = tempfile::tempdir().unwrap();
    let err = seed::run(&stack.config(&dir.path().join(".seed.env")))
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(err, seed::SeedError::ProvisionFailed { .. }),
        "{message}"
    );
    assert!(message.starts_with("workspace alpha-parent ("), "{message}");
    assert!(message.contains("on tenant alpha failed to provision: no CP base configured: CP_PROVISION_URL, MOLECULE_CP_URL and MOLECULE_CP_DEFAULT_URL are all unset"), "{message}");
    // From the stub's side, and no pointer at an evidence endpoint the
    // real tenant does not have.
    assert!(
        message
            .contains("the stub received no provision call for it under org-alpha (incident D2)"),
        "{message}"
    );
    assert!(!message.contains("/__/tenant/cp"), "{message}");
    assert!(!dir.path().join(".seed.env").exists());
    stack.shutdown().await;
}

#[tokio::test]
async fn a_workspace_still_provisioning_at_the_deadline_times_out() {
    let stack = Stack::start().await;
    let resp = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(format!("{}/__/stub/faults", stack.stub.base_url()))
        .json(&FaultSpec {
            route: contract::RouteId::Provision.into(),
            org: Some("org-beta".into()),
            status: Some(503),
            ..Default::default()
        })
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    // Beta's retries (fast policy) end in a failure naming the 503s.
    let dir = tempfile::tempdir().unwrap();
    let message = seed::run(&stack.config(&dir.path().join(".seed.env")))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        message
            .contains("on tenant beta failed to provision: cp provisioner: provision failed (503)"),
        "{message}"
    );
    assert!(message.contains("gave up after 6 attempts"), "{message}");
    stack.shutdown().await;

    // A tenant that retries for longer than seed waits: a timeout naming the status.
    let stub = start_stub().await;
    let base = stub.base_url();
    let alpha = tenant_double::start(tenant_double::Config {
        retry: tenant_double::RetryPolicy {
            attempts: 6,
            initial: Duration::from_secs(2),
            cap: Duration::from_secs(10),
            restart_initial: Duration::from_secs(1),
        },
        ..tenant_config("org-alpha", "alpha-admin-token", Some(&base))
    })
    .await
    .unwrap();
    let beta = tenant_double::start(tenant_config("org-beta", "beta-admin-token", Some(&base)))
        .await
        .unwrap();
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(format!("{base}/__/stub/faults"))
        .json(&FaultSpec {
            route: contract::RouteId::Provision.into(),
            org: Some("org-alpha".into()),
            status: Some(503),
            ..Default::default()
        })
        .send()
        .await
        .unwrap();
    let stack = Stack { stub, alpha, beta };
    let mut config = stack.config(&dir.path().join(".seed.env"));
    config.timeout = Duration::from_secs(3);
    let err = seed::run(&config).await.unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(err, seed::SeedError::ProvisionTimeout { .. }),
        "{message}"
    );
    assert!(message.contains("workspace alpha-parent ("), "{message}");
    assert!(message.contains("is not provisioned after"), "{message}");
    assert!(message.contains("(status provisioning)"), "{message}");
    assert!(
        message.contains("provision call(s) under org-alpha with 503"),
        "{message}"
    );
    assert!(!message.contains("/__/tenant/cp"), "{message}");
    stack.shutdown().await;
}

#[tokio::test]
async fn provisions_that_did_not_reach_this_stub_fail_attribution() {
    // Alpha provisions through another stub: its workspaces get instance
    // ids, but the stub seed checks never saw alpha's calls (incident D4).
    let stub = start_stub().await;
    let elsewhere = start_stub().await;
    let base = stub.base_url();
    let other = elsewhere.base_url();
    let stack = Stack::with(stub, Some(&other), Some(&base)).await;
    let dir = tempfile::tempdir().unwrap();
    let err = seed::run(&stack.config(&dir.path().join(".seed.env")))
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(err, seed::SeedError::Attribution { .. }),
        "{message}"
    );
    assert!(
        message.starts_with(&format!("tenant alpha ({})", stack.alpha.base_url())),
        "{message}"
    );
    assert!(
        message.contains("never received its provision call under org-alpha"),
        "{message}"
    );
    assert!(message.contains("incident D4"), "{message}");
    assert!(
        message.contains(&format!("doesn't point at this stub ({base})")),
        "{message}"
    );
    assert!(!dir.path().join(".seed.env").exists());
    stack.shutdown().await;
    elsewhere.shutdown().await;
}

#[tokio::test]
async fn configuration_errors_are_named_before_any_request() {
    let mut config = seed::Config {
        out: "/nonexistent/.seed.env".into(),
        ..Default::default()
    };
    config.beta.org_id = "org-alpha".into();
    let err = seed::run(&config).await.unwrap_err();
    assert!(err.is_config());
    assert!(
        err.to_string()
            .contains("ALPHA_ORG_ID and BETA_ORG_ID are both"),
        "{err}"
    );
}

#[tokio::test]
async fn a_201_without_instance_id_names_d3_and_the_stubs_answer() {
    // The real client (and tenant-double) take this as a success with an
    // empty instance id: only the stub's journal shows what went wrong.
    let stack = Stack::start().await;
    let resp = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(format!("{}/__/stub/faults", stack.stub.base_url()))
        .json(&FaultSpec {
            route: contract::RouteId::Provision.into(),
            org: Some("org-alpha".into()),
            status: Some(201),
            body: Some(serde_json::json!({"state": "running"})),
            ..Default::default()
        })
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join(".seed.env");
    let message = seed::run(&stack.config(&out))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("on tenant alpha has no instance"),
        "{message}"
    );
    assert!(message.contains("incident D3"), "{message}");
    assert!(
        message.contains(r#"answered its provision call 201 with {"state":"running"}"#),
        "{message}"
    );
    assert!(message.contains("mol-ws-"), "{message}");
    assert!(!out.exists(), "no env file on failure");
    stack.shutdown().await;
}
