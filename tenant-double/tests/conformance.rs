//! Conformance 4(ii): tenant-double runs the real client's sequence through
//! its own API against cp-stub (default mode) — boot config refresh, two
//! provisions (a minimal workspace and one with every field), the health
//! sweep's status calls, console, restarts (ensure-image → stop → provision),
//! delete (stop) and delete with erase (stop-and-prune) — and every call the
//! stub journaled has the shape of the matching call in
//! `fixtures/real-client/wire.json` (method, path, query keys, header names
//! less the noisy ones, body keys; values ignored).

use std::time::Duration;

use contract::admin::JournalEntry;
use contract::wire::{from_journal, WireCall, WireFile};
use contract::RouteId;
use serde_json::{json, Value};
use test_support::{stub, tenant::*, *};

fn wire() -> WireFile {
    let text = include_str!("../../fixtures/real-client/wire.json");
    serde_json::from_str(text).expect("wire.json parses")
}

/// Which real call a journaled one must match: its route and variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Variant {
    route: RouteId,
    /// The every-field workspace (provision, ensure-image with template and
    /// provider, status with provider).
    every_field: bool,
    /// Stop with `prune=true`.
    prune: bool,
}

/// The variant a real call is, read off its shape.
fn variant_of(call: &WireCall) -> Variant {
    let route = call.route.expect("every real call names its route");
    let every_field = match route {
        RouteId::Provision | RouteId::EnsureImage => call.body.get("template").is_some(),
        RouteId::Status => call.query_keys.iter().any(|k| k == "provider"),
        _ => false,
    };
    let prune = call.query_keys.iter().any(|k| k == "prune");
    Variant {
        route,
        every_field,
        prune,
    }
}

/// The every-field `POST /workspaces` body: the real recording's values.
fn every_field_body(name: &str) -> Value {
    let real = wire()
        .calls
        .into_iter()
        .find(|c| c.route == Some(RouteId::Provision) && c.body.get("template").is_some())
        .expect("wire.json has an every-field provision")
        .body;
    json!({
        "name": name,
        "tier": real["tier"],
        "runtime": real["runtime"],
        "template": real["template"],
        "instance_type": real["instance_type"],
        "disk_gb": real["disk_gb"],
        "provider": real["provider"],
        "data_persistence": real["data_persistence"],
        "kind": real["kind"],
        "display": real["display"],
        "config_files": {"config.yaml": "bmFtZTogeAo=", "prompts/system.md": "QmUgaGVscGZ1bC4K"},
        "template_assets": {"config.yaml": "bmFtZTogc2VvLWFnZW50Cg=="},
    })
}

async fn create_with(base: &str, body: &Value) -> String {
    let resp = authed(client().post(format!("{base}/workspaces")))
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let v: Value = resp.json().await.unwrap();
    v["id"].as_str().unwrap().to_string()
}

