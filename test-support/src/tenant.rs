//! tenant-double configs for tests, and its API.

use std::time::Duration;

use serde_json::{json, Value};

use crate::client;

/// The org of the tenant in the tenant-double tests.
pub const ORG: &str = "org-alpha";
/// Its admin token.
pub const TOKEN: &str = "alpha-admin-token";
/// The CP shared secret the fake CP hands out.
pub const SECRET: &str = "harness-shared-secret";

/// The four LLM proxy keys a managed tenant needs at boot (placeholders,
/// as compose sets them), so a tenant boots whatever its CP's config says.
pub const LLM_ENV: [(&str, &str); 4] = [
    ("MOLECULE_LLM_USAGE_TOKEN", "harness-llm-usage-token"),
    ("MOLECULE_LLM_USAGE_URL", "http://llm.invalid/usage"),
    ("MOLECULE_LLM_BASE_URL", "http://llm.invalid/v1"),
    (
        "MOLECULE_LLM_ANTHROPIC_BASE_URL",
        "http://llm.invalid/anthropic",
    ),
];

/// `config` with [`LLM_ENV`] set.
pub fn with_llm_env(mut config: tenant_double::Config) -> tenant_double::Config {
    let [token, usage, base, anthropic] = LLM_ENV.map(|(_, v)| Some(v.to_string()));
    config.llm_usage_token = token;
    config.llm_usage_url = usage;
    config.llm_base_url = base;
    config.llm_anthropic_base_url = anthropic;
    config
}

/// A tenant config for org-alpha with fast retries, the LLM keys and
/// nothing else set.
pub fn base_config() -> tenant_double::Config {
    with_llm_env(tenant_double::Config {
        port: 0,
        org_id: ORG.into(),
        admin_token: TOKEN.into(),
        retry: tenant_double::RetryPolicy::fast(),
        cp_timeout: Duration::from_secs(5),
        ..Default::default()
    })
}

/// A tenant config from explicit variables (the env-order tests), the LLM
/// keys first (a variable in `vars` overrides them).
pub fn config_from(vars: &[(&str, &str)]) -> tenant_double::Config {
    let mut all = vec![
        ("MOLECULE_ORG_ID", ORG),
        ("ADMIN_TOKEN", TOKEN),
        ("PORT", "0"),
    ];
    all.extend_from_slice(&LLM_ENV);
    all.extend_from_slice(vars);
    let mut config = tenant_double::Config::from_vars(all).unwrap();
    config.retry = tenant_double::RetryPolicy::fast();
    config.cp_timeout = Duration::from_secs(5);
    config
}

/// A tenant config on `cp` (None = no CP variable at all), with the LLM keys.
pub fn tenant_config(org: &str, token: &str, cp: Option<&str>) -> tenant_double::Config {
    with_llm_env(tenant_double::Config {
        port: 0,
        org_id: org.into(),
        admin_token: token.into(),
        cp_provision_url: cp.map(str::to_string),
        molecule_cp_url: cp.map(str::to_string),
        retry: tenant_double::RetryPolicy::fast(),
        cp_timeout: Duration::from_secs(5),
        ..Default::default()
    })
}

/// A request with the tenant's org header and admin bearer.
pub fn authed(req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    req.header("X-Molecule-Org-Id", ORG)
        .header("Authorization", format!("Bearer {TOKEN}"))
}

/// Create a workspace; returns its id.
pub async fn create(base: &str, name: &str, tier: i64) -> String {
    let resp = authed(client().post(format!("{base}/workspaces")))
        .json(&json!({"name": name, "tier": tier}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let body: Value = resp.json().await.unwrap();
    body["id"].as_str().unwrap().to_string()
}

/// Poll a workspace until it leaves `provisioning` (bounded).
pub async fn settled(base: &str, id: &str) -> Value {
    for _ in 0..1000 {
        let ws: Value = authed(client().get(format!("{base}/workspaces/{id}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if ws["status"] != "provisioning" {
            return ws;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("workspace {id} still provisioning");
}

/// The tenant's evidence over HTTP.
pub async fn evidence(base: &str) -> tenant_double::CpReport {
    client()
        .get(format!("{base}/__/tenant/cp"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}
