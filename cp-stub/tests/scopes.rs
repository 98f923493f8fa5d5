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

async fn counts(c: &reqwest::Client, base: &str, query: &str) -> contract::admin::ScopedCounts {
    let v = get_json(c, &format!("{base}/__/stub/counts?{query}")).await;
    serde_json::from_value(v).expect("ScopedCounts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_of_several_scopes_come_from_one_read() {
    use contract::admin::ScopeKind;
    let stub = start_default().await;
    let c = client();
    let base = stub.base_url();
    let prov = format!("{base}/cp/workspaces/provision");
    send(
        &c,
        "POST",
        prov.clone(),
        Some("rp-a"),
        Some(provision_body("org-a", "ws-1")),
    )
    .await;
    send(
        &c,
        "POST",
        prov,
        Some("rp-b"),
        Some(provision_body("org-a", "ws-2")),
    )
    .await;
    let status = format!("{base}/cp/workspaces/ws-1/status?instance_id=mol-ws-ws-1");
    send(&c, "GET", status, Some("rp-b"), None).await;
    send(&c, "GET", format!("{base}/cp/nope"), Some("rp-a"), None).await;
    let bad = json!({"org_id": "org-a", "workspace_id": "ws-1"});
    send(
        &c,
        "POST",
        format!("{base}/cp/workspaces/provision"),
        Some("rp-a"),
        Some(bad),
    )
    .await;

    let n = counts(
        &c,
        &base,
        "replay=rp-a&replay=rp-b&org=org-a&workspace=ws-1&workspace=ws-9",
    )
    .await;
    assert_eq!(n.seq, 5);
    assert_eq!(n.all.total_requests, 5);
    let a = &n.replays["rp-a"];
    assert_eq!(a.created_seq, Some(1));
    assert_eq!(a.counts.total_requests, 3);
    assert_eq!(a.counts.routes.get("provision"), Some(&2));
    assert_eq!(
        (a.counts.unmatched, a.counts.statuses.get("501")),
        (1, Some(&1))
    );
    assert!(
        a.counts.violations > 0,
        "the bad provision broke the schema"
    );
    assert_eq!(n.replays["rp-b"].counts.total_requests, 2);
    assert_eq!(n.orgs["org-a"].counts.routes.get("provision"), Some(&3));
    // The status call carried no org: attributed via the workspace map.
    assert_eq!(n.orgs["org-a"].counts.routes.get("status"), Some(&1));
    assert_eq!(n.workspaces["ws-1"].counts.total_requests, 3);
    assert_eq!(n.workspaces["ws-9"].created_seq, None, "never seen");
    let b = &n.bounds[&ScopeKind::Replay];
    assert_eq!(
        (b.cap, b.env.as_str(), b.evicted_at_seq),
        (4096, "CP_STUB_MAX_REPLAY_SCOPES", None)
    );
    assert_eq!(n.bounds[&ScopeKind::Workspace].cap, 16384);

    let r = c
        .get(format!("{base}/__/stub/counts?replay="))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let r = c
        .get(format!("{base}/__/stub/counts?repaly=x"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("unknown query parameter `repaly`"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_scope_map_evicts_the_oldest_and_says_when() {
    use contract::admin::ScopeKind;
    let stub = start(cp_stub::Config {
        port: 0,
        max_replay_scopes: 2,
        ..cp_stub::Config::default()
    })
    .await;
    let c = client();
    let base = stub.base_url();
    let me = format!("{base}/cp/auth/me");
    for r in ["rp-1", "rp-2", "rp-1"] {
        send(&c, "GET", me.clone(), Some(r), None).await;
    }
    let before = counts(&c, &base, "replay=rp-1").await;
    assert_eq!(before.bounds[&ScopeKind::Replay].evicted_at_seq, None);
    send(&c, "GET", me.clone(), Some("rp-3"), None).await;
    let after = counts(&c, &base, "replay=rp-1&replay=rp-2").await;
    assert_eq!(
        after.replays["rp-1"].created_seq, None,
        "rp-1 was created first"
    );
    assert_eq!(after.replays["rp-2"].created_seq, Some(2));
    let bound = &after.bounds[&ScopeKind::Replay];
    assert_eq!(
        (bound.evicted, bound.evicted_at_seq, bound.cap),
        (1, Some(4), 2)
    );
    // A scoped journal query of an evicted scope says its entries may be lost.
    let page = journal(&c, &base, "?replay=rp-1").await;
    let lost = page.lost.expect("lost");
    assert_eq!(lost.count, None);
    assert!(
        lost.message.contains("CP_STUB_MAX_REPLAY_SCOPES=2"),
        "{}",
        lost.message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scoped_journal_page_says_when_the_journal_dropped_entries_of_its_scope() {
    let stub = start(cp_stub::Config {
        port: 0,
        journal_capacity: 3,
        ..cp_stub::Config::default()
    })
    .await;
    let c = client();
    let base = stub.base_url();
    let me = format!("{base}/cp/auth/me");
    send(&c, "GET", me.clone(), Some("rp-a"), None).await;
    assert!(journal(&c, &base, "?replay=rp-a").await.lost.is_none());
    for _ in 0..3 {
        send(&c, "GET", me.clone(), Some("rp-other"), None).await;
    }
    let page = journal(&c, &base, "?replay=rp-a").await;
    assert!(page.entries.is_empty());
    let lost = page.lost.expect("rp-a's entry was dropped");
    assert_eq!((lost.count, lost.scope.as_str()), (Some(1), "replay=rp-a"));
    assert!(
        lost.message.contains("CP_STUB_JOURNAL_CAPACITY=3"),
        "{}",
        lost.message
    );
    assert!(journal(&c, &base, "?replay=rp-other").await.lost.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scoped_reset_snapshot_and_faults_touch_only_their_scope() {
    let stub = start_default().await;
    let c = client();
    let base = stub.base_url();
    let prov = format!("{base}/cp/workspaces/provision");
    send(
        &c,
        "POST",
        prov.clone(),
        Some("rp-other"),
        Some(provision_body("org-o", "ws-o")),
    )
    .await;
    // A fault scoped to rp-a fires only on rp-a's calls.
    add_fault(
        &c,
        &base,
        json!({"route": "provision", "status": 503, "replay": "rp-a"}),
    )
    .await;
    add_fault(
        &c,
        &base,
        json!({"route": "provision", "status": 502, "workspace": "ws-w"}),
    )
    .await;
    assert_eq!(
        send(
            &c,
            "POST",
            prov.clone(),
            Some("rp-b"),
            Some(provision_body("org-b", "ws-b"))
        )
        .await,
        201
    );
    assert_eq!(
        send(
            &c,
            "POST",
            prov.clone(),
            Some("rp-a"),
            Some(provision_body("org-a", "ws-a"))
        )
        .await,
        503
    );
    assert_eq!(
        send(
            &c,
            "POST",
            prov.clone(),
            Some("rp-b"),
            Some(provision_body("org-b", "ws-w"))
        )
        .await,
        502
    );
    let r = c
        .delete(format!("{base}/__/stub/faults?replay=rp-a"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["cleared"], 1);
    let left: Vec<serde_json::Value> = c
        .get(format!("{base}/__/stub/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(left.len(), 1, "the workspace fault stays: {left:?}");
    // The list can be scoped too, and one fault read by its id.
    let get = |url: String| {
        let c = c.clone();
        async move {
            let r = c.get(url).send().await.unwrap();
            (
                r.status().as_u16(),
                r.json::<serde_json::Value>().await.unwrap(),
            )
        }
    };
    let (status, mine) = get(format!("{base}/__/stub/faults?workspace=ws-w")).await;
    assert_eq!((status, mine.as_array().map(Vec::len)), (200, Some(1)));
    let (_, none) = get(format!("{base}/__/stub/faults?replay=rp-a")).await;
    assert_eq!(none, json!([]), "rp-a's fault was cleared");
    let id = left[0]["id"].as_u64().unwrap();
    let (status, one) = get(format!("{base}/__/stub/faults/{id}")).await;
    assert_eq!(
        (status, &one["id"], &one["hits"]),
        (200, &json!(id), &json!(1))
    );
    let (status, _) = get(format!("{base}/__/stub/faults/{}", id + 100)).await;
    assert_eq!(status, 404);
    assert_eq!(
        send(
            &c,
            "POST",
            prov.clone(),
            Some("rp-a"),
            Some(provision_body("org-a", "ws-a"))
        )
        .await,
        201
    );

    // Snapshot of rp-a: its counts, then only rp-a forgotten.
    let r = c
        .post(format!("{base}/__/stub/snapshot?replay=rp-a"))
        .send()
        .await
        .unwrap();
    let snap: contract::admin::ScopedCounts = r.json().await.unwrap();
    assert_eq!(
        snap.replays["rp-a"].counts.routes.get("provision"),
        Some(&2)
    );
    assert_eq!(snap.replays["rp-a"].counts.statuses.get("503"), Some(&1));
    let n = counts(&c, &base, "replay=rp-a&replay=rp-other&replay=rp-b").await;
    assert_eq!(n.replays["rp-a"].created_seq, None);
    assert_eq!(n.replays["rp-other"].counts.total_requests, 1);
    assert_eq!(n.all.total_requests, 5, "the whole stub's counts stay");
    assert!(journal(&c, &base, "?replay=rp-a").await.entries.is_empty());
    assert_eq!(journal(&c, &base, "?replay=rp-b").await.entries.len(), 2);
    let generation = state(&c, &base).await.generation;

    // Reset of a workspace: its journal entries and faults go, nobody else's.
    let r = c
        .post(format!("{base}/__/stub/reset?workspace=ws-w"))
        .send()
        .await
        .unwrap();
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["journal_forgotten"], 1);
    assert_eq!(v["faults_cleared"], 1);
    assert_eq!(
        v["generation"], generation,
        "a scoped reset is no global reset"
    );
    assert_eq!(journal(&c, &base, "?replay=rp-b").await.entries.len(), 1);
    assert_eq!(
        journal(&c, &base, "?replay=rp-other").await.entries.len(),
        1
    );
    assert_eq!(state(&c, &base).await.generation, generation);

    let r = c
        .post(format!("{base}/__/stub/reset?replay=a&org=b"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    // The unscoped reset still owns everything.
    c.post(format!("{base}/__/stub/reset"))
        .send()
        .await
        .unwrap();
    let n = counts(&c, &base, "replay=rp-other").await;
    assert_eq!(
        (n.replays["rp-other"].created_seq, n.all.total_requests),
        (None, 0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_of_several_scopes_is_complete_when_one_of_them_lost_nothing() {
    let stub = start(cp_stub::Config {
        port: 0,
        journal_capacity: 2,
        max_replay_scopes: 1,
        ..cp_stub::Config::default()
    })
    .await;
    let c = client();
    let base = stub.base_url();
    let me = format!("{base}/cp/auth/me");
    let prov = format!("{base}/cp/workspaces/provision");
    // rp-a's first call is dropped from the journal; ws-1's only call is kept.
    send(&c, "GET", me.clone(), Some("rp-a"), None).await;
    send(&c, "GET", me.clone(), Some("rp-a"), None).await;
    send(
        &c,
        "POST",
        prov,
        Some("rp-a"),
        Some(provision_body("org-a", "ws-1")),
    )
    .await;
    assert_eq!(
        journal(&c, &base, "?replay=rp-a").await.lost.unwrap().count,
        Some(1)
    );
    let both = journal(&c, &base, "?replay=rp-a&workspace=ws-1").await;
    assert_eq!(both.entries.len(), 1);
    assert!(both.lost.is_none(), "ws-1 lost nothing: {:?}", both.lost);
    // rp-a evicted by rp-b, then back: its earlier life is not accounted.
    send(&c, "GET", me.clone(), Some("rp-b"), None).await;
    send(&c, "GET", me.clone(), Some("rp-a"), None).await;
    let again = journal(&c, &base, "?replay=rp-a")
        .await
        .lost
        .expect("earlier life");
    assert_eq!(again.count, None);
    assert!(
        again.message.contains("evicted replay=rp-a before"),
        "{}",
        again.message
    );
}
