//! A fake CP on [`FakeServer`], for the tenant's CP client.

use std::ops::Deref;
use std::sync::{Arc, Mutex};

use serde_json::json;

use contract::{RouteId, RouteMatch};

use crate::tenant::SECRET;
use crate::{FakeServer, Seen};

/// A scriptable CP: provision answers 201 `mol-ws-<id>`, config answers a
/// flat map with its own base (or [`FakeCp::set_config`]), stop answers
/// 200; scripted answers first. Routes are named by [`RouteId`] (the
/// methods below); requests no contract route serves are `"other"`.
/// Derefs to its [`FakeServer`].
#[derive(Debug, Clone)]
pub struct FakeCp {
    server: FakeServer,
    config: Arc<Mutex<Option<String>>>,
}

/// The server's key of a request: the contract route's id, or `"other"`.
fn route_key(method: &str, path: &str) -> &'static str {
    match contract::match_route(method, path) {
        RouteMatch::Found { route, .. } => route.id.as_str(),
        _ => "other",
    }
}

impl FakeCp {
    /// Start it on an ephemeral loopback port.
    pub async fn start() -> FakeCp {
        let config = Arc::new(Mutex::new(None::<String>));
        let configured = Arc::clone(&config);
        let server = FakeServer::start(route_key, move |seen, key, base| match key.parse() {
            Ok(RouteId::Provision) => (
                201,
                json!({
                    "instance_id": format!("mol-ws-{}", seen.body["workspace_id"].as_str().unwrap_or("")),
                    "state": "running",
                })
                .to_string(),
            ),
            Ok(RouteId::TenantsConfig) => (
                200,
                configured.lock().unwrap().clone().unwrap_or_else(|| {
                    json!({"MOLECULE_CP_URL": base, "MOLECULE_CP_SHARED_SECRET": SECRET})
                        .to_string()
                }),
            ),
            Ok(RouteId::Stop) => (200, "{}".into()),
            _ => (
                501,
                json!({"error": format!("fake cp: no route {}", seen.path)}).to_string(),
            ),
        })
        .await;
        FakeCp { server, config }
    }

    /// Queue answers for a route; they go before the default ones.
    pub fn script(&self, route: RouteId, answers: &[(u16, &str)]) {
        self.server.script(route.as_str(), answers);
    }

    /// Hold every answer of a route until [`FakeCp::release`].
    pub fn hold(&self, route: RouteId) {
        self.server.hold(route.as_str());
    }

    /// Let held answers of a route go, now and from now on.
    pub fn release(&self, route: RouteId) {
        self.server.release(route.as_str());
    }

    /// Wait (bounded) until a route has been called `n` times.
    pub async fn wait_calls(&self, route: RouteId, n: usize) {
        self.server.wait_calls(route.as_str(), n).await;
    }

    /// The requests a route received, oldest first.
    pub fn seen_route(&self, route: RouteId) -> Vec<Seen> {
        self.server.seen_route(route.as_str())
    }

    /// The body config answers from now on.
    pub fn set_config(&self, body: &str) {
        *self.config.lock().unwrap() = Some(body.to_string());
    }
}

impl Deref for FakeCp {
    type Target = FakeServer;

    fn deref(&self) -> &FakeServer {
        &self.server
    }
}
