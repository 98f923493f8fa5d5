//! Conformance 4(iii): each measured rule of the real client
//! (`/work/shared/real-client/behaviors.md`, copied into the issue) as a test
//! of tenant-double against cp-stub faults, asserting the real client's
//! outcome and message.

use std::time::Duration;

use contract::admin::JournalEntry;
use contract::RouteId;
use serde_json::{json, Value};
use test_support::{stub, tenant::*, *};

async fn on(stub: &cp_stub::Stub) -> tenant_double::Tenant {
    tenant_double::start(config_from(&[
        ("CP_PROVISION_URL", &stub.base_url()),
        ("MOLECULE_CP_URL", &stub.base_url()),
    ]))
    .await
    .unwrap()
}

async fn fault(stub: &cp_stub::Stub, spec: Value) {
    stub::add_fault(&client(), &stub.base_url(), spec).await;
}

async fn journal(stub: &cp_stub::Stub, route: RouteId) -> Vec<JournalEntry> {
    stub::journal(&client(), &stub.base_url(), &format!("?route={route}"))
        .await
        .entries
}

/// A 201 whose known field has another type fails with Go's decode message.
async fn a_201_with(body: Value, field: &str) {
    let stub = stub::start_default().await;
    fault(
        &stub,
        json!({"route": "provision", "status": 201, "body": body, "times": 1}),
    )
    .await;
    let tenant = on(&stub).await;
    let id = create(tenant.base_url(), "typed", 0).await;
    let ws = settled(tenant.base_url(), &id).await;
    assert_eq!(ws["status"], "failed", "{ws}");
    assert_eq!(
        ws["error"],
        format!(
            "cp provisioner: decode 201 response: json: cannot unmarshal number into Go struct \
             field cpProvisionResponse.{field} of type string"
        )
    );
    assert_eq!(
        journal(&stub, RouteId::Provision).await.len(),
        1,
        "not retried"
    );
    tenant.shutdown().await;
    stub.shutdown().await;
}

#[tokio::test]
async fn a_201_with_a_numeric_state_fails_the_call() {
    a_201_with(json!({"instance_id": "mol-ws-x", "state": 7}), "state").await;
}

#[tokio::test]
async fn a_201_with_a_numeric_private_ip_fails_the_call() {
    a_201_with(
        json!({"instance_id": "mol-ws-x", "state": "running", "private_ip": 5}),
        "private_ip",
    )
    .await;
}

#[tokio::test]
async fn a_201_with_unknown_fields_and_nulls_succeeds() {
    let stub = stub::start_default().await;
    fault(
        &stub,
        json!({"route": "provision", "status": 201, "times": 1,
               "body": {"instance_id": "mol-ws-typed", "state": null, "extra": {"x": [1]}}}),
    )
    .await;
    let tenant = on(&stub).await;
    let id = create(tenant.base_url(), "typed", 0).await;
    let ws = settled(tenant.base_url(), &id).await;
    assert_eq!(ws["status"], "running", "{ws}");
    assert_eq!(ws["instance_id"], "mol-ws-typed");
    tenant.shutdown().await;
    stub.shutdown().await;
}

#[tokio::test]
async fn a_201_without_instance_id_succeeds_with_an_empty_one() {
    let stub = stub::start_default().await;
    fault(
        &stub,
        json!({"route": "provision", "status": 201, "body": {"state": "running"}, "times": 1}),
    )
    .await;
    let tenant = on(&stub).await;
    let id = create(tenant.base_url(), "no-id", 0).await;
    let ws = settled(tenant.base_url(), &id).await;
    assert_eq!(ws["status"], "running", "{ws}");
    assert_eq!(ws["instance_id"], "");
    assert_eq!(ws["error"], Value::Null);
    let run = &tenant.report().workspaces[&id].runs[0];
    assert_eq!(run.outcome, "ok");
    assert_eq!(run.instance_id.as_deref(), Some(""));
    tenant.shutdown().await;
    stub.shutdown().await;
}

/// The provision calls' idempotency keys as journaled, and the run's own.
fn keys(
    entries: &[JournalEntry],
    tenant: &tenant_double::Tenant,
    id: &str,
) -> (Vec<Value>, String) {
    let journaled = entries
        .iter()
        .map(|e| e.body.as_ref().unwrap()["idempotency_key"].clone())
        .collect();
    let own = tenant.report().workspaces[id].runs[0]
        .idempotency_key
        .clone()
        .unwrap();
    (journaled, own)
}

