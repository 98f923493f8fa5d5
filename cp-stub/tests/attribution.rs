//! The caller's org when the request does not say it: the real client's
//! stop, status and console carry no org header and no body. The org bound
//! to the admin token, else the org that provisioned the workspace (a
//! bounded map kept across reset and snapshot); and the admin API token of
//! `/cp/admin/*`, never shown.

use cp_stub::{AdminToken, Config, LogFormat};
use serde_json::{json, Value};
use test_support::{stub::*, *};

async fn call(c: &reqwest::Client, method: &str, url: String, headers: &[(&str, &str)]) -> u16 {
    let mut req = c.request(method.parse().unwrap(), url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap().status().as_u16()
}

/// Stop, status and console of `ws` with no org anywhere.
async fn no_org_calls(c: &reqwest::Client, base: &str, ws: &str) {
    let q = format!("instance_id=mol-ws-{ws}");
    assert_eq!(
        call(c, "DELETE", format!("{base}/cp/workspaces/{ws}?{q}"), &[]).await,
        200
    );
    assert_eq!(
        call(
            c,
            "GET",
            format!("{base}/cp/workspaces/{ws}/status?{q}"),
            &[]
        )
        .await,
        200
    );
    let console = format!("{base}/cp/admin/workspaces/{ws}/console");
    assert_eq!(call(c, "GET", console, &[]).await, 200);
}

fn no_org_counts(st: &contract::admin::StubState, org: &str) -> [u64; 3] {
    use contract::RouteId::*;
    [Stop, Status, Console].map(|r| st.org_calls(org, r))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_without_an_org_land_under_the_org_that_provisioned_the_workspace_across_reset_and_snapshot(
) {
    let stub = start_default().await;
    let c = client();
    let base = stub.base_url();
    assert_eq!(
        provision(&c, &base, "org-alpha", "ws-a").await.status(),
        201
    );
    assert_eq!(provision(&c, &base, "org-beta", "ws-b").await.status(), 201);
    // A provision that failed provisioned nothing.
    add_fault(
        &c,
        &base,
        json!({"route": "provision", "status": 503, "times": 1}),
    )
    .await;
    assert_eq!(
        provision(&c, &base, "org-gamma", "ws-c").await.status(),
        503
    );

    let r = c
        .post(format!("{base}/__/stub/reset"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    no_org_calls(&c, &base, "ws-a").await;
    no_org_calls(&c, &base, "ws-b").await;
    no_org_calls(&c, &base, "ws-c").await;
    // The header still wins over the map.
    let url = format!("{base}/cp/workspaces/ws-a/status?instance_id=mol-ws-ws-a");
    assert_eq!(
        call(&c, "GET", url, &[("X-Molecule-Org-Id", "org-delta")]).await,
        200
    );

    let r = c
        .post(format!("{base}/__/stub/snapshot"))
        .send()
        .await
        .unwrap();
    let st: contract::admin::StubState = r.json().await.unwrap();
    assert_eq!(no_org_counts(&st, "org-alpha"), [1, 1, 1], "{:?}", st.orgs);
    assert_eq!(no_org_counts(&st, "org-beta"), [1, 1, 1], "{:?}", st.orgs);
    assert_eq!(no_org_counts(&st, "-"), [1, 1, 1], "ws-c: {:?}", st.orgs);
    assert_eq!(st.org_calls("org-delta", contract::RouteId::Status), 1);

    // The snapshot reset the counters, not the map.
    no_org_calls(&c, &base, "ws-b").await;
    let page = journal(&c, &base, "?org=org-beta").await;
    assert_eq!(page.entries.len(), 3, "{page:?}");
    assert_eq!(
        no_org_counts(&state(&c, &base).await, "org-beta"),
        [1, 1, 1]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_workspace_map_forgets_the_least_recently_provisioned_beyond_ten_thousand() {
    let stub = start(Config {
        journal_capacity: 0,
        ..Config::default()
    })
    .await;
    let c = client();
    let base = stub.base_url();
    assert_eq!(
        provision(&c, &base, "org-old", "ws-old").await.status(),
        201
    );
    assert_eq!(
        provision(&c, &base, "org-kept", "ws-kept").await.status(),
        201
    );
    // 9,998 more: the map is full (10,000), ws-old its least recent.
    let tasks: Vec<_> = (0..8)
        .map(|t| {
            let (c, base) = (c.clone(), base.clone());
            tokio::spawn(async move {
                for i in (t..9_998).step_by(8) {
                    let ws = format!("ws-{i}");
                    assert_eq!(provision(&c, &base, "org-new", &ws).await.status(), 201);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let st = state(&c, &base).await;
    assert_eq!(st.org_calls("org-new", contract::RouteId::Provision), 9_998);
    no_org_calls(&c, &base, "ws-old").await;
    no_org_calls(&c, &base, "ws-0").await;
    let st = state(&c, &base).await;
    assert_eq!(
        no_org_counts(&st, "org-old"),
        [1, 1, 1],
        "{:?}",
        st.orgs.keys()
    );
    assert_eq!(no_org_counts(&st, "org-new"), [1, 1, 1]);
    // One more provision evicts the least recent: ws-old, not ws-kept.
    assert_eq!(
        provision(&c, &base, "org-new", "ws-one-more")
            .await
            .status(),
        201
    );
    no_org_calls(&c, &base, "ws-old").await;
    no_org_calls(&c, &base, "ws-kept").await;
    let st = state(&c, &base).await;
    assert_eq!(no_org_counts(&st, "-"), [1, 1, 1], "ws-old is forgotten");
    assert_eq!(no_org_counts(&st, "org-old"), [1, 1, 1]);
    assert_eq!(no_org_counts(&st, "org-kept"), [1, 1, 1], "ws-kept is not");
}

fn auth_config(admin_api_token: Option<&str>) -> Config {
    Config {
        expect_shared_secret: Some("the-shared-secret".into()),
        expect_admin_api_token: admin_api_token.map(str::to_string),
        expect_admin_tokens: vec![AdminToken::parse("org-alpha=alpha-token").unwrap()],
        ..Config::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_org_bound_admin_token_names_the_caller_of_an_unknown_workspace() {
    let stub = start(auth_config(None)).await;
    let c = client();
    let base = stub.base_url();
    let creds = [
        ("Authorization", "Bearer the-shared-secret"),
        ("X-Molecule-Admin-Token", "alpha-token"),
    ];
    let status = format!("{base}/cp/workspaces/ws-never-provisioned/status");
    assert_eq!(call(&c, "GET", status.clone(), &creds).await, 200);
    // No admin token: 401, under `-`.
    assert_eq!(call(&c, "GET", status.clone(), &creds[..1]).await, 401);
    // A header org that disagrees with the token's: 401.
    let mut other = creds.to_vec();
    other.push(("X-Molecule-Org-Id", "org-beta"));
    assert_eq!(call(&c, "GET", status, &other).await, 401);
    let st = state(&c, &base).await;
    assert_eq!(st.org_calls("org-alpha", contract::RouteId::Status), 1);
    assert_eq!(st.org_calls("-", contract::RouteId::Status), 1);
    assert_eq!(st.org_calls("org-beta", contract::RouteId::Status), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_routes_take_the_admin_api_token_and_never_show_it() {
    let (logs, lines) = capture_logs(LogFormat::Json);
    let stub = start(Config {
        log_sink: logs.log_sink,
        log_format: logs.log_format,
        ..auth_config(Some("the-admin-api-token"))
    })
    .await;
    let c = client();
    let base = stub.base_url();
    let console = format!("{base}/cp/admin/workspaces/ws-1/console");
    let with = |bearer: &'static str| {
        let req = c
            .get(console.clone())
            .header("Authorization", bearer)
            .header("X-Molecule-Admin-Token", "alpha-token");
        async move {
            let r = req.send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    assert_eq!(with("Bearer the-admin-api-token").await.0, 200);
    let (s, v) = with("Bearer the-shared-secret").await;
    assert_eq!(
        s, 401,
        "the shared secret is no admin API token once one is set"
    );
    assert_valid(contract::SchemaId::Error, &v, "401");
    let msg = v["error"].as_str().unwrap();
    assert!(
        msg.contains("admin API token") && msg.contains("CP_ADMIN_API_TOKEN"),
        "{msg}"
    );
    let (s, v) = with("Bearer wrong-api-token-value").await;
    assert_eq!(s, 401);
    assert!(!v.to_string().contains("wrong-api-token-value"));
    // /cp/workspaces/* still takes the shared secret.
    let creds = [
        ("Authorization", "Bearer the-shared-secret"),
        ("X-Molecule-Admin-Token", "alpha-token"),
    ];
    let status = format!("{base}/cp/workspaces/ws-1/status");
    assert_eq!(call(&c, "GET", status, &creds).await, 200);

    let page = serde_json::to_string(&journal(&c, &base, "").await).unwrap();
    let state = serde_json::to_string(&state(&c, &base).await).unwrap();
    let logged = lines.lock().unwrap().join("\n");
    let debug = format!("{:?}", auth_config(Some("the-admin-api-token")));
    for (what, text) in [
        ("journal", &page),
        ("state", &state),
        ("log", &logged),
        ("Config Debug", &debug),
    ] {
        for secret in [
            "the-admin-api-token",
            "the-shared-secret",
            "alpha-token",
            "wrong-api-token-value",
        ] {
            assert!(!text.contains(secret), "{secret} in the {what}");
        }
    }
    assert!(page.contains("ws-1"), "the journal has the calls");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_admin_api_token_admin_routes_take_the_shared_secret() {
    let stub = start(auth_config(None)).await;
    let c = client();
    let base = stub.base_url();
    let console = format!("{base}/cp/admin/workspaces/ws-1/console");
    let creds = |bearer| {
        [
            ("Authorization", bearer),
            ("X-Molecule-Admin-Token", "alpha-token"),
        ]
    };
    assert_eq!(
        call(
            &c,
            "GET",
            console.clone(),
            &creds("Bearer the-shared-secret")
        )
        .await,
        200
    );
    assert_eq!(
        call(&c, "GET", console, &creds("Bearer something-else")).await,
        401
    );
}
