//! Test helpers: a tiny scriptable fake CP (until the real stub is used
//! everywhere), a tenant starter and HTTP helpers.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use contract::RouteId;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;

pub const ORG: &str = "org-alpha";
pub const TOKEN: &str = "alpha-admin-token";
pub const SECRET: &str = "harness-shared-secret";

/// One request the fake CP received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: BTreeMap<String, String>,
    pub body: Value,
}

#[derive(Debug, Default)]
struct FakeState {
    seen: Vec<Seen>,
    /// Scripted answers per route key ("provision", "config", "stop").
    script: HashMap<&'static str, VecDeque<(u16, String)>>,
    config: Option<String>,
    /// Routes whose answers wait for [`FakeCp::release`].
    held: HashMap<&'static str, Arc<tokio::sync::Semaphore>>,
}

/// A scriptable CP: provision answers 201 `mol-ws-<id>`, config answers a
/// flat map with its own base, stop answers 200; scripted answers first.
#[derive(Debug, Clone)]
pub struct FakeCp {
    pub base: String,
    state: Arc<Mutex<FakeState>>,
}

/// The fake's key for a route id (its internals still key by string).
fn key(route: RouteId) -> &'static str {
    match route {
        RouteId::Provision => "provision",
        RouteId::TenantsConfig => "config",
        RouteId::Stop => "stop",
        _ => "other",
    }
}

fn route_key(method: &str, path: &str) -> &'static str {
    match (method, path) {
        ("POST", "/cp/workspaces/provision") => "provision",
        ("GET", "/cp/tenants/config") => "config",
        ("DELETE", p) if p.starts_with("/cp/workspaces/") => "stop",
        _ => "other",
    }
}

impl FakeCp {
    pub async fn start() -> FakeCp {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let fake = FakeCp {
            base,
            state: Arc::new(Mutex::new(FakeState::default())),
        };
        let server = fake.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    break;
                };
                let fake = server.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req| {
                        let fake = fake.clone();
                        async move { Ok::<_, Infallible>(fake.answer(req).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        fake
    }

    async fn answer(&self, req: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
        let method = req.method().to_string();
        let path = req.uri().path().to_string();
        let query = req.uri().query().map(str::to_string);
        let headers = req
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        let bytes = req.into_body().collect().await.unwrap().to_bytes();
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let key = route_key(&method, &path);
        let (scripted, held) = {
            let mut st = self.state.lock().unwrap();
            st.seen.push(Seen {
                method,
                path: path.clone(),
                query,
                headers,
                body: body.clone(),
            });
            (
                st.script.get_mut(key).and_then(VecDeque::pop_front),
                st.held.get(key).cloned(),
            )
        };
        if let Some(gate) = held {
            // Closed by `release`: every waiter goes on.
            let _ = gate.acquire().await;
        }
        let (status, text) = scripted.unwrap_or_else(|| match key {
            "provision" => (
                201,
                json!({
                    "instance_id": format!("mol-ws-{}", body["workspace_id"].as_str().unwrap_or("")),
                    "state": "running",
                })
                .to_string(),
            ),
            "config" => (
                200,
                self.state.lock().unwrap().config.clone().unwrap_or_else(|| {
                    json!({"MOLECULE_CP_URL": self.base, "MOLECULE_CP_SHARED_SECRET": SECRET})
                        .to_string()
                }),
            ),
            "stop" => (200, "{}".into()),
            _ => (501, json!({"error": format!("fake cp: no route {path}")}).to_string()),
        });
        let mut resp = Response::new(Full::new(Bytes::from(text)));
        *resp.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
        resp
    }

    /// Queue answers for a route.
    pub fn script(&self, route: RouteId, answers: &[(u16, &str)]) {
        let mut st = self.state.lock().unwrap();
        let queue = st.script.entry(key(route)).or_default();
        for (status, body) in answers {
            queue.push_back((*status, body.to_string()));
        }
    }

    /// Hold every answer of a route until [`FakeCp::release`].
    pub fn hold(&self, route: RouteId) {
        self.state
            .lock()
            .unwrap()
            .held
            .insert(key(route), Arc::new(tokio::sync::Semaphore::new(0)));
    }

    /// Let held answers of a route go, now and from now on.
    pub fn release(&self, route: RouteId) {
        if let Some(gate) = self.state.lock().unwrap().held.remove(key(route)) {
            gate.close();
        }
    }

    /// Wait (bounded) until a route has been called `n` times.
    pub async fn wait_calls(&self, route: RouteId, n: usize) {
        for _ in 0..1000 {
            if self.seen_route(route).len() >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("{route} never reached {n} calls");
    }

    pub fn set_config(&self, body: &str) {
        self.state.lock().unwrap().config = Some(body.to_string());
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }

    pub fn seen_route(&self, route: RouteId) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| route_key(&s.method, &s.path) == key(route))
            .collect()
    }
}

/// A tenant config for org-alpha with fast retries and nothing else set.
pub fn base_config() -> tenant_double::Config {
    tenant_double::Config {
        port: 0,
        org_id: ORG.into(),
        admin_token: TOKEN.into(),
        retry: tenant_double::RetryPolicy::fast(),
        cp_timeout: Duration::from_secs(5),
        ..Default::default()
    }
}

/// A tenant config from explicit variables (the env-order tests).
pub fn config_from(vars: &[(&str, &str)]) -> tenant_double::Config {
    let mut all = vec![
        ("MOLECULE_ORG_ID", ORG),
        ("ADMIN_TOKEN", TOKEN),
        ("PORT", "0"),
    ];
    all.extend_from_slice(vars);
    let mut config = tenant_double::Config::from_vars(all).unwrap();
    config.retry = tenant_double::RetryPolicy::fast();
    config.cp_timeout = Duration::from_secs(5);
    config
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
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