/// Poll until the workspace's run `run` has finished (bounded).
async fn run_finished(tenant: &tenant_double::Tenant, id: &str, run: usize) {
    for _ in 0..1000 {
        let report = tenant.report();
        let done = report.workspaces[id]
            .runs
            .get(run - 1)
            .is_some_and(|r| r.finished_ms.is_some());
        if done {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("run {run} of {id} never finished");
}

async fn restart(base: &str, id: &str) {
    let resp = authed(client().post(format!("{base}/admin/workspaces/{id}/restart")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 202);
}

async fn delete(base: &str, id: &str, query: &str) {
    let resp = authed(client().delete(format!("{base}/workspaces/{id}{query}")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status().as_u16(),
        200,
        "{}",
        resp.text().await.unwrap()
    );
}

/// The journaled calls naming workspace `id` in their path.
fn calls_for<'a>(entries: &'a [JournalEntry], route: RouteId, id: &str) -> Vec<&'a JournalEntry> {
    entries
        .iter()
        .filter(|e| e.route == Some(route) && e.path.contains(id))
        .collect()
}

#[tokio::test]
async fn the_tenants_calls_have_the_real_clients_shape() {
    let stub = stub::start_default().await;
    let base = stub.base_url();
    let tenant = tenant_double::start(tenant_double::Config {
        health_sweep_interval: Duration::from_millis(30),
        ..config_from(&[("CP_PROVISION_URL", &base), ("MOLECULE_CP_URL", &base)])
    })
    .await
    .unwrap();
    let t = tenant.base_url().to_string();

    // Two provisions: minimal and every field.
    let minimal = create_with(&t, &json!({"name": "minimal", "tier": 2})).await;
    let every = create_with(&t, &every_field_body("every-field")).await;
    run_finished(&tenant, &minimal, 1).await;
    run_finished(&tenant, &every, 1).await;
    // A third every-field workspace whose 201 carries no instance id, so its
    // restart sends the every-field ensure-image and no stop.
    stub::add_fault(
        &client(),
        &base,
        json!({"route": "provision", "status": 201, "body": {"state": "running"}, "times": 1}),
    )
    .await;
    let no_instance = create_with(&t, &every_field_body("no-instance")).await;
    run_finished(&tenant, &no_instance, 1).await;

    // Console for both.
    for id in [&minimal, &every] {
        let resp = authed(client().get(format!("{t}/workspaces/{id}/console")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        let body: Value = resp.json().await.unwrap();
        assert!(body["output"].is_string(), "{body}");
    }

    // Restarts: ensure-image (minimal and every field), stop, provision.
    restart(&t, &minimal).await;
    restart(&t, &no_instance).await;
    run_finished(&tenant, &minimal, 2).await;
    run_finished(&tenant, &no_instance, 2).await;

    // The health sweep reaches both kinds of workspace (bounded wait).
    let mut swept = false;
    for _ in 0..500 {
        let page = stub::journal(&client(), &base, "?route=status").await;
        if !calls_for(&page.entries, RouteId::Status, &minimal).is_empty()
            && !calls_for(&page.entries, RouteId::Status, &every).is_empty()
        {
            swept = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        swept,
        "the health sweep never called status for both workspaces"
    );

    // Stop (delete) and stop-and-prune (delete with erase).
    delete(&t, &minimal, "").await;
    delete(&t, &every, "?erase=true").await;
    tenant.shutdown().await;

    let page = stub::journal(&client(), &base, "").await;
    let ids = [minimal.as_str(), every.as_str(), no_instance.as_str()];
    let real = wire();
    let mut differences = Vec::new();
    let mut matched = std::collections::BTreeSet::new();
    for entry in &page.entries {
        let Some(route) = entry.route else {
            differences.push(format!(
                "{} {}: no contract route",
                entry.method, entry.path
            ));
            continue;
        };
        let mine = from_journal(std::slice::from_ref(entry), &ids, "tenant-double")
            .calls
            .remove(0);
        let for_minimal = entry.path.contains(&minimal)
            || entry.body.as_ref().and_then(|b| b.get("workspace_id")) == Some(&json!(minimal));
        let want = Variant {
            route,
            every_field: matches!(
                route,
                RouteId::Provision | RouteId::EnsureImage | RouteId::Status
            ) && !for_minimal,
            prune: route == RouteId::Stop && mine.query_keys.iter().any(|k| k == "prune"),
        };
        let Some(expected) = real.calls.iter().find(|c| variant_of(c) == want) else {
            differences.push(format!(
                "{route} {want:?}: the real client makes no such call"
            ));
            continue;
        };
        matched.insert(want);
        for d in mine.shape_differences(expected) {
            differences.push(format!("{route} ({} {}): {d}", entry.method, mine.path));
        }
    }
    let all: std::collections::BTreeSet<Variant> = real.calls.iter().map(variant_of).collect();
    for missing in all.difference(&matched) {
        differences.push(format!("the tenant never made the real call {missing:?}"));
    }
    assert!(
        differences.is_empty(),
        "tenant-double differs from the real client:\n{}",
        differences.join("\n")
    );
    // The sequence ran as intended: the erase delete pruned, the plain did not.
    let stops = |id: &str| -> Vec<String> {
        calls_for(&page.entries, RouteId::Stop, id)
            .iter()
            .map(|e| e.query.clone().unwrap_or_default())
            .collect()
    };
    assert!(
        stops(&every).iter().any(|q| q.contains("prune=true")),
        "{:?}",
        stops(&every)
    );
    assert!(
        stops(&minimal).iter().all(|q| !q.contains("prune")),
        "{:?}",
        stops(&minimal)
    );
    assert!(calls_for(&page.entries, RouteId::Stop, &no_instance).is_empty());
    stub.shutdown().await;
}
