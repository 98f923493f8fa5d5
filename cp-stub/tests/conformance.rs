//! Conformance with the real client (fixtures/real-client/wire.json, its
//! recorded traffic): every call it makes, sent to the `cp-stub` binary in
//! default, `--strict` and auth mode, gets an answer the real client
//! accepts, records no contract violation, and lands under the caller's org
//! (`org-alpha`) in the journal and the counters — although stop, status and
//! console carry no org header and no body.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use contract::{RouteId, SchemaId};
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_cp-stub");
const ORG: &str = "org-alpha";
const WS: &str = "ws-conformance-1";
const SHARED_SECRET: &str = "conformance-shared-secret";
const ADMIN_TOKEN: &str = "conformance-admin-token";
const ADMIN_API_TOKEN: &str = "conformance-admin-api-token";
/// One Start's key, as the real client makes it (`cpprov-` + 32 hex).
const IDEMPOTENCY_KEY: &str = "cpprov-0123456789abcdef0123456789abcdef";

fn wire() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/real-client/wire.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("wire.json")).expect("JSON")
}

/// The `cp-stub` binary on an ephemeral port, its output drained.
struct Stub {
    child: Child,
    base: String,
}

impl Stub {
    fn spawn(args: &[&str]) -> Stub {
        let mut cmd = Command::new(BIN);
        for (k, _) in std::env::vars() {
            if k.starts_with("CP_STUB_") || k == "PORT" {
                cmd.env_remove(k);
            }
        }
        let mut child = cmd
            .args(["--port", "0", "--log-format", "json"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("cp-stub starts");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let first = lines.next().expect("a listening line").expect("utf-8");
        let base = serde_json::from_str::<Value>(&first).expect("JSON log line")["addr"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| panic!("no addr in {first}"));
        // Drain the per-request lines so the stub never blocks on a full pipe.
        std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
        Stub { child, base }
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A recorded body with its placeholders filled in.
fn fill(value: &Value) -> Value {
    match value {
        Value::String(s) if s == "{workspace_id}" => json!(WS),
        Value::String(s) if s.starts_with("cpprov-<") => json!(IDEMPOTENCY_KEY),
        Value::String(s) if s == "<redacted>" => json!("conformance-secret-value"),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), fill(v))).collect())
        }
        other => other.clone(),
    }
}

/// How the real client authenticates, by mode.
#[derive(Clone, Copy, PartialEq)]
enum Creds {
    /// Shared secret and admin token as the client sends them; no admin API token.
    Default,
    /// As `Default`, with `CP_ADMIN_API_TOKEN` set on the tenant.
    AdminApiToken,
}

fn header_value(route: RouteId, name: &str, creds: Creds) -> String {
    match name {
        "authorization" => match route {
            RouteId::TenantsConfig => format!("Bearer {ADMIN_TOKEN}"),
            RouteId::Console if creds == Creds::AdminApiToken => {
                format!("Bearer {ADMIN_API_TOKEN}")
            }
            _ => format!("Bearer {SHARED_SECRET}"),
        },
        "x-molecule-admin-token" => ADMIN_TOKEN.to_string(),
        "x-molecule-org-id" => ORG.to_string(),
        "content-type" => "application/json".to_string(),
        other => panic!("wire.json names a header this test does not know: {other}"),
    }
}

fn query_value(key: &str) -> &'static str {
    match key {
        "instance_id" => "mol-ws-ws-conformance-1",
        "provider" => "hetzner",
        "prune" => "true",
        other => panic!("wire.json names a query key this test does not know: {other}"),
    }
}

/// Send every recorded call; each answer must be one the real client accepts.
async fn replay_wire(stub: &Stub, creds: Creds, mode: &str) {
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    for (i, call) in wire()["calls"].as_array().unwrap().iter().enumerate() {
        let route: RouteId = call["route"].as_str().unwrap().parse().unwrap();
        let path = call["path"].as_str().unwrap().replace("{workspace_id}", WS);
        let query: Vec<String> = call["query_keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| {
                let k = k.as_str().unwrap();
                format!("{k}={}", query_value(k))
            })
            .collect();
        let url = match query.is_empty() {
            true => format!("{}{path}", stub.base),
            false => format!("{}{path}?{}", stub.base, query.join("&")),
        };
        let method: reqwest::Method = call["method"].as_str().unwrap().parse().unwrap();
        let mut req = client.request(method, url).timeout(Duration::from_secs(10));
        for name in call["headers"].as_array().unwrap() {
            let name = name.as_str().unwrap();
            req = req.header(name, header_value(route, name, creds));
        }
        if !call["body"].is_null() {
            req = req.body(fill(&call["body"]).to_string());
        }
        let resp = req.send().await.expect("the stub answers");
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        let r = contract::route(route);
        assert!(
            r.success.accepts(status),
            "{mode}: call {i} ({}) got {status}, which the real client does not accept: {body}",
            call["client_call"]
        );
        let violations = contract::validate(r.response_schema, &body).unwrap();
        assert!(
            violations.is_empty(),
            "{mode}: call {i} ({route}) answered a body the client cannot decode: {violations:?} {body}"
        );
        if route == RouteId::Provision {
            assert!(
                body["instance_id"]
                    .as_str()
                    .is_some_and(|id| id.starts_with("mol-ws-")),
                "{mode}: {body}"
            );
        }
    }
}

