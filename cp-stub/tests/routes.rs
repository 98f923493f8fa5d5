//! Every CP route × method over a real socket; every body the stub serves
//! validates against the contract (incidents D1 and D3 cannot ship from
//! the stub itself).

use std::collections::BTreeMap;

use cp_stub::Config;
use reqwest::Method;
use serde_json::{json, Value};
use test_support::{stub::*, *};

const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];

async fn send(
    c: &reqwest::Client,
    method: &str,
    url: &str,
    body: Option<&Value>,
) -> reqwest::Response {
    let mut req = c.request(Method::from_bytes(method.as_bytes()).unwrap(), url);
    if let Some(b) = body {
        req = req.json(b);
    }
    req.send().await.expect("request")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_its_contract_with_a_valid_body() {
    let stub = start_default().await;
    let c = client();
    let base = stub.base_url();
    for probe in contract::probes("org-alpha", "ws-1") {
        let route = probe.route;
        let mut req = c.request(
            Method::from_bytes(probe.method.as_bytes()).unwrap(),
            format!("{base}{}", probe.path_and_query()),
        );
        for (k, v) in &probe.headers {
            req = req.header(*k, v);
        }
        if let Some(b) = &probe.body {
            req = req.json(b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        assert_eq!(status, route.status, "{} status", route.id);
        assert!(
            route.success.accepts(status),
            "{}: client would reject {status}",
            route.id
        );
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "{} content type",
            route.id
        );
        let body: Value = r.json().await.unwrap();
        assert_valid(route.response_schema, &body, route.id.as_str());
        assert_eq!(
            contract::undeclared_fields(route.response_schema, &body).unwrap(),
            Vec::<String>::new(),
            "{} serves fields its schema does not declare",
            route.id
        );
    }
    let st = state(&c, &base).await;
    for route in contract::ROUTES {
        assert_eq!(st.counters[route.counter], 1, "{}", route.counter);
        assert_eq!(st.routes[route.id.as_str()], 1, "{}", route.id);
    }
    assert!(st.unmatched.is_empty(), "{:?}", st.unmatched);
    assert_eq!(st.violations_total, 0, "{:?}", st.violations);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provision_is_exactly_201_with_the_prefixed_instance_id() {
    let stub = start_default().await;
    let c = client();
    let r = provision(&c, &stub.base_url(), "org-alpha", "ws-42").await;
    assert_eq!(r.status().as_u16(), 201);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["instance_id"], "mol-ws-ws-42");
    assert_eq!(body["state"], "running");
    assert_eq!(body["workspace_id"], "ws-42");
    assert!(body["url"].as_str().unwrap().starts_with(&stub.base_url()));
    assert_valid(contract::SchemaId::ProvisionResponse, &body, "provision");

    let custom = start(Config {
        instance_prefix: "i-custom-".into(),
        ..Config::default()
    })
    .await;
    let body: Value = provision(&c, &custom.base_url(), "o", "w7")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["instance_id"], "i-custom-w7");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_routes_answer_what_the_brief_says() {
    let stub = start_default().await;
    let c = client();
    let base = stub.base_url();
    let v: Value = c
        .delete(format!(
            "{base}/cp/workspaces/ws-9?instance_id=mol-ws-ws-9&provider=stub"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        v,
        json!({"status": "stopped", "workspace_id": "ws-9", "instance_id": "mol-ws-ws-9"})
    );
    let v: Value = c
        .delete(format!("{base}/cp/workspaces/ws-8"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["instance_id"], "mol-ws-ws-8");
    let v = get_json(
        &c,
        &format!("{base}/cp/workspaces/ws-9/status?instance_id=x"),
    )
    .await;
    assert_eq!(v, json!({"state": "running"}));
    let v = get_json(&c, &format!("{base}/cp/admin/workspaces/ws-9/console")).await;
    assert!(v["output"].as_str().unwrap().contains("ws-9"));
    let r = send(
        &c,
        "POST",
        &format!("{base}/cp/workspaces/ensure-image"),
        Some(&json!({"org_id": "o", "workspace_id": "w", "runtime": "hermes"})),
    )
    .await;
    assert_eq!(r.status().as_u16(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], "ready");
    assert!(v["image_ref"].as_str().unwrap().contains("hermes"));
    let r = send(
        &c,
        "POST",
        &format!("{base}/cp/admin/orgs"),
        Some(&json!({"slug": "acme", "name": "Acme", "owner_user_id": "u1"})),
    )
    .await;
    assert_eq!(r.status().as_u16(), 201);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["slug"], "acme");
    assert_eq!(v["ok"], true);
    // redeploy lists the orgs seen so far.
    provision(&c, &base, "org-zeta", "w1").await;
    let r = send(
        &c,
        "POST",
        &format!("{base}/cp/admin/tenants/redeploy-fleet"),
        None,
    )
    .await;
    let v: Value = r.json().await.unwrap();
    assert_valid(contract::SchemaId::RedeployFleetResponse, &v, "redeploy");
    assert!(v["results"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["slug"] == "org-zeta"));
}

/// `+` is a space only in a query string: in a path it is a `+` (defect (a)).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plus_in_a_path_parameter_stays_a_plus() {
    let stub = start_default().await;
    let c = client();
    let base = stub.base_url();
    let v: Value = c
        .delete(format!("{base}/cp/workspaces/a+b"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        v,
        json!({"status": "stopped", "workspace_id": "a+b", "instance_id": "mol-ws-a+b"})
    );
    // Percent-escapes are decoded in a path, and `+` is a space in a query.
    let v: Value = c
        .delete(format!(
            "{base}/cp/workspaces/a%20b%2Bc?instance_id=i+1%2B2"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["workspace_id"], "a b+c");
    assert_eq!(v["instance_id"], "i 1+2");
    let v = get_json(&c, &format!("{base}/cp/admin/workspaces/a+b/console")).await;
    assert!(
        v["output"]
            .as_str()
            .unwrap()
            .contains("workspace a+b (mol-ws-a+b)"),
        "{v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_org_names_missing_fields_in_order_even_when_not_strict() {
    let stub = start_default().await;
    let c = client();
    let url = format!("{}/cp/admin/orgs", stub.base_url());
    for (body, fields) in [
        (json!({"name": "x"}), vec!["slug", "owner_user_id"]),
        (json!({}), vec!["slug", "name", "owner_user_id"]),
        (
            json!({"slug": "s", "name": "", "owner_user_id": "u"}),
            vec!["name"],
        ),
    ] {
        let r = send(&c, "POST", &url, Some(&body)).await;
        assert_eq!(r.status().as_u16(), 400, "{body}");
        let v: Value = r.json().await.unwrap();
        assert_valid(contract::SchemaId::CreateOrgError, &v, "create_org 400");
        assert_eq!(v["error"], "slug, name, owner_user_id are required");
        assert_eq!(v["fields"], json!(fields), "{body}");
    }
    // Malformed JSON: every field is missing.
    let r = c.post(&url).body("{not json").send().await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["fields"], json!(["slug", "name", "owner_user_id"]));
    let st = state(&c, &stub.base_url()).await;
    assert_eq!(st.counters["admin_orgs_calls"], 4);
    assert_eq!(st.statuses["400"], 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_methods_are_405_with_allow_and_a_json_error() {
    let stub = start_default().await;
    let c = client();
    let base = stub.base_url();
    let mut checked = 0;
    for route in contract::ROUTES {
        let path = contract::fill_path(route.path, "ws-1");
        let allowed: Vec<&str> = contract::ROUTES
            .iter()
            .filter(|r| contract::fill_path(r.path, "ws-1") == path)
            .map(|r| r.method)
            .collect();
        for m in METHODS.iter().filter(|m| !allowed.contains(m)) {
            let r = send(&c, m, &format!("{base}{path}"), None).await;
            assert_eq!(r.status().as_u16(), 405, "{m} {path}");
            let allow = r.headers()["allow"].to_str().unwrap().to_string();
            assert!(allow.contains(route.method), "{m} {path}: Allow `{allow}`");
            let v: Value = r.json().await.unwrap();
            assert_valid(contract::SchemaId::Error, &v, "405");
            assert_eq!(v["method"], *m);
            assert_eq!(v["path"], path);
            checked += 1;
        }
    }
    assert!(checked >= 30, "only {checked} wrong-method checks");
    // A 405 is not a call of the route.
    let st = state(&c, &base).await;
    assert_eq!(st.counters["provision_calls"], 0);
    assert_eq!(st.total_requests, checked);
    assert_eq!(st.statuses["405"], checked);
    assert!(st.unmatched.iter().all(|u| u.status == 405));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_cp_routes_are_501_with_a_hint_and_others_404() {
    let stub = start_default().await;
    let c = client();
    let base = stub.base_url();
    for (m, path) in [
        ("GET", "/cp/nope"),
        ("PUT", "/cp/workspaces/a/b/c"),
        ("POST", "/cp"),
        ("GET", "/cp/workspaces//status"),
    ] {
        let r = send(&c, m, &format!("{base}{path}"), None).await;
        assert_eq!(r.status().as_u16(), 501, "{m} {path}");
        let v: Value = r.json().await.unwrap();
        assert_valid(contract::SchemaId::Error, &v, "501");
        assert_eq!(v["method"], m);
        assert_eq!(v["path"], path);
        let hint = v["hint"].as_str().unwrap();
        assert!(hint.contains("contract/src/routes.rs"), "{hint}");
        assert!(hint.contains("/__/stub/version"), "{hint}");
    }
    for path in ["/", "/foo", "/cpx", "/workspaces", "/__/stubby"] {
        let r = send(&c, "GET", &format!("{base}{path}"), None).await;
        assert_eq!(r.status().as_u16(), 404, "{path}");
        let v: Value = r.json().await.unwrap();
        assert_valid(contract::SchemaId::Error, &v, "404");
    }
    let st = state(&c, &base).await;
    assert_eq!(st.statuses["501"], 4);
    assert_eq!(st.statuses["404"], 5);
    assert!(st
        .unmatched
        .iter()
        .any(|u| u.path == "/cp/nope" && u.status == 501 && u.count == 1));
    let page = journal(&c, &base, "?unmatched=true&status=501").await;
    assert_eq!(page.entries.len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_is_ok_and_not_counted() {
    let stub = start_default().await;
    let c = client();
    let v = get_json(&c, &format!("{}/healthz", stub.base_url())).await;
    assert_eq!(v, json!({"status": "ok"}));
    let r = c
        .post(format!("{}/healthz", stub.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 405);
    assert_eq!(state(&c, &stub.base_url()).await.total_requests, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenant_config_is_a_flat_string_map_built_from_the_callers_base_url() {
    let stub = start_default().await;
    let c = client();
    let url = format!("{}/cp/tenants/config", stub.base_url());
    let r = c
        .get(&url)
        .header("X-Molecule-Org-Id", "org-alpha")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let v: Value = r.json().await.unwrap();
    assert_valid(contract::SchemaId::TenantConfig, &v, "tenants_config");
    let map: BTreeMap<String, String> = serde_json::from_value(v).unwrap();
    let keys: Vec<&str> = cp_stub::DEFAULT_TENANT_CONFIG
        .iter()
        .map(|(k, _)| *k)
        .collect();
    for k in &keys {
        assert!(map.contains_key(*k), "{k} missing");
    }
    assert_eq!(map["MOLECULE_CP_SHARED_SECRET"], "harness-shared-secret");
    // Reached on an ephemeral port: the tenant must keep reaching this stub.
    assert_eq!(map["MOLECULE_CP_URL"], stub.base_url());
    assert!(map["MOLECULE_LLM_BASE_URL"].starts_with(&stub.base_url()));

    // Inside compose the Host header is cp-stub:9090.
    let v: Value = c
        .get(&url)
        .header("Host", "cp-stub:9090")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["MOLECULE_CP_URL"], "http://cp-stub:9090");

    // --public-url wins over Host; file entries lay over the defaults.
    let configured = start(Config {
        public_url: Some("http://public.example:9090".into()),
        shared_secret: "other-secret".into(),
        tenant_config: [
            (
                "MOLECULE_LLM_DEFAULT_MODEL".to_string(),
                "model-x".to_string(),
            ),
            ("EXTRA_URL".to_string(), "{base_url}/extra".to_string()),
        ]
        .into(),
        ..Config::default()
    })
    .await;
    let v = get_json(&c, &format!("{}/cp/tenants/config", configured.base_url())).await;
    assert_valid(
        contract::SchemaId::TenantConfig,
        &v,
        "configured tenants_config",
    );
    assert_eq!(v["MOLECULE_CP_URL"], "http://public.example:9090");
    assert_eq!(v["MOLECULE_CP_SHARED_SECRET"], "other-secret");
    assert_eq!(v["MOLECULE_LLM_DEFAULT_MODEL"], "model-x");
    assert_eq!(v["EXTRA_URL"], "http://public.example:9090/extra");
    let st = state(&c, &configured.base_url()).await;
    assert_eq!(st.org_calls("-", contract::RouteId::TenantsConfig), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nested_tenant_config_is_refused_at_start() {
    let err = cp_stub::start(Config {
        port: 0,
        tenant_config: [("BAD KEY".to_string(), "x".to_string())].into(),
        ..Config::default()
    })
    .await
    .unwrap_err();
    assert!(err.to_string().contains("BAD KEY"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn org_attribution_prefers_the_header_then_the_body() {
    let stub = start_default().await;
    let c = client();
    let base = stub.base_url();
    provision(&c, &base, "org-body", "w1").await;
    c.post(format!("{base}/cp/workspaces/provision"))
        .header("X-Molecule-Org-Id", "org-header")
        .json(&provision_body("org-body", "w2"))
        .send()
        .await
        .unwrap();
    c.get(format!("{base}/cp/auth/me")).send().await.unwrap();
    let st = state(&c, &base).await;
    assert_eq!(st.org_calls("org-body", contract::RouteId::Provision), 1);
    assert_eq!(st.org_calls("org-header", contract::RouteId::Provision), 1);
    assert_eq!(st.org_calls("-", contract::RouteId::AuthMe), 1);
}