/// `cpprov-` + 32 lowercase hex.
fn assert_key_format(key: &str) {
    let hex = key
        .strip_prefix("cpprov-")
        .unwrap_or_else(|| panic!("{key}"));
    assert_eq!(hex.len(), 32, "{key}");
    assert!(
        hex.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')),
        "{key}"
    );
}

/// Every journaled key is the same; when the stub shows it (it is not a
/// secret), it is the run's own key.
fn assert_one_key(journaled: &[Value], own: &str) {
    assert!(journaled.windows(2).all(|w| w[0] == w[1]), "{journaled:?}");
    assert_key_format(own);
    let shown = journaled[0].as_str().unwrap();
    if shown != contract::redact::REDACTED {
        assert_eq!(shown, own);
    }
}

#[tokio::test]
async fn a_409_provision_in_progress_is_retried_with_the_same_key() {
    let stub = stub::start_default().await;
    fault(
        &stub,
        json!({"route": "provision", "status": 409,
               "body": {"error": "provision_in_progress"}, "times": 1}),
    )
    .await;
    let tenant = on(&stub).await;
    let id = create(tenant.base_url(), "in-progress", 0).await;
    let ws = settled(tenant.base_url(), &id).await;
    assert_eq!(ws["status"], "running", "{ws}");
    let entries = journal(&stub, RouteId::Provision).await;
    assert_eq!(
        entries.iter().map(|e| e.status).collect::<Vec<_>>(),
        vec![409, 201]
    );
    let run = &tenant.report().workspaces[&id].runs[0];
    assert_eq!(run.attempts.len(), 2);
    assert_eq!(
        run.attempts[0].error.as_deref(),
        Some("cp provisioner: provision failed (409): provision_in_progress")
    );
    let (journaled, own) = keys(&entries, &tenant, &id);
    assert_one_key(&journaled, &own);
    tenant.shutdown().await;
    stub.shutdown().await;
}

#[tokio::test]
async fn another_409_is_not_retried() {
    let stub = stub::start_default().await;
    fault(
        &stub,
        json!({"route": "provision", "status": 409, "body": {"error": "conflict"}, "times": 1}),
    )
    .await;
    let tenant = on(&stub).await;
    let id = create(tenant.base_url(), "conflict", 0).await;
    let ws = settled(tenant.base_url(), &id).await;
    assert_eq!(ws["status"], "failed");
    assert_eq!(
        ws["error"],
        "cp provisioner: provision failed (409): conflict"
    );
    assert_eq!(journal(&stub, RouteId::Provision).await.len(), 1);
    tenant.shutdown().await;
    stub.shutdown().await;
}

#[tokio::test]
async fn two_503s_then_success_on_attempt_3_with_one_key_and_doubling_waits() {
    let stub = stub::start_default().await;
    fault(
        &stub,
        json!({"route": "provision", "status": 503, "times": 2}),
    )
    .await;
    let tenant = on(&stub).await;
    let id = create(tenant.base_url(), "busy", 0).await;
    let ws = settled(tenant.base_url(), &id).await;
    assert_eq!(ws["status"], "running", "{ws}");
    let entries = journal(&stub, RouteId::Provision).await;
    assert_eq!(
        entries.iter().map(|e| e.status).collect::<Vec<_>>(),
        vec![503, 503, 201]
    );
    let run = &tenant.report().workspaces[&id].runs[0];
    let waits: Vec<Option<u64>> = run.attempts.iter().map(|a| a.retry_in_ms).collect();
    // The fast policy's 2 s, 4 s: 5 ms, 10 ms.
    assert_eq!(waits, vec![Some(5), Some(10), None]);
    let (journaled, own) = keys(&entries, &tenant, &id);
    assert_one_key(&journaled, &own);
    tenant.shutdown().await;
    stub.shutdown().await;
}

#[tokio::test]
async fn a_restart_mints_a_new_key() {
    let stub = stub::start_default().await;
    let tenant = on(&stub).await;
    let id = create(tenant.base_url(), "keys", 0).await;
    settled(tenant.base_url(), &id).await;
    restart_and_wait(&tenant, &id).await;
    let report = tenant.report();
    let runs = &report.workspaces[&id].runs;
    let (a, b) = (
        runs[0].idempotency_key.clone().unwrap(),
        runs[1].idempotency_key.clone().unwrap(),
    );
    assert_key_format(&a);
    assert_key_format(&b);
    assert_ne!(a, b);
    tenant.shutdown().await;
    stub.shutdown().await;
}

