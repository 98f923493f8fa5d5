//! seed against opaque tenants (`tenant-double --no-evidence`, as the real
//! tenant): it decides from the stub's journal alone, and catches D1 from
//! the stub's side right after boot.

use std::time::Duration;

use serde_json::json;
use test_support::stack::*;

async fn opaque(org: &str, token: &str, stub: &str) -> tenant_double::Tenant {
    tenant_double::start(tenant_double::Config {
        no_evidence: true,
        ..tenant_config(org, token, Some(stub))
    })
    .await
    .unwrap()
}

async fn opaque_stack(stub: cp_stub::Stub) -> Stack {
    let base = stub.base_url();
    let alpha = opaque("org-alpha", "alpha-admin-token", &base).await;
    let beta = opaque("org-beta", "beta-admin-token", &base).await;
    Stack { stub, alpha, beta }
}

#[tokio::test]
async fn seeds_opaque_tenants_from_the_journal() {
    let stack = opaque_stack(start_stub().await).await;
    let dir = tempfile::tempdir().unwrap();
    let outcome = seed::run(&stack.config(&dir.path().join(".seed.env")))
        .await
        .unwrap();
    assert_eq!(outcome.workspaces.len(), 4);
    for s in &outcome.workspaces {
        // The instance id is the stub's: the tenant shows none.
        assert_eq!(s.instance_id, format!("mol-ws-{}", s.id));
    }
    stack.shutdown().await;
}

#[tokio::test]
async fn d1_a_nested_config_is_caught_at_boot() {
    let stub = start_stub().await;
    let c = reqwest::Client::builder().no_proxy().build().unwrap();
    test_support::stub::add_fault(
        &c,
        &stub.base_url(),
        json!({"route": "tenants_config", "status": 200,
               "body": {"MOLECULE_CP_URL": "http://x", "runtimes": ["claude-code"]}}),
    )
    .await;
    let stack = opaque_stack(stub).await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = stack.config(&dir.path().join(".seed.env"));
    config.timeout = Duration::from_secs(10);
    let err = seed::run(&config).await.unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(err, seed::SeedError::ConfigCall { .. }),
        "{message}"
    );
    assert!(
        message.starts_with(
            "tenant alpha's boot config call (GET /cp/tenants/config under org-alpha) was answered 200 with a body the client cannot decode"
        ),
        "{message}"
    );
    assert!(message.contains("/runtimes"), "{message}");
    assert!(message.contains("(incident D1)"), "{message}");
    assert!(!dir.path().join(".seed.env").exists());
    stack.shutdown().await;
}

#[tokio::test]
async fn d3_a_201_the_client_cannot_decode_is_named() {
    let stub = start_stub().await;
    let c = reqwest::Client::builder().no_proxy().build().unwrap();
    test_support::stub::add_fault(
        &c,
        &stub.base_url(),
        json!({"route": "provision", "org": "org-beta", "status": 201,
               "body": {"instance_id": "mol-ws-x", "state": 7}}),
    )
    .await;
    let stack = opaque_stack(stub).await;
    let dir = tempfile::tempdir().unwrap();
    let message = seed::run(&stack.config(&dir.path().join(".seed.env")))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("on tenant beta has no instance"),
        "{message}"
    );
    assert!(message.contains(r#""state":7"#), "{message}");
    assert!(message.contains("/state"), "{message}");
    assert!(message.contains("incident D3"), "{message}");
    stack.shutdown().await;
}
