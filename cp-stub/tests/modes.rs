//! Contract validation of requests (recorded; strict mode answers 400),
//! auth enforcement (401 naming the header, never the value) and secret
//! redaction in the journal and the log.

use cp_stub::{AdminToken, Config, LogFormat};
use serde_json::{json, Value};
use test_support::{stub::*, *};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn violations_are_recorded_and_the_call_served_when_not_strict() {
    let stub = start_default().await;
    let c = client();
    let base = stub.base_url();
    let mut body = provision_body("org-a", "w1");
    body.as_object_mut().unwrap().remove("workspace_id");
    body["tier"] = json!("one");
    let r = c
        .post(format!("{base}/cp/workspaces/provision"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let v: Value = r.json().await.unwrap();
    assert_valid(
        contract::SchemaId::ProvisionResponse,
        &v,
        "provision without workspace_id",
    );
    assert_eq!(v["instance_id"], "mol-ws-unknown");
    let r = c
        .post(format!("{base}/cp/workspaces/provision"))
        .body("{\"org_id\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);

    let st = state(&c, &base).await;
    assert_eq!(st.violations_total, 3);
    let paths: Vec<(&str, &str)> = st
        .violations
        .iter()
        .map(|v| (v.violation.path.as_str(), v.violation.keyword.as_str()))
        .collect();
    assert_eq!(
        paths,
        vec![
            ("/tier", "type"),
            ("/workspace_id", "required"),
            ("", "json")
        ]
    );
    assert_eq!(st.violations[0].route, contract::RouteId::Provision);
    assert_eq!(st.violations[0].org.as_deref(), Some("org-a"));
    let page = journal(&c, &base, "").await;
    assert_eq!(page.entries[0].violations.len(), 2);
    assert!(page.entries[1].violations[0]
        .message
        .contains("malformed JSON"));
    // The malformed body is journaled as text.
    assert_eq!(page.entries[1].body, Some(json!("{\"org_id\": ")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_mode_answers_400_naming_the_bad_fields() {
    let stub = start(Config {
        strict: true,
        ..Config::default()
    })
    .await;
    let c = client();
    let base = stub.base_url();
    let mut body = provision_body("org-a", "w1");
    body.as_object_mut().unwrap().remove("workspace_id");
    body["env"] = json!({"NESTED": {"x": 1}});
    let r = c
        .post(format!("{base}/cp/workspaces/provision"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let v: Value = r.json().await.unwrap();
    assert_valid(contract::SchemaId::Error, &v, "strict 400");
    let violations = v["violations"].as_array().unwrap();
    let paths: Vec<&str> = violations
        .iter()
        .map(|x| x["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, vec!["/env/NESTED", "/workspace_id"]);
    assert_eq!(violations[1]["keyword"], "required");
    assert!(v["error"].as_str().unwrap().contains("/workspace_id"));

    let r = c
        .post(format!("{base}/cp/workspaces/provision"))
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["violations"][0]["keyword"], "json");

    let r = c
        .post(format!("{base}/cp/workspaces/ensure-image"))
        .json(&json!({"org_id": "o", "runtime": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);

    // create_org keeps its own 400 shape (fields), strict or not.
    let r = c
        .post(format!("{base}/cp/admin/orgs"))
        .json(&json!({"slug": "s"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let v: Value = r.json().await.unwrap();
    assert_valid(contract::SchemaId::CreateOrgError, &v, "strict create_org");
    assert_eq!(v["fields"], json!(["name", "owner_user_id"]));
    let r = c
        .post(format!("{base}/cp/admin/orgs"))
        .json(&json!({"slug": "s", "name": "n", "owner_user_id": "u", "extra": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status().as_u16(),
        201,
        "undeclared extra fields are no violation"
    );

    // A valid call is served.
    assert_eq!(
        provision(&c, &base, "org-a", "w1").await.status().as_u16(),
        201
    );
    let st = state(&c, &base).await;
    assert_eq!(st.counters["provision_calls"], 3);
    assert_eq!(st.statuses["400"], 4);
}

fn auth_config() -> Config {
    Config {
        expect_shared_secret: Some("the-shared-secret".into()),
        expect_admin_tokens: vec![
            AdminToken::parse("org-alpha=alpha-token").unwrap(),
            AdminToken::parse("ops-token").unwrap(),
        ],
        ..Config::default()
    }
}

async fn provision_with(
    c: &reqwest::Client,
    base: &str,
    org: &str,
    headers: &[(&str, &str)],
) -> (u16, Value) {
    let mut req = c
        .post(format!("{base}/cp/workspaces/provision"))
        .json(&provision_body(org, "w1"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_enforcement_names_the_header_and_never_the_value() {
    let stub = start(auth_config()).await;
    let c = client();
    let base = stub.base_url();
    let good = ("Authorization", "Bearer the-shared-secret");

    let (s, v) = provision_with(
        &c,
        &base,
        "org-alpha",
        &[("X-Molecule-Admin-Token", "alpha-token")],
    )
    .await;
    assert_eq!(s, 401);
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("missing Authorization"),
        "{v}"
    );

    let (s, v) = provision_with(
        &c,
        &base,
        "org-alpha",
        &[
            ("Authorization", "Bearer wrong-secret-value"),
            ("X-Molecule-Admin-Token", "alpha-token"),
        ],
    )
    .await;
    assert_eq!(s, 401);
    assert!(
        v["error"].as_str().unwrap().contains("does not match"),
        "{v}"
    );
    assert!(!v.to_string().contains("wrong-secret-value"));

    let (s, v) = provision_with(&c, &base, "org-alpha", &[("Authorization", "Basic abc")]).await;
    assert_eq!(s, 401);
    assert!(v["error"].as_str().unwrap().contains("Bearer"), "{v}");

    let (s, v) = provision_with(&c, &base, "org-alpha", &[good]).await;
    assert_eq!(s, 401);
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("X-Molecule-Admin-Token"),
        "{v}"
    );

    let (s, v) = provision_with(
        &c,
        &base,
        "org-beta",
        &[good, ("X-Molecule-Admin-Token", "alpha-token")],
    )
    .await;
    assert_eq!(s, 401);
    assert!(v["error"].as_str().unwrap().contains("another org"), "{v}");
    assert!(!v.to_string().contains("alpha-token"));

    let (s, v) = provision_with(
        &c,
        &base,
        "org-alpha",
        &[good, ("X-Molecule-Admin-Token", "nope-token-value")],
    )
    .await;
    assert_eq!(s, 401);
    assert!(!v.to_string().contains("nope-token-value"));

    let (s, _) = provision_with(
        &c,
        &base,
        "org-alpha",
        &[good, ("X-Molecule-Admin-Token", "alpha-token")],
    )
    .await;
    assert_eq!(s, 201, "org-bound token for its org");
    let (s, _) = provision_with(
        &c,
        &base,
        "org-beta",
        &[good, ("X-Molecule-Admin-Token", "ops-token")],
    )
    .await;
    assert_eq!(s, 201, "bare token for any org");

    // tenants_config carries the admin token as a bearer, with the org header.
    let config = |org: &'static str, auth: Option<&'static str>| {
        let mut req = c
            .get(format!("{base}/cp/tenants/config"))
            .header("X-Molecule-Org-Id", org);
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        async move {
            let r = req.send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    assert_eq!(config("org-alpha", Some("Bearer alpha-token")).await.0, 200);
    assert_eq!(config("org-beta", Some("Bearer ops-token")).await.0, 200);
    let (s, v) = config("org-beta", Some("Bearer alpha-token")).await;
    assert_eq!(s, 401);
    assert_valid(contract::SchemaId::Error, &v, "401");
    let (s, v) = config("org-alpha", None).await;
    assert_eq!(s, 401);
    assert!(
        v["error"].as_str().unwrap().contains("Authorization"),
        "{v}"
    );

    // Session routes are not checked; a 401 is still a call of the route.
    assert_eq!(
        c.get(format!("{base}/cp/auth/me"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    let st = state(&c, &base).await;
    assert_eq!(st.counters["provision_calls"], 8);
    assert_eq!(st.statuses["401"], 8);
    // The journal says which credentials came, never their values.
    let page = journal(&c, &base, "?route=provision").await;
    assert_eq!(page.entries[0].auth, vec!["x-molecule-admin-token"]);
    assert_eq!(
        page.entries[6].auth,
        vec!["authorization", "x-molecule-admin-token"]
    );
    let text = serde_json::to_string(&page).unwrap();
    for secret in [
        "the-shared-secret",
        "alpha-token",
        "ops-token",
        "wrong-secret-value",
    ] {
        assert!(!text.contains(secret), "{secret} in the journal");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_is_off_by_default_and_then_only_recorded() {
    let stub = start_default().await;
    let c = client();
    let base = stub.base_url();
    let (s, _) = provision_with(&c, &base, "org-a", &[]).await;
    assert_eq!(s, 201);
    let (s, _) = provision_with(&c, &base, "org-a", &[("Authorization", "Bearer anything")]).await;
    assert_eq!(s, 201);
    let page = journal(&c, &base, "").await;
    assert!(page.entries[0].auth.is_empty());
    assert_eq!(page.entries[1].auth, vec!["authorization"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_appear_in_no_journal_entry_and_no_log_line() {
    for format in [LogFormat::Text, LogFormat::Json] {
        let (config, lines) = capture_logs(format);
        let stub = start(Config {
            shared_secret: "SHARED-SECRET-6".into(),
            ..config
        })
        .await;
        let c = client();
        let base = stub.base_url();
        let mut body = provision_body("org-alpha", "w1");
        body["idempotency_key"] = json!("IDEMPOTENCY-KEY-4");
        body["env"] = json!({
            "API_TOKEN": "ENV-TOKEN-5",
            "PLAIN": "visible-value",
            "DATABASE_URL": "postgres://u:URL-SECRET-9@db/x",
        });
        let r = c
            .post(format!(
                "{base}/cp/workspaces/provision?access_token=QUERY-TOKEN-7"
            ))
            .header("Authorization", "Bearer AUTH-SECRET-1")
            .header("X-Molecule-Admin-Token", "ADMIN-SECRET-2")
            .header("Cookie", "session=COOKIE-SECRET-3")
            .header("Proxy-Authorization", "Basic PROXY-SECRET-8")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 201);
        let served = c
            .get(format!("{base}/cp/tenants/config"))
            .header("Authorization", "Bearer AUTH-SECRET-1")
            .header("X-Molecule-Org-Id", "org-alpha")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        // The stub must serve the secret (the tenant needs it) ...
        assert!(served.contains("SHARED-SECRET-6"));
        c.get(format!("{base}/cp/nope"))
            .header("Cookie", "x=COOKIE-SECRET-3")
            .send()
            .await
            .unwrap();

        let page = journal(&c, &base, "").await;
        assert_eq!(page.entries.len(), 3);
        let text = serde_json::to_string(&page).unwrap();
        // ... but neither keep nor log it, nor any other credential.
        let logged = lines.lock().unwrap().join("\n");
        assert_eq!(
            lines
                .lock()
                .unwrap()
                .iter()
                .filter(|l| l.contains("/cp/"))
                .count(),
            3,
            "{logged}"
        );
        for secret in [
            "AUTH-SECRET-1",
            "ADMIN-SECRET-2",
            "COOKIE-SECRET-3",
            "ENV-TOKEN-5",
            "SHARED-SECRET-6",
            "PROXY-SECRET-8",
            "URL-SECRET-9",
        ] {
            assert!(!text.contains(secret), "{secret} in the journal: {text}");
            assert!(!logged.contains(secret), "{secret} in the log: {logged}");
        }
        assert!(
            !logged.contains("QUERY-TOKEN-7"),
            "the log never carries the query"
        );
        assert!(
            !text.contains("QUERY-TOKEN-7"),
            "secret query parameters are redacted"
        );
        assert_eq!(
            page.entries[0].query.as_deref(),
            Some("access_token=<redacted>")
        );
        let e = &page.entries[0];
        assert_eq!(e.headers["authorization"], "<redacted>");
        assert_eq!(e.headers["x-molecule-admin-token"], "<redacted>");
        assert_eq!(e.headers["cookie"], "<redacted>");
        assert_eq!(e.headers["proxy-authorization"], "<redacted>");
        let b = e.body.as_ref().unwrap();
        assert_eq!(
            b["env"]["PLAIN"], "visible-value",
            "only secret-named keys are redacted"
        );
        assert_eq!(b["env"]["API_TOKEN"], "<redacted>");
        // The one rule (contract::redact): an idempotency key is no secret
        // (it shows whether retries reuse one Start); URL passwords are.
        assert_eq!(b["idempotency_key"], "IDEMPOTENCY-KEY-4");
        assert_eq!(b["env"]["DATABASE_URL"], "postgres://u:<redacted>@db/x");
        let cfg = page.entries[1].response.as_ref().unwrap();
        assert_eq!(cfg["MOLECULE_CP_SHARED_SECRET"], "<redacted>");
        assert_eq!(cfg["MOLECULE_LLM_DEFAULT_MODEL"], "stub-model");
        // One line per request, with method, path, status, route and org.
        let line = lines
            .lock()
            .unwrap()
            .iter()
            .find(|l| l.contains("/cp/workspaces/provision"))
            .cloned()
            .unwrap();
        for needle in ["POST", "201", "provision", "org-alpha"] {
            assert!(line.contains(needle), "{needle} not in {line}");
        }
        if format == LogFormat::Json {
            let v: Value = serde_json::from_str(&line).unwrap();
            assert_eq!(v["status"], 201);
            assert_eq!(v["org"], "org-alpha");
            assert!(v["duration_ms"].is_number());
        }
        stub.shutdown().await;
    }
}
