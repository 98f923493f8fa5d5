//! The admin API under /__/stub/: state, reset, snapshot, journal and its
//! filters and bound, version, contract, openapi — and exact counters
//! under concurrency.

use std::sync::Arc;

use cp_stub::Config;
use serde_json::{json, Value};
use test_support::{stub::*, *};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_has_every_legacy_counter_and_the_legacy_path_serves_it() {
    let stub = start_default().await;
    let c = client();
    let base = stub.base_url();
    let st = state(&c, &base).await;
    for route in contract::ROUTES {
        assert_eq!(
            st.counters.get(route.counter),
            Some(&0),
            "{}",
            route.counter
        );
        assert_eq!(st.routes.get(route.id.as_str()), Some(&0), "{}", route.id);
    }
    provision(&c, &base, "org-a", "w1").await;
    let raw = get_json(&c, &format!("{base}/__/stub/state")).await;
    assert_eq!(
        raw["provision_calls"], 1,
        "flat legacy counter at the top level"
    );
    let legacy = get_json(&c, &format!("{base}/__stub/state")).await;
    assert_eq!(legacy["provision_calls"], 1);
    assert_eq!(legacy["orgs"], json!({"org-a": {"provision": 1}}));
    assert_eq!(legacy["statuses"], json!({"201": 1}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_calls_are_neither_counted_nor_journaled() {
    let stub = start_default().await;
    let c = client();
    let base = stub.base_url();
    provision(&c, &base, "org-a", "w1").await;
    for path in [
        "state",
        "requests",
        "faults",
        "version",
        "contract",
        "openapi.json",
    ] {
        get_json(&c, &format!("{base}/__/stub/{path}")).await;
    }
    get_json(&c, &format!("{base}/__stub/state")).await;
    let st = state(&c, &base).await;
    assert_eq!(st.total_requests, 1);
    assert_eq!(st.journal_seq, 1);
    assert_eq!(journal(&c, &base, "").await.entries.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_clears_everything_and_bumps_the_generation() {
    let stub = start_default().await;
    let c = client();
    let base = stub.base_url();
    provision(&c, &base, "org-a", "w1").await;
    c.get(format!("{base}/cp/nope")).send().await.unwrap();
    add_fault(&c, &base, json!({"route": "status", "status": 500})).await;
    let r = c
        .post(format!("{base}/__/stub/reset"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v, json!({"reset": true, "generation": 1}));
    let st = state(&c, &base).await;
    assert_eq!(st.total_requests, 0);
    assert_eq!(st.counters["provision_calls"], 0);
    assert!(st.orgs.is_empty() && st.unmatched.is_empty() && st.statuses.is_empty());
    assert_eq!(st.generation, 1);
    assert_eq!(st.journal_seq, 2, "sequence numbers are never reused");
    assert!(journal(&c, &base, "").await.entries.is_empty());
    let faults = get_json(&c, &format!("{base}/__/stub/faults")).await;
    assert_eq!(faults, json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_returns_the_state_and_resets_it() {
    let stub = start_default().await;
    let c = client();
    let base = stub.base_url();
    provision(&c, &base, "org-a", "w1").await;
    provision(&c, &base, "org-b", "w2").await;
    let r = c
        .post(format!("{base}/__/stub/snapshot"))
        .send()
        .await
        .unwrap();
    let snap: contract::admin::StubState = r.json().await.unwrap();
    assert_eq!(snap.counters["provision_calls"], 2);
    assert_eq!(snap.org_calls("org-b", contract::RouteId::Provision), 1);
    assert_eq!(snap.generation, 0);
    let after = state(&c, &base).await;
    assert_eq!(after.counters["provision_calls"], 0);
    assert_eq!(after.generation, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_under_load_lose_and_double_count_nothing() {
    let stub = start_default().await;
    let c = client();
    let base = stub.base_url();
    let tasks = 16;
    let per_task = 150;
    let mut handles = Vec::new();
    for t in 0..tasks {
        let (c, base) = (c.clone(), base.clone());
        handles.push(tokio::spawn(async move {
            for i in 0..per_task {
                let r =
                    provision(&c, &base, &format!("org-{}", t % 3), &format!("w-{t}-{i}")).await;
                assert_eq!(r.status().as_u16(), 201);
            }
        }));
    }
    let snapper = {
        let (c, base) = (c.clone(), base.clone());
        tokio::spawn(async move {
            let mut total = 0u64;
            let mut snaps = 0;
            for _ in 0..40 {
                let s: contract::admin::StubState = c
                    .post(format!("{base}/__/stub/snapshot"))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                let per_org: u64 = s.orgs.values().map(|m| m["provision"]).sum();
                assert_eq!(
                    per_org, s.counters["provision_calls"],
                    "per-org sums match inside one snapshot"
                );
                assert_eq!(s.total_requests, s.counters["provision_calls"]);
                total += s.counters["provision_calls"];
                snaps += 1;
                tokio::task::yield_now().await;
            }
            (total, snaps)
        })
    };
    for h in handles {
        h.await.unwrap();
    }
    let (snapped, snaps) = snapper.await.unwrap();
    let rest = state(&c, &base).await.counters["provision_calls"];
    assert_eq!(
        snapped + rest,
        (tasks * per_task) as u64,
        "over {snaps} snapshots"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exact_counters_under_concurrency_64_tasks_x_500_calls() {
    let stub = start_default().await;
    let c = client();
    let base = stub.base_url();
    let orgs = ["org-alpha", "org-beta", "org-gamma", "org-delta"];
    let addr = stub.local_addr();
    let mut handles = Vec::new();
    for t in 0..64usize {
        handles.push(tokio::spawn(async move {
            // One keep-alive connection per task, raw HTTP/1.1: a debug-build
            // reqwest would spend more CPU than the server under test.
            let mut conn = RawConn::connect(addr).await;
            let org = orgs[t % orgs.len()];
            for i in 0..500 {
                let body = provision_body(org, &format!("ws-{t}-{i}")).to_string();
                let (status, answer) = conn.post_json("/cp/workspaces/provision", &body).await;
                assert_eq!(status, 201);
                if i == 0 {
                    let v: Value = serde_json::from_slice(&answer).unwrap();
                    assert_eq!(v["instance_id"], format!("mol-ws-ws-{t}-0"));
                }
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let st = state(&c, &base).await;
    assert_eq!(st.counters["provision_calls"], 32_000);
    assert_eq!(st.routes["provision"], 32_000);
    assert_eq!(st.statuses["201"], 32_000);
    assert_eq!(st.total_requests, 32_000);
    for org in orgs {
        assert_eq!(
            st.org_calls(org, contract::RouteId::Provision),
            8_000,
            "{org}"
        );
    }
    assert_eq!(st.orgs.len(), 4);
    assert_eq!(st.journal_seq, 32_000);
    let page = journal(&c, &base, "").await;
    assert_eq!(page.entries.len(), 1_000);
    assert_eq!(page.dropped, 31_000);
    assert_eq!(page.entries.first().unwrap().seq, 31_001);
    assert_eq!(page.entries.last().unwrap().seq, 32_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journal_is_bounded_and_counts_what_it_dropped() {
    let stub = start(Config {
        journal_capacity: 5,
        ..Config::default()
    })
    .await;
    let c = client();
    let base = stub.base_url();
    for i in 0..12 {
        provision(&c, &base, "org-a", &format!("w{i}")).await;
    }
    let page = journal(&c, &base, "").await;
    assert_eq!(page.capacity, 5);
    assert_eq!(page.dropped, 7);
    assert_eq!(page.last_seq, 12);
    let seqs: Vec<u64> = page.entries.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, vec![8, 9, 10, 11, 12]);
    assert_eq!(
        page.entries[4].body.as_ref().unwrap()["workspace_id"],
        "w11"
    );
    // Counters are not bounded by the journal.
    assert_eq!(state(&c, &base).await.counters["provision_calls"], 12);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journal_filters() {
    let stub = start_default().await;
    let c = client();
    let base = stub.base_url();
    provision(&c, &base, "org-a", "w1").await; // 1
    provision(&c, &base, "org-b", "w2").await; // 2
    c.get(format!("{base}/cp/tenants/config"))
        .header("X-Molecule-Org-Id", "org-a")
        .send()
        .await
        .unwrap(); // 3
    c.get(format!("{base}/cp/workspaces/provision"))
        .send()
        .await
        .unwrap(); // 4: 405
    c.put(format!("{base}/cp/nothing")).send().await.unwrap(); // 5: 501
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let mid = journal(&c, &base, "").await.entries[4].at_ms;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    provision(&c, &base, "org-a", "w3").await; // 6

    let seqs =
        |p: contract::admin::JournalPage| p.entries.iter().map(|e| e.seq).collect::<Vec<_>>();
    assert_eq!(
        seqs(journal(&c, &base, "?route=provision").await),
        vec![1, 2, 6]
    );
    assert_eq!(seqs(journal(&c, &base, "?org=org-a").await), vec![1, 3, 6]);
    assert_eq!(
        seqs(journal(&c, &base, "?org=org-a&route=provision").await),
        vec![1, 6]
    );
    assert_eq!(seqs(journal(&c, &base, "?method=get").await), vec![3, 4]);
    assert_eq!(seqs(journal(&c, &base, "?status=405").await), vec![4]);
    assert_eq!(seqs(journal(&c, &base, "?since_seq=4").await), vec![5, 6]);
    assert_eq!(
        seqs(journal(&c, &base, "?unmatched=true").await),
        vec![4, 5]
    );
    assert_eq!(
        seqs(journal(&c, &base, "?unmatched=false").await),
        vec![1, 2, 3, 6]
    );
    assert_eq!(seqs(journal(&c, &base, "?limit=2").await), vec![1, 2]);
    assert_eq!(
        seqs(journal(&c, &base, "?since_seq=1&limit=2").await),
        vec![2, 3]
    );
    assert_eq!(
        seqs(journal(&c, &base, &format!("?since_ms={}", mid + 1)).await),
        vec![6]
    );
    assert_eq!(
        seqs(journal(&c, &base, &format!("?until_ms={mid}")).await),
        vec![1, 2, 3, 4, 5]
    );
    let e = &journal(&c, &base, "?since_seq=2&limit=1").await.entries[0];
    assert_eq!(e.route, Some(contract::RouteId::TenantsConfig));
    assert_eq!(e.org.as_deref(), Some("org-a"));
    assert_eq!(e.status, 200);
    assert_eq!(e.headers["x-molecule-org-id"], "org-a");
    for bad in [
        "?status=abc",
        "?nope=1",
        "?unmatched=maybe",
        "?route=provisoin",
    ] {
        let r = c
            .get(format!("{base}/__/stub/requests{bad}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 400, "{bad}");
        let v: Value = r.json().await.unwrap();
        assert_valid(contract::SchemaId::Error, &v, bad);
    }
    // An unknown route id is refused, naming the known ones.
    let r = c
        .get(format!("{base}/__/stub/requests?route=provisoin"))
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    let error = v["error"].as_str().unwrap();
    assert!(
        error.contains("`provisoin`") && error.contains("provision, tenants_config"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_contract_and_openapi() {
    let stub = start_default().await;
    let c = client();
    let base = stub.base_url();
    let v: contract::admin::VersionInfo =
        serde_json::from_value(get_json(&c, &format!("{base}/__/stub/version")).await).unwrap();
    assert_eq!(v.name, "cp-stub");
    assert_eq!(v.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(v.contract, contract::fingerprint());
    assert!(!v.git_sha.is_empty());
    assert_eq!(v, cp_stub::version_info());
    let routes = get_json(&c, &format!("{base}/__/stub/contract")).await;
    assert_eq!(routes, serde_json::to_value(contract::ROUTES).unwrap());
    let openapi = get_json(&c, &format!("{base}/__/stub/openapi.json")).await;
    assert_eq!(openapi, contract::openapi());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_wrong_methods_and_unknown_endpoints() {
    let stub = start_default().await;
    let c = client();
    let base = stub.base_url();
    for (method, path, allow) in [
        ("POST", "/__/stub/state", "GET"),
        ("GET", "/__/stub/reset", "POST"),
        ("GET", "/__/stub/snapshot", "POST"),
        ("PUT", "/__/stub/faults", "GET, POST, DELETE"),
        ("POST", "/__/stub/faults/1", "GET, DELETE"),
        ("DELETE", "/__/stub/version", "GET"),
        ("POST", "/__stub/state", "GET"),
    ] {
        let r = c
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                format!("{base}{path}"),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 405, "{method} {path}");
        assert_eq!(r.headers()["allow"], allow);
        let v: Value = r.json().await.unwrap();
        assert_valid(contract::SchemaId::Error, &v, path);
    }
    let r = c.get(format!("{base}/__/stub/nope")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let v: Value = r.json().await.unwrap();
    assert!(v["hint"].as_str().unwrap().contains("/__/stub/requests"));
    assert_eq!(state(&c, &base).await.total_requests, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_is_graceful_and_frees_the_port() {
    let stub = start_default().await;
    let addr = stub.local_addr();
    let c = client();
    let base = stub.base_url();
    add_fault(
        &c,
        &base,
        json!({"route": "provision", "delay_ms": 400, "times": 1}),
    )
    .await;
    let in_flight = {
        let (c, base) = (c.clone(), base.clone());
        tokio::spawn(async move {
            provision(&c, &base, "org-a", "slow")
                .await
                .status()
                .as_u16()
        })
    };
    // Wait until the request is in the server (the fault has been hit).
    let hit = Arc::new(());
    for _ in 0..200 {
        let faults = get_json(&c, &format!("{base}/__/stub/faults")).await;
        if faults[0]["hits"] == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    drop(hit);
    stub.shutdown().await;
    assert_eq!(
        in_flight.await.unwrap(),
        201,
        "the in-flight request finished"
    );
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no longer listening"
    );
}
