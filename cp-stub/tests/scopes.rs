//! Scopes: every call is attributed to the replay that sent it
//! (`X-Replay-Id`), its org and the workspace it is about (body
//! `workspace_id`, else the path's `{id}`); the journal filters by each.

use serde_json::json;
use test_support::{stub::*, *};

async fn send(
    c: &reqwest::Client,
    method: &str,
    url: String,
    replay: Option<&str>,
    body: Option<serde_json::Value>,
) -> u16 {
    let mut req = c.request(method.parse().unwrap(), url);
    if let Some(r) = replay {
        req = req.header("X-Replay-Id", r);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.unwrap().status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journal_filters_by_replay_and_by_workspace_from_body_or_path() {
    let stub = start_default().await;
    let c = client();
    let base = stub.base_url();
    let prov = format!("{base}/cp/workspaces/provision");
    let q = "instance_id=mol-ws-ws-1";
    assert_eq!(
        send(
            &c,
            "POST",
            prov.clone(),
            Some("rp-a"),
            Some(provision_body("org-a", "ws-1"))
        )
        .await,
        201
    );
    assert_eq!(
        send(
            &c,
            "POST",
            prov,
            Some("rp-b"),
            Some(provision_body("org-b", "ws-2"))
        )
        .await,
        201
    );
    let status = format!("{base}/cp/workspaces/ws-1/status?{q}");
    assert_eq!(send(&c, "GET", status, Some("rp-a"), None).await, 200);
    let stop = format!("{base}/cp/workspaces/ws-1?{q}");
    assert_eq!(send(&c, "DELETE", stop, None, None).await, 200);
    let console = format!("{base}/cp/admin/workspaces/ws%2D2/console");
    assert_eq!(send(&c, "GET", console, Some("rp-b"), None).await, 200);
    let unknown = format!("{base}/cp/not-a-route/x");
    assert_eq!(send(&c, "GET", unknown, Some("rp-a"), None).await, 501);
    // Too long to attribute: not cut into someone else's id.
    let long = "r".repeat(129);
    let health = format!("{base}/cp/auth/me");
    send(&c, "GET", health, Some(&long), None).await;

    let a = journal(&c, &base, "?replay=rp-a").await;
    let paths: Vec<&str> = a.entries.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/cp/workspaces/provision",
            "/cp/workspaces/ws-1/status",
            "/cp/not-a-route/x"
        ]
    );
    assert!(a
        .entries
        .iter()
        .all(|e| e.replay_id.as_deref() == Some("rp-a")));

    let ws1 = journal(&c, &base, "?workspace=ws-1").await;
    let routes: Vec<_> = ws1
        .entries
        .iter()
        .map(|e| e.route.map(|r| r.as_str()))
        .collect();
    assert_eq!(routes, [Some("provision"), Some("status"), Some("stop")]);
    assert!(ws1
        .entries
        .iter()
        .all(|e| e.workspace.as_deref() == Some("ws-1")));
    assert_eq!(ws1.entries[2].replay_id, None, "no header, no replay id");
    // The stop carried no org: attributed to the provisioning org.
    assert_eq!(ws1.entries[2].org.as_deref(), Some("org-a"));

    // A percent-encoded path id is decoded.
    let ws2 = journal(&c, &base, "?workspace=ws-2&replay=rp-b").await;
    assert_eq!(ws2.entries.len(), 2, "{:?}", ws2.entries);
    assert_eq!(ws2.entries[1].route.map(|r| r.as_str()), Some("console"));

    let all = journal(&c, &base, "").await;
    let last = all.entries.last().unwrap();
    assert_eq!(last.replay_id, None, "a 129-byte id is not attributed");
    assert_eq!(
        journal(&c, &base, &format!("?replay={long}"))
            .await
            .entries
            .len(),
        0
    );

    // The unknown-parameter hint lists the new filters.
    let r = c
        .get(format!("{base}/__/stub/requests?nope=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let text = r.text().await.unwrap();
    assert!(text.contains("replay, workspace"), "{text}");
    let _ = json!({});
}