/// Restart `id` and wait for the run to finish (bounded).
async fn restart_and_wait(tenant: &tenant_double::Tenant, id: &str) -> tenant_double::ProvisionRun {
    let resp = authed(client().post(format!(
        "{}/admin/workspaces/{id}/restart",
        tenant.base_url()
    )))
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status().as_u16(), 202);
    for _ in 0..1000 {
        let report = tenant.report();
        if let Some(run) = report.workspaces[id].runs.get(1) {
            if run.finished_ms.is_some() {
                return run.clone();
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("restart of {id} never finished");
}

/// Restart with ensure-image answering `status` (and `body`); returns the
/// restart's run, the stub's stop and provision calls for the workspace.
async fn restart_with_ensure_image(
    status: u16,
    body: Value,
) -> (tenant_double::ProvisionRun, usize, usize) {
    let stub = stub::start_default().await;
    let tenant = on(&stub).await;
    let id = create(tenant.base_url(), "restart", 0).await;
    settled(tenant.base_url(), &id).await;
    fault(
        &stub,
        json!({"route": "ensure_image", "status": status, "body": body}),
    )
    .await;
    let run = restart_and_wait(&tenant, &id).await;
    let stops = journal(&stub, RouteId::Stop).await.len();
    let provisions = journal(&stub, RouteId::Provision).await.len();
    tenant.shutdown().await;
    stub.shutdown().await;
    (run, stops, provisions)
}

#[tokio::test]
async fn ensure_image_404_and_501_are_unsupported_and_the_restart_proceeds() {
    for status in [404, 501] {
        let (run, stops, provisions) =
            restart_with_ensure_image(status, json!({"error": "no"})).await;
        assert_eq!(run.outcome, "ok", "{status}: {run:?}");
        assert_eq!((stops, provisions), (1, 2), "{status}");
    }
}

#[tokio::test]
async fn ensure_image_any_2xx_is_ready() {
    for status in [200, 202, 204] {
        let body = if status == 204 {
            json!("")
        } else {
            json!({"status": "ready"})
        };
        let (run, stops, provisions) = restart_with_ensure_image(status, body).await;
        if status == 204 {
            // Go decodes the empty body and fails: a transient error, retried
            // (3 attempts), then the restart is declined.
            assert_eq!(run.outcome, "declined", "{run:?}");
            assert!(
                run.error.as_deref().unwrap().contains(
                    "cp provisioner: ensure-image decode 204 response: unexpected end of JSON input"
                ),
                "{run:?}"
            );
            assert_eq!((stops, provisions), (0, 1));
        } else {
            assert_eq!(run.outcome, "ok", "{status}: {run:?}");
            assert_eq!((stops, provisions), (1, 2), "{status}");
        }
    }
}

#[tokio::test]
async fn ensure_image_refused_declines_the_restart_without_stopping() {
    let (run, stops, provisions) =
        restart_with_ensure_image(400, json!({"error": "bad digest"})).await;
    assert_eq!(run.outcome, "declined", "{run:?}");
    assert_eq!(
        run.error.as_deref(),
        Some(
            "restart declined before stop: cp provisioner: ensure-image refused (400): bad digest"
        )
    );
    assert_eq!((stops, provisions), (0, 1));
}

#[tokio::test]
async fn config_non_200_is_an_error() {
    let stub = stub::start_default().await;
    fault(
        &stub,
        json!({"route": "tenants_config", "status": 500, "times": 1}),
    )
    .await;
    // The LLM keys are in the env, so the tenant boots on.
    let tenant = on(&stub).await;
    let refresh = tenant.report().config_refresh.unwrap();
    assert!(!refresh.ok);
    assert!(
        refresh
            .error
            .as_deref()
            .unwrap()
            .starts_with("cp returned 500"),
        "{refresh:?}"
    );
    assert_eq!(refresh.applied, 0);
    tenant.shutdown().await;
    stub.shutdown().await;
}

#[tokio::test]
async fn nested_config_fails_with_the_go_message() {
    let stub = stub::start_default().await;
    fault(
        &stub,
        json!({"route": "tenants_config", "status": 200, "times": 1,
               "body": {"MOLECULE_CP_URL": "http://x", "llm": {"base": "http://y"}}}),
    )
    .await;
    let tenant = on(&stub).await;
    let refresh = tenant.report().config_refresh.unwrap();
    assert!(!refresh.ok);
    let err = refresh.error.unwrap();
    assert!(
        err.starts_with("decode: json: cannot unmarshal object into Go value of type string"),
        "{err}"
    );
    // Nothing of the body was applied: the provision base is still the env's.
    assert_eq!(
        tenant.report().provision.base.as_deref(),
        Some(stub.base_url().as_str())
    );
    tenant.shutdown().await;
    stub.shutdown().await;
}

#[tokio::test]
async fn an_applied_shared_secret_is_the_bearer_of_later_provisions() {
    // The stub serves "rotated-secret" in its config and accepts only it.
    let stub = stub::start(cp_stub::Config {
        shared_secret: "rotated-secret".into(),
        expect_shared_secret: Some("rotated-secret".into()),
        ..Default::default()
    })
    .await;
    let tenant = tenant_double::start(config_from(&[
        ("CP_PROVISION_URL", &stub.base_url()),
        ("MOLECULE_CP_URL", &stub.base_url()),
        ("MOLECULE_CP_SHARED_SECRET", "stale-secret"),
    ]))
    .await
    .unwrap();
    let ev = tenant.report();
    assert!(ev.config_refresh.as_ref().unwrap().ok, "{ev:?}");
    assert!(ev
        .config_refresh
        .unwrap()
        .keys
        .contains(&"MOLECULE_CP_SHARED_SECRET".to_string()));
    let id = create(tenant.base_url(), "rotated", 0).await;
    let ws = settled(tenant.base_url(), &id).await;
    // With the stale secret the stub would answer 401.
    assert_eq!(ws["status"], "running", "{ws}");
    let entries = journal(&stub, RouteId::Provision).await;
    assert_eq!(
        entries.iter().map(|e| e.status).collect::<Vec<_>>(),
        vec![201]
    );
    tenant.shutdown().await;
    stub.shutdown().await;
}

/// A tenant config on `stub` without the LLM keys and a short retry window.
fn without_llm_keys(stub: &cp_stub::Stub, window: &str) -> tenant_double::Config {
    let mut config = config_from(&[
        ("CP_PROVISION_URL", &stub.base_url()),
        ("MOLECULE_CP_URL", &stub.base_url()),
        ("MOLECULE_CP_CONFIG_RETRY_WINDOW", window),
    ]);
    config.llm_usage_token = None;
    config.llm_usage_url = None;
    config.llm_base_url = None;
    config.llm_anthropic_base_url = None;
    config
}

#[tokio::test]
async fn llm_keys_from_the_config_are_enough() {
    // The stub's default config serves all four.
    let stub = stub::start_default().await;
    let tenant = tenant_double::start(without_llm_keys(&stub, "200ms"))
        .await
        .unwrap();
    assert!(tenant.report().config_refresh.unwrap().ok);
    tenant.shutdown().await;
    stub.shutdown().await;
}

#[tokio::test]
async fn a_config_without_the_llm_keys_is_fatal_at_once() {
    let stub = stub::start_default().await;
    fault(
        &stub,
        json!({"route": "tenants_config", "status": 200,
               "body": {"MOLECULE_LLM_USAGE_TOKEN": "t", "MOLECULE_LLM_BASE_URL": ""}}),
    )
    .await;
    let err = tenant_double::start(without_llm_keys(&stub, "10s"))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Managed tenant boot assertion: MISSING_CP_LLM_ENV: required LLM proxy keys not set \
         after refreshEnvFromCP: [MOLECULE_LLM_USAGE_URL MOLECULE_LLM_BASE_URL \
         MOLECULE_LLM_ANTHROPIC_BASE_URL]"
    );
    // The CP answered: no retry.
    assert_eq!(journal(&stub, RouteId::TenantsConfig).await.len(), 1);
    stub.shutdown().await;
}

#[tokio::test]
async fn a_failing_config_fetch_is_retried_for_the_window_then_fatal() {
    let stub = stub::start_default().await;
    fault(&stub, json!({"route": "tenants_config", "status": 500})).await;
    let err = tenant_double::start(without_llm_keys(&stub, "1500ms"))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with(
            "Managed tenant boot assertion: CP config fetch did not succeed within 1.5s: cp returned 500"
        ),
        "{text}"
    );
    // The first fetch, one after 1 s, one at the window's end.
    assert_eq!(journal(&stub, RouteId::TenantsConfig).await.len(), 3);
    stub.shutdown().await;
}

#[tokio::test]
async fn a_fetch_that_recovers_within_the_window_without_the_keys_is_missing_llm_env() {
    let stub = stub::start_default().await;
    fault(
        &stub,
        json!({"route": "tenants_config", "status": 401, "times": 1}),
    )
    .await;
    fault(
        &stub,
        json!({"route": "tenants_config", "status": 200, "body": {"A": "1"}, "times": 1}),
    )
    .await;
    let err = tenant_double::start(without_llm_keys(&stub, "5s"))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("MISSING_CP_LLM_ENV: required LLM proxy keys not set"),
        "{err}"
    );
    assert_eq!(journal(&stub, RouteId::TenantsConfig).await.len(), 2);
    stub.shutdown().await;
}
