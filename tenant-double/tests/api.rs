//! The tenant API: health, workspaces, restart (202/404/401, coalescing),
//! delete through the CP, and the tenant guard.

use contract::RouteId;
use serde_json::{json, Value};
use test_support::{tenant::*, *};

async fn tenant_on(cp: &FakeCp) -> tenant_double::Tenant {
    tenant_double::start(config_from(&[
        ("CP_PROVISION_URL", &cp.base),
        ("MOLECULE_CP_URL", &cp.base),
    ]))
    .await
    .unwrap()
}

#[tokio::test]
async fn health_and_buildinfo() {
    let cp = FakeCp::start().await;
    let tenant = tenant_on(&cp).await;
    let resp = client()
        .get(format!("{}/health", tenant.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap(), json!({"status": "ok"}));
    let info: Value = client()
        .get(format!("{}/buildinfo", tenant.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["name"], "tenant-double");
    assert_eq!(info["contract"], contract::fingerprint());
    // The commit it was built from (what the gate names), never empty.
    assert!(
        info["git_sha"].as_str().is_some_and(|s| !s.is_empty()),
        "{info}"
    );
    tenant.shutdown().await;
}

#[tokio::test]
async fn create_list_get_with_parent() {
    let cp = FakeCp::start().await;
    let tenant = tenant_on(&cp).await;
    let base = tenant.base_url();
    let resp = authed(client().post(format!("{base}/workspaces")))
        .json(&json!({"name": "alpha-parent", "tier": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let parent: Value = resp.json().await.unwrap();
    let parent_id = parent["id"].as_str().unwrap().to_string();
    assert_eq!(parent["status"], "provisioning");
    assert_eq!(parent["org_id"], ORG);
    let resp = authed(client().post(format!("{base}/workspaces")))
        .json(&json!({"name": "alpha-child", "tier": 1, "parent_id": parent_id}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let child: Value = resp.json().await.unwrap();
    let child_id = child["id"].as_str().unwrap().to_string();
    assert_ne!(parent_id, child_id);
    let child = settled(base, &child_id).await;
    assert_eq!(child["parent_id"], parent_id.as_str());
    assert_eq!(child["tier"], 1);
    assert_eq!(child["instance_id"], format!("mol-ws-{child_id}"));
    settled(base, &parent_id).await;
    let list: Value = authed(client().get(format!("{base}/workspaces")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["alpha-parent", "alpha-child"]);

    // Unknown parent, missing name, wrong tier type: 400 naming the field.
    for (body, needle) in [
        (
            json!({"name": "x", "parent_id": "nope"}),
            "parent workspace nope not found",
        ),
        (json!({"tier": 0}), "name is required"),
        (
            json!({"name": "x", "tier": "high"}),
            "tier must be an integer",
        ),
    ] {
        let resp = authed(client().post(format!("{base}/workspaces")))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 400);
        let err: Value = resp.json().await.unwrap();
        assert!(err["error"].as_str().unwrap().contains(needle), "{err}");
    }
    let resp = authed(client().get(format!("{base}/workspaces/nope")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    assert_eq!(
        resp.json::<Value>().await.unwrap(),
        json!({"error": "workspace not found"})
    );
    tenant.shutdown().await;
}

#[tokio::test]
async fn tenant_guard() {
    let cp = FakeCp::start().await;
    let tenant = tenant_on(&cp).await;
    let base = tenant.base_url();
    let id = create(base, "alpha-parent", 0).await;
    let url = format!("{base}/workspaces/{id}");

    // No org header: 400 naming the header, whatever the route.
    for req in [
        client().get(&url),
        client().get(format!("{base}/workspaces")),
        client().post(format!("{base}/admin/workspaces/{id}/restart")),
    ] {
        let resp = req
            .header("Authorization", format!("Bearer {TOKEN}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 400);
        assert_eq!(
            resp.json::<Value>().await.unwrap(),
            json!({"code": "TENANT_ORG_HEADER_REQUIRED", "required_header": "X-Molecule-Org-Id"})
        );
    }

    // Another tenant's org (with its token), or this org with another
    // tenant's token: the same 404 that does not say why.
    let other_org = client()
        .get(&url)
        .header("X-Molecule-Org-Id", "org-beta")
        .header("Authorization", "Bearer beta-admin-token")
        .send()
        .await
        .unwrap();
    let other_token = client()
        .get(&url)
        .header("X-Molecule-Org-Id", ORG)
        .header("Authorization", "Bearer beta-admin-token")
        .send()
        .await
        .unwrap();
    let unknown = authed(client().get(format!("{base}/workspaces/other")))
        .send()
        .await
        .unwrap();
    assert_eq!(other_org.status().as_u16(), 404);
    assert_eq!(other_token.status().as_u16(), 404);
    let a = other_org.json::<Value>().await.unwrap();
    let b = other_token.json::<Value>().await.unwrap();
    assert_eq!(a, json!({"error": "not found"}));
    assert_eq!(a, b);
    assert_eq!(unknown.status().as_u16(), 404);

    // No bearer at all: 401.
    let resp = client()
        .get(&url)
        .header("X-Molecule-Org-Id", ORG)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);

    // With both right: 200.
    let resp = authed(client().get(&url)).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    tenant.shutdown().await;
}

#[tokio::test]
async fn restart_answers_202_404_401_and_reprovisions() {
    let cp = FakeCp::start().await;
    let tenant = tenant_on(&cp).await;
    let base = tenant.base_url();
    let id = create(base, "alpha-parent", 0).await;
    settled(base, &id).await;
    assert_eq!(cp.seen_route(RouteId::Provision).len(), 1);

    let resp = authed(client().post(format!("{base}/admin/workspaces/{id}/restart")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 202);
    assert_eq!(
        resp.json::<Value>().await.unwrap(),
        json!({"status": "restart_dispatched", "workspace_id": id})
    );
    let ws = settled(base, &id).await;
    assert_eq!(ws["status"], "running");
    assert_eq!(ws["provision_runs"], 2);
    assert_eq!(cp.seen_route(RouteId::Provision).len(), 2);
    let ev = evidence(base).await;
    assert_eq!(ev.workspaces[&id].runs[1].trigger, "restart");
    assert_eq!(ev.totals.restarts_requested, 1);

    let resp = authed(client().post(format!("{base}/admin/workspaces/nope/restart")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    assert_eq!(
        resp.json::<Value>().await.unwrap(),
        json!({"error": "workspace not found"})
    );

    for auth in [
        None,
        Some("Bearer wrong-token"),
        Some("Basic abc"),
        Some("Bearer "),
    ] {
        let mut req = client()
            .post(format!("{base}/admin/workspaces/{id}/restart"))
            .header("X-Molecule-Org-Id", ORG);
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 401, "{auth:?}");
    }
    let resp = authed(client().get(format!("{base}/admin/workspaces/{id}/restart")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 405);
    assert_eq!(resp.headers()["allow"], "POST");
    assert_eq!(
        cp.seen_route(RouteId::Provision).len(),
        2,
        "refused restarts call nothing"
    );
    tenant.shutdown().await;
}

#[tokio::test]
async fn concurrent_restarts_coalesce_into_one_reprovision() {
    let cp = FakeCp::start().await;
    let tenant = tenant_on(&cp).await;
    let base = tenant.base_url().to_string();
    let id = create(&base, "alpha-parent", 0).await;
    settled(&base, &id).await;
    // Hold the re-provision at the CP: every later restart arrives while it
    // is in flight, however slow the machine.
    cp.hold(RouteId::Provision);
    let restart = |base: String, id: String| async move {
        authed(client().post(format!("{base}/admin/workspaces/{id}/restart")))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(restart(base.clone(), id.clone()).await, 202);
    cp.wait_calls(RouteId::Provision, 2).await;
    let mut handles = Vec::new();
    for _ in 0..4 {
        handles.push(tokio::spawn(restart(base.clone(), id.clone())));
    }
    for h in handles {
        assert_eq!(h.await.unwrap(), 202);
    }
    cp.release(RouteId::Provision);
    let ws = settled(&base, &id).await;
    assert_eq!(ws["status"], "running");
    assert_eq!(
        cp.seen_route(RouteId::Provision).len(),
        2,
        "one create + one re-provision"
    );
    let ev = evidence(&base).await;
    assert_eq!(ev.totals.restarts_requested, 5);
    assert_eq!(ev.totals.restarts_coalesced, 4);
    assert_eq!(ev.workspaces[&id].runs.len(), 2);
    assert_eq!(ev.workspaces[&id].runs[1].coalesced_restarts, 4);
    // Once it finished, a restart starts a new run again.
    assert_eq!(restart(base.clone(), id.clone()).await, 202);
    settled(&base, &id).await;
    assert_eq!(cp.seen_route(RouteId::Provision).len(), 3);
    tenant.shutdown().await;
}

#[tokio::test]
async fn delete_stops_through_the_cp() {
    let cp = FakeCp::start().await;
    let tenant = tenant_on(&cp).await;
    let base = tenant.base_url();
    let id = create(base, "alpha-parent", 0).await;
    settled(base, &id).await;
    let resp = authed(client().delete(format!("{base}/workspaces/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let stops = cp.seen_route(RouteId::Stop);
    assert_eq!(stops.len(), 1);
    assert_eq!(stops[0].path, format!("/cp/workspaces/{id}"));
    assert_eq!(
        stops[0].query.as_deref(),
        Some(format!("instance_id=mol-ws-{id}").as_str())
    );
    let resp = authed(client().get(format!("{base}/workspaces/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    let ev = evidence(base).await;
    assert_eq!(ev.workspaces[&id].status, "deleted");
    assert_eq!(ev.workspaces[&id].stops[0].status, Some(200));

    // A failing stop keeps the workspace and answers 502 with the reason.
    let id = create(base, "alpha-child", 1).await;
    settled(base, &id).await;
    cp.script(RouteId::Stop, &[(500, r#"{"error":"stop broke"}"#)]);
    let resp = authed(client().delete(format!("{base}/workspaces/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 502);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "cp provisioner: stop failed (500): stop broke"
    );
    assert_eq!(settled(base, &id).await["status"], "running");
    tenant.shutdown().await;
}

#[tokio::test]
async fn unknown_paths_and_methods() {
    let cp = FakeCp::start().await;
    let tenant = tenant_on(&cp).await;
    let base = tenant.base_url();
    let resp = client().get(format!("{base}/nope")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    let resp = client()
        .put(format!("{base}/workspaces"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 405);
    assert_eq!(resp.headers()["allow"], "GET, POST");
    tenant.shutdown().await;
}

#[tokio::test]
async fn start_refuses_an_empty_org() {
    let err = tenant_double::start(tenant_double::Config {
        port: 0,
        ..Default::default()
    })
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("MOLECULE_ORG_ID is empty"),
        "{err}"
    );
}

#[tokio::test]
async fn shutdown_closes_the_listener() {
    let cp = FakeCp::start().await;
    let tenant = tenant_on(&cp).await;
    let addr = tenant.local_addr();
    assert!(addr.ip().is_loopback());
    assert_ne!(addr.port(), 0);
    tenant.shutdown().await;
    assert!(client()
        .get(format!("http://{addr}/health"))
        .send()
        .await
        .is_err());
}

/// A client that stops sending mid-body gets 408 naming the setting, within
/// the body timeout, and the connection back; an oversized body is 413.
#[tokio::test]
async fn a_stalled_or_oversized_body_is_refused_with_its_cause() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let cp = FakeCp::start().await;
    let mut config = config_from(&[
        ("CP_PROVISION_URL", &cp.base),
        ("MOLECULE_CP_URL", &cp.base),
    ]);
    config.body_timeout = std::time::Duration::from_millis(300);
    let tenant = tenant_double::start(config).await.unwrap();
    let addr = tenant.base_url().trim_start_matches("http://").to_string();
    let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /workspaces HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\nX-Molecule-Org-Id: {ORG}\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{{\"name\":"
    );
    let started = std::time::Instant::now();
    conn.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(std::time::Duration::from_secs(5), conn.read(&mut answer))
        .await
        .expect("an answer within the body timeout, not a hang")
        .unwrap();
    let text = String::from_utf8_lossy(&answer[..n]);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("TENANT_DOUBLE_BODY_TIMEOUT_MS"), "{text}");
    assert!(started.elapsed() >= std::time::Duration::from_millis(250));

    let resp = authed(client().post(format!("{}/workspaces", tenant.base_url())))
        .header("Content-Type", "application/json")
        .body(vec![b' '; (1 << 20) + 1])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 413);
    assert!(resp.text().await.unwrap().contains("1 MiB limit"));
    tenant.shutdown().await;
}
