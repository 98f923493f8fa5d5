//! `--no-evidence`: the opaque stand-in answers as the real tenant does —
//! no `/__/tenant/*` routes, `provisioning` after a successful provision,
//! `failed` on a CP failure, no tenant-only fields — while its CP calls
//! (the health sweep included) are those of the reference tenant.

use std::time::Duration;

use contract::admin::JournalEntry;
use contract::RouteId;
use serde_json::{json, Value};
use test_support::{stub, tenant::*, *};

async fn opaque_on(stub: &cp_stub::Stub) -> tenant_double::Tenant {
    let mut config = config_from(&[
        ("CP_PROVISION_URL", &stub.base_url()),
        ("MOLECULE_CP_URL", &stub.base_url()),
        ("TENANT_DOUBLE_NO_EVIDENCE", "1"),
    ]);
    config.health_sweep_interval = Duration::from_millis(30);
    let tenant = tenant_double::start(config).await.unwrap();
    assert!(tenant.is_opaque());
    tenant
}

async fn workspace(base: &str, id: &str) -> Value {
    authed(client().get(format!("{base}/workspaces/{id}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Journal entries of `route` naming workspace `id` (body or path), polled
/// until `done` holds (bounded: 500 polls).
async fn journal_until(
    stub: &cp_stub::Stub,
    route: RouteId,
    id: &str,
    done: impl Fn(&[JournalEntry]) -> bool,
) -> Vec<JournalEntry> {
    for _ in 0..500 {
        let entries: Vec<JournalEntry> =
            stub::journal(&client(), &stub.base_url(), &format!("?route={route}"))
                .await
                .entries
                .into_iter()
                .filter(|e| {
                    e.path.contains(id)
                        || e.body.as_ref().and_then(|b| b.get("workspace_id")) == Some(&json!(id))
                })
                .collect();
        if done(&entries) {
            return entries;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the stub's journal never showed the expected {route} calls for {id}");
}

fn assert_no_tenant_only_fields(ws: &Value) {
    for key in ["instance_id", "error", "provision_runs"] {
        assert!(
            ws.get(key).is_none(),
            "{key} served by an opaque tenant: {ws}"
        );
    }
}

#[tokio::test]
async fn no_evidence_routes() {
    let stub = stub::start_default().await;
    let tenant = opaque_on(&stub).await;
    let base = tenant.base_url();
    for (method, path) in [
        (reqwest::Method::GET, "/__/tenant/cp"),
        (reqwest::Method::POST, "/__/tenant/config/refresh"),
        (reqwest::Method::GET, "/__/tenant/anything"),
    ] {
        let resp = client()
            .request(method.clone(), format!("{base}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 404, "{method} {path}");
    }
    // Its public API is unchanged.
    let resp = client().get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    // The log lines stay available in-process.
    assert!(
        tenant
            .log_lines()
            .iter()
            .any(|l| l.contains("CP provision base")),
        "{:?}",
        tenant.log_lines()
    );
    tenant.shutdown().await;
    stub.shutdown().await;
}

#[tokio::test]
async fn a_provisioned_workspace_stays_provisioning_and_is_swept() {
    let stub = stub::start_default().await;
    let tenant = opaque_on(&stub).await;
    let base = tenant.base_url().to_string();
    let resp = authed(client().post(format!("{base}/workspaces")))
        .json(&json!({"name": "opaque", "tier": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let created: Value = resp.json().await.unwrap();
    assert_eq!(created["status"], "provisioning");
    assert_no_tenant_only_fields(&created);
    let id = created["id"].as_str().unwrap().to_string();

    // The stub answered its provision 201 …
    let provisions = journal_until(&stub, RouteId::Provision, &id, |e| !e.is_empty()).await;
    assert_eq!(provisions[0].status, 201);
    let instance = provisions[0].response.as_ref().unwrap()["instance_id"]
        .as_str()
        .unwrap()
        .to_string();
    // … the health sweep asks the CP about it (it knows it is provisioned) …
    let status = journal_until(&stub, RouteId::Status, &id, |e| !e.is_empty()).await;
    assert!(
        status[0]
            .query
            .as_deref()
            .is_some_and(|q| q.contains(&instance)),
        "{:?}",
        status[0]
    );
    // … and yet, as the real tenant, it still shows `provisioning`.
    let ws = workspace(&base, &id).await;
    assert_eq!(ws["status"], "provisioning", "{ws}");
    assert_no_tenant_only_fields(&ws);
    let list: Value = authed(client().get(format!("{base}/workspaces")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["status"], "provisioning");
    assert_no_tenant_only_fields(&list[0]);
    // The in-process evidence knows better (the reference tenant's `running`).
    assert_eq!(tenant.report().workspaces[&id].status, "running");
    tenant.shutdown().await;
    stub.shutdown().await;
}

#[tokio::test]
async fn a_cp_failure_is_failed_without_a_reason_field() {
    let stub = stub::start_default().await;
    stub::add_fault(
        &client(),
        &stub.base_url(),
        json!({"route": "provision", "status": 200, "body": {"status": "ok"}}),
    )
    .await;
    let tenant = opaque_on(&stub).await;
    let base = tenant.base_url().to_string();
    let id = create(&base, "doomed", 0).await;
    let ws = settled(&base, &id).await;
    assert_eq!(ws["status"], "failed", "{ws}");
    assert_no_tenant_only_fields(&ws);
    // The reason is in its log lines only.
    assert!(
        tenant
            .log_lines()
            .iter()
            .any(|l| l.contains(&id) && l.contains("provision failed (200)")),
        "{:?}",
        tenant.log_lines()
    );
    tenant.shutdown().await;
    stub.shutdown().await;
}
