//! A fake CP on [`FakeServer`], for the tenant's CP client.

use std::ops::Deref;
use std::sync::{Arc, Mutex};

use serde_json::json;

use crate::tenant::SECRET;
use crate::FakeServer;

/// A scriptable CP: provision answers 201 `mol-ws-<id>`, config answers a
/// flat map with its own base (or [`FakeCp::set_config`]), stop answers
/// 200; scripted answers first. Route keys: `"provision"`, `"config"`,
/// `"stop"`, `"other"`. Derefs to its [`FakeServer`].
#[derive(Debug, Clone)]
pub struct FakeCp {
    server: FakeServer,
    config: Arc<Mutex<Option<String>>>,
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
    /// Start it on an ephemeral loopback port.
    pub async fn start() -> FakeCp {
        let config = Arc::new(Mutex::new(None::<String>));
        let configured = Arc::clone(&config);
        let server = FakeServer::start(route_key, move |seen, key, base| match key {
            "provision" => (
                201,
                json!({
                    "instance_id": format!("mol-ws-{}", seen.body["workspace_id"].as_str().unwrap_or("")),
                    "state": "running",
                })
                .to_string(),
            ),
            "config" => (
                200,
                configured.lock().unwrap().clone().unwrap_or_else(|| {
                    json!({"MOLECULE_CP_URL": base, "MOLECULE_CP_SHARED_SECRET": SECRET})
                        .to_string()
                }),
            ),
            "stop" => (200, "{}".into()),
            _ => (
                501,
                json!({"error": format!("fake cp: no route {}", seen.path)}).to_string(),
            ),
        })
        .await;
        FakeCp { server, config }
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
