//! Programmed faults: status, body, headers, delay, dropped connection,
//! `times` disarming, org scope, `*`, listing, deleting and clearing.

use std::time::Duration;

use serde_json::{json, Value};
use test_support::{stub::*, *};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_fault_for_n_calls_then_disarms() {
    let stub = start_default().await;
    let c = client();
    let base = stub.base_url();
    let fault = add_fault(
        &c,
        &base,
        json!({"route": "provision", "status": 503, "times": 2}),
    )
    .await;
    assert_eq!(fault.remaining, Some(2));
    assert_eq!(fault.hits, 0);
    for _ in 0..2 {
        let r = provision(&c, &base, "org-a", "w1").await;
        assert_eq!(r.status().as_u16(), 503);
        let v: Value = r.json().await.unwrap();
        assert_valid(contract::SchemaId::Error, &v, "fault 503");
        assert_eq!(v["error"], "cp-stub: injected fault");
    }
    let r = provision(&c, &base, "org-a", "w1").await;
    assert_eq!(r.status().as_u16(), 201, "disarmed after 2 calls");
    let listed: Vec<contract::admin::Fault> =
        serde_json::from_value(get_json(&c, &format!("{base}/__/stub/faults")).await).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].remaining, Some(0));
    assert_eq!(listed[0].hits, 2);
    // Fault answers are calls of the route, journaled with the fault id.
    let st = state(&c, &base).await;
    assert_eq!(st.counters["provision_calls"], 3);
    assert_eq!(st.statuses["503"], 2);
    let page = journal(&c, &base, "?status=503").await;
    assert_eq!(page.entries.len(), 2);
    assert!(page.entries.iter().all(|e| e.fault == Some(fault.id)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_faults_json_and_text() {
    let stub = start_default().await;
    let c = client();
    let base = stub.base_url();
    add_fault(
        &c,
        &base,
        json!({"route": "status", "body": {"state": "stopped"}, "times": 1}),
    )
    .await;
    let r = c
        .get(format!("{base}/cp/workspaces/w/status"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status().as_u16(),
        200,
        "the route's own status when only the body is set"
    );
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"state": "stopped"})
    );

    add_fault(&c, &base, json!({"route": "tenants_config", "status": 502, "body": "<html>bad gateway</html>", "times": 1})).await;
    let r = c
        .get(format!("{base}/cp/tenants/config"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 502);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    assert_eq!(r.text().await.unwrap(), "<html>bad gateway</html>");
    // Disarmed: the real answer again.
    let v = get_json(&c, &format!("{base}/cp/workspaces/w/status")).await;
    assert_eq!(v, json!({"state": "running"}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_faults_add_to_the_real_or_the_fault_answer() {
    let stub = start_default().await;
    let c = client();
    let base = stub.base_url();
    add_fault(
        &c,
        &base,
        json!({"route": "console", "headers": {"X-Fault": "yes"}, "times": 1}),
    )
    .await;
    let r = c
        .get(format!("{base}/cp/admin/workspaces/w/console"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["x-fault"], "yes");
    let v: Value = r.json().await.unwrap();
    assert_valid(
        contract::SchemaId::ConsoleResponse,
        &v,
        "console with fault headers",
    );

    add_fault(
        &c,
        &base,
        json!({"route": "provision", "status": 429, "headers": {"Retry-After": "7"}, "times": 1}),
    )
    .await;
    let r = provision(&c, &base, "org-a", "w").await;
    assert_eq!(r.status().as_u16(), 429);
    assert_eq!(r.headers()["retry-after"], "7");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delay_faults_hold_the_answer() {
    let stub = start_default().await;
    let c = client();
    let base = stub.base_url();
    add_fault(
        &c,
        &base,
        json!({"route": "auth_me", "delay_ms": 300, "times": 1}),
    )
    .await;
    let before = std::time::Instant::now();
    let r = c.get(format!("{base}/cp/auth/me")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(before.elapsed() >= Duration::from_millis(300));
    let e = &journal(&c, &base, "?route=auth_me").await.entries[0];
    assert!(e.duration_us >= 300_000, "{}", e.duration_us);
    assert!(e.fault.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connection_faults_send_no_answer() {
    let stub = start_default().await;
    let c = client();
    let base = stub.base_url();
    add_fault(
        &c,
        &base,
        json!({"route": "provision", "drop_connection": true, "times": 1}),
    )
    .await;
    let body = provision_body("org-a", "w1").to_string();
    let req = format!(
        "POST /cp/workspaces/provision HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let answer = raw(stub.local_addr(), req.as_bytes(), Duration::from_secs(5)).await;
    assert!(
        answer.is_empty(),
        "got {:?}",
        String::from_utf8_lossy(&answer)
    );
    let e = &journal(&c, &base, "").await.entries[0];
    assert_eq!(e.status, 0, "a dropped call is journaled with status 0");
    assert_eq!(state(&c, &base).await.counters["provision_calls"], 1);
    assert_still_serving(&c, &base).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn org_scoped_faults_hit_only_that_org() {
    let stub = start_default().await;
    let c = client();
    let base = stub.base_url();
    add_fault(
        &c,
        &base,
        json!({"route": "provision", "org": "org-beta", "status": 500}),
    )
    .await;
    for _ in 0..3 {
        assert_eq!(
            provision(&c, &base, "org-alpha", "w")
                .await
                .status()
                .as_u16(),
            201
        );
        assert_eq!(
            provision(&c, &base, "org-beta", "w")
                .await
                .status()
                .as_u16(),
            500
        );
    }
    // The org header counts too (tenants_config sends it).
    add_fault(
        &c,
        &base,
        json!({"route": "tenants_config", "org": "org-beta", "status": 503}),
    )
    .await;
    let r = c
        .get(format!("{base}/cp/tenants/config"))
        .header("X-Molecule-Org-Id", "org-beta")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 503);
    let r = c
        .get(format!("{base}/cp/tenants/config"))
        .header("X-Molecule-Org-Id", "org-alpha")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn star_faults_hit_every_route() {
    let stub = start_default().await;
    let c = client();
    let base = stub.base_url();
    add_fault(&c, &base, json!({"route": "*", "status": 418, "times": 3})).await;
    assert_eq!(
        c.get(format!("{base}/cp/auth/me"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        418
    );
    assert_eq!(provision(&c, &base, "o", "w").await.status().as_u16(), 418);
    assert_eq!(
        c.delete(format!("{base}/cp/workspaces/w"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        418
    );
    assert_eq!(
        c.get(format!("{base}/cp/auth/me"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    // Not admin endpoints, not health, not unmatched paths.
    add_fault(&c, &base, json!({"route": "*", "status": 500})).await;
    assert_eq!(
        c.get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    assert_eq!(
        c.get(format!("{base}/cp/nope"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        501
    );
    assert_eq!(
        c.get(format!("{base}/__/stub/state"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_are_listed_deleted_and_cleared() {
    let stub = start_default().await;
    let c = client();
    let base = stub.base_url();
    let a = add_fault(&c, &base, json!({"route": "status", "status": 500})).await;
    let b = add_fault(&c, &base, json!({"route": "console", "status": 500})).await;
    assert_ne!(a.id, b.id);
    let r = c
        .delete(format!("{base}/__/stub/faults/{}", a.id))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.json::<contract::admin::Fault>().await.unwrap().id, a.id);
    assert_eq!(
        c.get(format!("{base}/cp/workspaces/w/status"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    assert_eq!(
        c.get(format!("{base}/cp/admin/workspaces/w/console"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        500
    );
    let r = c
        .delete(format!("{base}/__/stub/faults/{}", a.id))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    assert_valid(
        contract::SchemaId::Error,
        &r.json::<Value>().await.unwrap(),
        "unknown fault",
    );
    let r = c
        .delete(format!("{base}/__/stub/faults"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"cleared": 1}));
    assert_eq!(
        c.get(format!("{base}/cp/admin/workspaces/w/console"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    assert_eq!(
        get_json(&c, &format!("{base}/__/stub/faults")).await,
        json!([])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_fault_specs_are_refused_with_the_field_named() {
    let stub = start_default().await;
    let c = client();
    let base = stub.base_url();
    for (spec, needle) in [
        (json!({"route": "provisoin", "status": 500}), "provisoin"),
        (json!({"route": "provision", "stauts": 500}), "stauts"),
        (json!({"route": "provision", "status": 1000}), "status"),
        (
            json!({"route": "provision", "status": 500, "times": 0}),
            "times",
        ),
        (json!({"route": "provision"}), "does nothing"),
        (
            json!({"route": "provision", "headers": {"bad header": "x"}}),
            "bad header",
        ),
    ] {
        let r = c
            .post(format!("{base}/__/stub/faults"))
            .json(&spec)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 400, "{spec}");
        let v: Value = r.json().await.unwrap();
        assert_valid(contract::SchemaId::Error, &v, "bad fault");
        assert!(v["error"].as_str().unwrap().contains(needle), "{spec}: {v}");
    }
    let r = c
        .post(format!("{base}/__/stub/faults"))
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(
        get_json(&c, &format!("{base}/__/stub/faults")).await,
        json!([])
    );
}