/// The state after the calls: no violation, every call under `org-alpha`.
async fn assert_attributed(stub: &Stub, mode: &str) {
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let state: contract::admin::StubState = client
        .get(format!("{}/__/stub/state", stub.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state.violations_total, 0, "{mode}: {:?}", state.violations);
    let calls = wire()["calls"].as_array().unwrap().len() as u64;
    assert_eq!(state.total_requests, calls, "{mode}");
    let org: u64 = state.orgs.get(ORG).map_or(0, |m| m.values().sum());
    assert_eq!(
        org, calls,
        "{mode}: every call belongs to {ORG}; per-org counts: {:?}",
        state.orgs
    );
    for (route, expected) in [
        (RouteId::Stop, 2),
        (RouteId::Status, 2),
        (RouteId::Console, 2),
        (RouteId::Provision, 2),
        (RouteId::EnsureImage, 2),
        (RouteId::TenantsConfig, 1),
    ] {
        assert_eq!(state.org_calls(ORG, route), expected, "{mode}: {route}");
    }
    let page: Value = client
        .get(format!(
            "{}/__/stub/requests?org={ORG}&limit=100",
            stub.base
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let entries = page["entries"].as_array().unwrap();
    assert_eq!(entries.len() as u64, calls, "{mode}: journal under {ORG}");
    // The idempotency key is no secret: retries can be seen to reuse it.
    let keys: Vec<&str> = entries
        .iter()
        .filter_map(|e| e["body"]["idempotency_key"].as_str())
        .collect();
    assert_eq!(keys, vec![IDEMPOTENCY_KEY; 2], "{mode}");
    // The secrets the client sent are not.
    let text = page.to_string();
    for secret in [
        SHARED_SECRET,
        ADMIN_TOKEN,
        ADMIN_API_TOKEN,
        "conformance-secret-value",
    ] {
        assert!(!text.contains(secret), "{mode}: the journal shows {secret}");
    }
}

#[tokio::test]
async fn default_mode_accepts_every_real_call() {
    let stub = Stub::spawn(&[]);
    replay_wire(&stub, Creds::Default, "default").await;
    assert_attributed(&stub, "default").await;
}

#[tokio::test]
async fn strict_mode_accepts_every_real_call() {
    let stub = Stub::spawn(&["--strict"]);
    replay_wire(&stub, Creds::Default, "strict").await;
    assert_attributed(&stub, "strict").await;
}

#[tokio::test]
async fn auth_mode_accepts_every_real_call_with_its_real_credentials() {
    let token = format!("{ORG}={ADMIN_TOKEN}");
    let stub = Stub::spawn(&[
        "--strict",
        "--expect-shared-secret",
        SHARED_SECRET,
        "--expect-admin-token",
        &token,
        "--expect-admin-api-token",
        ADMIN_API_TOKEN,
    ]);
    replay_wire(&stub, Creds::AdminApiToken, "auth").await;
    assert_attributed(&stub, "auth").await;
}

#[tokio::test]
async fn auth_mode_without_an_admin_api_token_takes_the_shared_secret_on_admin_routes() {
    // The real client falls back to the shared secret when CP_ADMIN_API_TOKEN is unset.
    let token = format!("{ORG}={ADMIN_TOKEN}");
    let stub = Stub::spawn(&[
        "--expect-shared-secret",
        SHARED_SECRET,
        "--expect-admin-token",
        &token,
    ]);
    replay_wire(&stub, Creds::Default, "auth, no admin API token").await;
    assert_attributed(&stub, "auth, no admin API token").await;
}

#[tokio::test]
async fn a_header_org_that_disagrees_with_the_token_org_is_401() {
    let token = format!("{ORG}={ADMIN_TOKEN}");
    let stub = Stub::spawn(&["--expect-admin-token", &token]);
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let resp = client
        .get(format!("{}/cp/tenants/config", stub.base))
        .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
        .header("x-molecule-org-id", "org-beta")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let body: Value = resp.json().await.unwrap();
    assert!(contract::validate(SchemaId::Error, &body)
        .unwrap()
        .is_empty());
}
