//! The CP client against the real cp-stub: env order, the 201 rule and
//! retries through stub faults, config refresh (and the nested-config decode
//! error, D1), headers and org attribution in the stub's journal (D4),
//! restart and coalescing as counted by the stub.

use std::time::Duration;

use contract::admin::{FaultSpec, JournalPage, StubState};
use contract::RouteId;
use serde_json::{json, Value};
use test_support::{tenant::*, *};

async fn stub() -> cp_stub::Stub {
    cp_stub::start(cp_stub::Config {
        port: 0,
        ..Default::default()
    })
    .await
    .unwrap()
}

async fn fault(stub: &cp_stub::Stub, spec: FaultSpec) {
    let resp = client()
        .post(format!("{}/__/stub/faults", &stub.base_url()))
        .json(&spec)
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status().as_u16(),
        201,
        "{}",
        resp.text().await.unwrap()
    );
}

async fn state(stub: &cp_stub::Stub) -> StubState {
    client()
        .get(format!("{}/__/stub/state", &stub.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The stub's journal of `route`, of one org's calls when `org` is given.
async fn journal(stub: &cp_stub::Stub, route: RouteId, org: Option<&str>) -> JournalPage {
    let org = org.map(|o| format!("&org={o}")).unwrap_or_default();
    client()
        .get(format!(
            "{}/__/stub/requests?route={route}{org}",
            &stub.base_url()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn on_stub(stub: &cp_stub::Stub) -> tenant_double::Tenant {
    tenant_double::start(config_from(&[
        ("CP_PROVISION_URL", &stub.base_url()),
        ("MOLECULE_CP_URL", &stub.base_url()),
    ]))
    .await
    .unwrap()
}

#[tokio::test]
async fn env_order_against_two_stubs() {
    let provision_stub = stub().await;
    let config_stub = stub().await;
    let tenant = tenant_double::start(config_from(&[
        ("CP_PROVISION_URL", &provision_stub.base_url()),
        ("MOLECULE_CP_URL", &config_stub.base_url()),
    ]))
    .await
    .unwrap();
    let id = create(tenant.base_url(), "alpha-parent", 0).await;
    let ws = settled(tenant.base_url(), &id).await;
    // D10: the instance id is the stub's, mol-ws-<workspace_id>.
    assert_eq!(ws["instance_id"], format!("mol-ws-{id}"));
    let p = state(&provision_stub).await;
    let c = state(&config_stub).await;
    assert_eq!(p.org_calls(ORG, RouteId::Provision), 1);
    assert_eq!(p.org_calls(ORG, RouteId::TenantsConfig), 0);
    assert_eq!(c.org_calls(ORG, RouteId::TenantsConfig), 1);
    assert_eq!(c.org_calls(ORG, RouteId::Provision), 0);
    assert_eq!(c.counters[RouteId::TenantsConfig.route().counter], 1);
    tenant.shutdown().await;
    provision_stub.shutdown().await;
    config_stub.shutdown().await;
}

#[tokio::test]
async fn config_fetch_never_reads_cp_provision_url() {
    let stub = stub().await;
    let tenant = tenant_double::start(config_from(&[("CP_PROVISION_URL", &stub.base_url())]))
        .await
        .unwrap();
    let id = create(tenant.base_url(), "alpha-parent", 0).await;
    assert_eq!(settled(tenant.base_url(), &id).await["status"], "running");
    let st = state(&stub).await;
    assert_eq!(st.counters[RouteId::TenantsConfig.route().counter], 0);
    assert_eq!(st.org_calls(ORG, RouteId::Provision), 1);
    tenant.shutdown().await;
    stub.shutdown().await;
}

#[tokio::test]
async fn default_url_fallback_and_the_served_molecule_cp_url() {
    let stub = stub().await;
    let tenant = tenant_double::start(config_from(&[(
        "MOLECULE_CP_DEFAULT_URL",
        &stub.base_url(),
    )]))
    .await
    .unwrap();
    let ev = evidence(tenant.base_url()).await;
    assert_eq!(
        ev.boot.config.source.as_deref(),
        Some("MOLECULE_CP_DEFAULT_URL")
    );
    assert_eq!(
        ev.boot.provision.source.as_deref(),
        Some("MOLECULE_CP_DEFAULT_URL")
    );
    // The stub serves MOLECULE_CP_URL = the base the tenant reached it at, so
    // the refreshed value points at the same stub.
    assert_eq!(ev.provision.source.as_deref(), Some("MOLECULE_CP_URL"));
    assert_eq!(ev.provision.base.as_deref(), Some(stub.base_url().as_str()));
    let id = create(tenant.base_url(), "alpha-parent", 0).await;
    assert_eq!(settled(tenant.base_url(), &id).await["status"], "running");
    let st = state(&stub).await;
    assert_eq!(st.org_calls(ORG, RouteId::TenantsConfig), 1);
    assert_eq!(st.org_calls(ORG, RouteId::Provision), 1);
    tenant.shutdown().await;
    stub.shutdown().await;
}

#[tokio::test]
async fn unconfigured_tenant_calls_nothing_anywhere() {
    let stub = stub().await;
    let base = stub.base_url();
    for vars in [vec![], vec![("CP_UPSTREAM_URL", base.as_str())]] {
        let tenant = tenant_double::start(config_from(&vars)).await.unwrap();
        let id = create(tenant.base_url(), "alpha-parent", 0).await;
        let ws = settled(tenant.base_url(), &id).await;
        assert_eq!(ws["status"], "failed");
        let reason = ws["error"].as_str().unwrap();
        assert!(reason.contains("all unset"), "{reason}");
        assert!(reason.contains("incident D2"), "{reason}");
        assert_eq!(
            reason.contains("CP_UPSTREAM_URL is set"),
            !vars.is_empty(),
            "{reason}"
        );
        tenant.shutdown().await;
    }
    assert_eq!(state(&stub).await.total_requests, 0);
    stub.shutdown().await;
}

#[tokio::test]
async fn a_200_from_the_stub_fails_with_the_real_message() {
    let stub = stub().await;
    let old = json!({"workspace_id": "w", "status": "provisioning", "phase": "queued", "url": "http://x"});
    fault(
        &stub,
        FaultSpec {
            route: RouteId::Provision.into(),
            status: Some(200),
            body: Some(old.clone()),
            times: Some(1),
            ..Default::default()
        },
    )
    .await;
    let tenant = on_stub(&stub).await;
    let id = create(tenant.base_url(), "alpha-parent", 0).await;
    let ws = settled(tenant.base_url(), &id).await;
    let reason = ws["error"].as_str().unwrap();
    assert!(
        reason.starts_with("cp provisioner: provision failed (200): <unstructured body, "),
        "{reason}"
    );
    assert_eq!(state(&stub).await.org_calls(ORG, RouteId::Provision), 1);
    tenant.shutdown().await;
    stub.shutdown().await;
}

#[tokio::test]
async fn a_201_without_instance_id_is_a_success_with_an_empty_instance_id() {
    let stub = stub().await;
    fault(
        &stub,
        FaultSpec {
            route: RouteId::Provision.into(),
            status: Some(201),
            body: Some(json!({"state": "running"})),
            times: Some(1),
            ..Default::default()
        },
    )
    .await;
    let tenant = on_stub(&stub).await;
    let id = create(tenant.base_url(), "alpha-parent", 0).await;
    let ws = settled(tenant.base_url(), &id).await;
    // The real client: no error, an empty instance id (behaviors.md).
    assert_eq!(ws["status"], "running", "{ws}");
    assert_eq!(ws["instance_id"], "", "{ws}");
    assert_eq!(ws["error"], Value::Null, "{ws}");
    assert_eq!(
        journal(&stub, RouteId::Provision, None).await.entries.len(),
        1
    );
    tenant.shutdown().await;
    stub.shutdown().await;
}

#[tokio::test]
async fn retries_stub_503s_and_dropped_connections_then_succeeds() {
    let stub = stub().await;
    fault(
        &stub,
        FaultSpec {
            route: RouteId::Provision.into(),
            status: Some(503),
            times: Some(2),
            ..Default::default()
        },
    )
    .await;
    let tenant = on_stub(&stub).await;
    let id = create(tenant.base_url(), "alpha-parent", 0).await;
    assert_eq!(settled(tenant.base_url(), &id).await["status"], "running");
    let page = journal(&stub, RouteId::Provision, Some(ORG)).await;
    let statuses: Vec<u16> = page.entries.iter().map(|e| e.status).collect();
    assert_eq!(statuses, vec![503, 503, 201]);
    let ev = evidence(tenant.base_url()).await;
    assert_eq!(
        ev.workspaces[&id].runs[0].attempts[0].error.as_deref(),
        Some("cp provisioner: provision failed (503): cp-stub: injected fault")
    );

    fault(
        &stub,
        FaultSpec {
            route: RouteId::Provision.into(),
            drop_connection: true,
            times: Some(1),
            ..Default::default()
        },
    )
    .await;
    let id = create(tenant.base_url(), "alpha-child", 1).await;
    assert_eq!(settled(tenant.base_url(), &id).await["status"], "running");
    let ev = evidence(tenant.base_url()).await;
    let attempts = &ev.workspaces[&id].runs[0].attempts;
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0].status, None);
    tenant.shutdown().await;
    stub.shutdown().await;
}

#[tokio::test]
async fn no_retry_on_a_stub_400_and_exhaustion_on_a_stuck_503() {
    let stub = stub().await;
    fault(
        &stub,
        FaultSpec {
            route: RouteId::Provision.into(),
            status: Some(400),
            body: Some(json!({"error": "missing workspace_id"})),
            times: Some(1),
            ..Default::default()
        },
    )
    .await;
    let tenant = on_stub(&stub).await;
    let id = create(tenant.base_url(), "alpha-parent", 0).await;
    let ws = settled(tenant.base_url(), &id).await;
    assert_eq!(
        ws["error"],
        "cp provisioner: provision failed (400): missing workspace_id"
    );
    assert_eq!(state(&stub).await.org_calls(ORG, RouteId::Provision), 1);

    fault(
        &stub,
        FaultSpec {
            route: RouteId::Provision.into(),
            status: Some(503),
            ..Default::default()
        },
    )
    .await;
    let id = create(tenant.base_url(), "alpha-child", 1).await;
    let ws = settled(tenant.base_url(), &id).await;
    assert_eq!(
        ws["error"],
        "cp provisioner: provision failed (503): cp-stub: injected fault (gave up after 6 attempts)"
    );
    assert_eq!(state(&stub).await.org_calls(ORG, RouteId::Provision), 1 + 6);
    tenant.shutdown().await;
    stub.shutdown().await;
}

#[tokio::test]
async fn config_refresh_applies_the_stub_map_and_its_secret_passes_auth() {
    // The stub enforces the shared secret: only a tenant that applied the
    // refreshed MOLECULE_CP_SHARED_SECRET gets its provision through.
    let stub = cp_stub::start(cp_stub::Config {
        port: 0,
        expect_shared_secret: Some(cp_stub::DEFAULT_SHARED_SECRET.to_string()),
        ..Default::default()
    })
    .await
    .unwrap();
    let tenant = on_stub(&stub).await;
    let ev = evidence(tenant.base_url()).await;
    let refresh = ev.config_refresh.clone().unwrap();
    assert!(refresh.ok, "{refresh:?}");
    let n = cp_stub::DEFAULT_TENANT_CONFIG.len();
    assert_eq!(refresh.applied, n);
    assert!(ev
        .log
        .contains(&format!("CP env refresh: applied {n} values")));
    let id = create(tenant.base_url(), "alpha-parent", 0).await;
    assert_eq!(settled(tenant.base_url(), &id).await["status"], "running");

    // Headers as the stub saw them (values redacted in the journal).
    let page = journal(&stub, RouteId::TenantsConfig, None).await;
    let config_call = &page.entries[0];
    assert_eq!(config_call.org.as_deref(), Some(ORG));
    assert_eq!(config_call.headers["x-molecule-org-id"], ORG);
    assert!(config_call.auth.contains(&"authorization".to_string()));
    let page = journal(&stub, RouteId::Provision, None).await;
    let call = &page.entries[0];
    assert_eq!(call.org.as_deref(), Some(ORG));
    assert_eq!(call.status, 201);
    assert!(call.auth.contains(&"authorization".to_string()));
    assert!(call.auth.contains(&"x-molecule-admin-token".to_string()));
    assert_eq!(call.headers["authorization"], contract::admin::REDACTED);
    assert!(call.violations.is_empty(), "{:?}", call.violations);
    assert_eq!(state(&stub).await.violations_total, 0);
    tenant.shutdown().await;

    // Without the refresh there is no secret: the stub answers 401, not retried.
    let mut config = config_from(&[
        ("CP_PROVISION_URL", &stub.base_url()),
        ("MOLECULE_CP_URL", &stub.base_url()),
    ]);
    config.config_refresh_on_boot = false;
    let tenant = tenant_double::start(config).await.unwrap();
    let id = create(tenant.base_url(), "alpha-parent", 0).await;
    let ws = settled(tenant.base_url(), &id).await;
    assert!(
        ws["error"]
            .as_str()
            .unwrap()
            .starts_with("cp provisioner: provision failed (401): "),
        "{ws}"
    );
    tenant.shutdown().await;
    stub.shutdown().await;
}

#[tokio::test]
async fn nested_tenant_config_is_the_d1_decode_error() {
    let stub = stub().await;
    fault(
        &stub,
        FaultSpec {
            route: RouteId::TenantsConfig.into(),
            status: Some(200),
            body: Some(json!({
                "tenant_id": "t-1",
                "runtimes": ["hermes", "claude-code"],
                "llm_endpoints": {"anthropic": "http://x"},
                "feature_flags": {"beta": true}
            })),
            ..Default::default()
        },
    )
    .await;
    let tenant = on_stub(&stub).await;
    let ev = evidence(tenant.base_url()).await;
    let refresh = ev.config_refresh.unwrap();
    assert!(!refresh.ok);
    assert_eq!(refresh.applied, 0);
    let err = refresh.error.unwrap();
    assert!(
        err.contains("/runtimes: expected string, found array"),
        "{err}"
    );
    assert!(
        err.contains("/llm_endpoints: expected string, found object"),
        "{err}"
    );
    assert!(ev
        .log
        .iter()
        .any(|l| l.starts_with("CP env refresh failed:")));
    tenant.shutdown().await;
    stub.shutdown().await;
}

#[tokio::test]
async fn restart_reprovisions_at_the_stub_and_concurrent_restarts_coalesce() {
    let stub = stub().await;
    let tenant = on_stub(&stub).await;
    let base = tenant.base_url().to_string();
    let id = create(&base, "alpha-parent", 0).await;
    settled(&base, &id).await;
    let resp = authed(client().post(format!("{base}/admin/workspaces/{id}/restart")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 202);
    settled(&base, &id).await;
    assert_eq!(state(&stub).await.org_calls(ORG, RouteId::Provision), 2);

    // Slow the next provision so every restart arrives while it is in flight.
    fault(
        &stub,
        FaultSpec {
            route: RouteId::Provision.into(),
            status: Some(201),
            body: Some(json!({"instance_id": format!("mol-ws-{id}"), "state": "running"})),
            delay_ms: Some(1500),
            times: Some(1),
            ..Default::default()
        },
    )
    .await;
    // The first restart's run is in flight from its 202 on.
    let resp = authed(client().post(format!("{base}/admin/workspaces/{id}/restart")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 202);
    let mut handles = Vec::new();
    for _ in 0..3 {
        let url = format!("{base}/admin/workspaces/{id}/restart");
        handles.push(tokio::spawn(async move {
            authed(client().post(url))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    for h in handles {
        assert_eq!(h.await.unwrap(), 202);
    }
    let ws = settled(&base, &id).await;
    assert_eq!(ws["status"], "running");
    assert_eq!(state(&stub).await.org_calls(ORG, RouteId::Provision), 3);
    let ev = evidence(&base).await;
    assert_eq!(ev.totals.restarts_coalesced, 3);

    // Another tenant's token is refused before anything reaches the stub:
    // the tenant starts no run for it, and every run it started has ended,
    // so no provision call can still be on its way.
    let resp = client()
        .post(format!("{base}/admin/workspaces/{id}/restart"))
        .header("X-Molecule-Org-Id", ORG)
        .header("Authorization", "Bearer beta-admin-token")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let after = tenant.report();
    assert_eq!(after.totals.provision_runs, ev.totals.provision_runs);
    assert_eq!(
        after.totals.restarts_requested,
        ev.totals.restarts_requested
    );
    assert!(
        after.workspaces[&id]
            .runs
            .iter()
            .all(|r| r.finished_ms.is_some()),
        "{:?}",
        after.workspaces[&id].runs
    );
    assert_eq!(state(&stub).await.org_calls(ORG, RouteId::Provision), 3);
    tenant.shutdown().await;
    stub.shutdown().await;
}

#[tokio::test]
async fn two_tenants_are_attributed_to_their_own_orgs() {
    let stub = stub().await;
    let alpha = on_stub(&stub).await;
    let mut beta_config = config_from(&[
        ("CP_PROVISION_URL", &stub.base_url()),
        ("MOLECULE_CP_URL", &stub.base_url()),
    ]);
    beta_config.org_id = "org-beta".into();
    beta_config.admin_token = "beta-admin-token".into();
    let beta = tenant_double::start(beta_config).await.unwrap();
    let a = create(alpha.base_url(), "alpha-parent", 0).await;
    settled(alpha.base_url(), &a).await;
    let resp = client()
        .post(format!("{}/workspaces", &beta.base_url()))
        .header("X-Molecule-Org-Id", "org-beta")
        .header("Authorization", "Bearer beta-admin-token")
        .json(&json!({"name": "beta-parent", "tier": 0}))
        .send()
        .await
        .unwrap();
    let b: Value = resp.json().await.unwrap();
    let b = b["id"].as_str().unwrap().to_string();
    for _ in 0..500 {
        if state(&stub).await.org_calls("org-beta", RouteId::Provision) == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let st = state(&stub).await;
    assert_eq!(st.org_calls(ORG, RouteId::Provision), 1);
    assert_eq!(st.org_calls("org-beta", RouteId::Provision), 1);
    let page = journal(&stub, RouteId::Provision, Some("org-beta")).await;
    assert_eq!(
        page.entries[0].body.as_ref().unwrap()["workspace_id"],
        b.as_str()
    );
    alpha.shutdown().await;
    beta.shutdown().await;
    stub.shutdown().await;
}
