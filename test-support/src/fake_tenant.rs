//! A fake tenant on [`FakeServer`], for the answers of a tenant seed must
//! survive.

use std::ops::Deref;
use std::sync::{Arc, Mutex};

use crate::FakeServer;

/// A fake tenant: healthy, answering `POST /workspaces` with a fixed status
/// and body, and recording the Host header of each request. Route keys:
/// `"health"`, `"workspaces"`, `"other"`. Derefs to its [`FakeServer`].
#[derive(Debug, Clone)]
pub struct FakeTenant {
    /// The Host header of each request, in arrival order.
    pub hosts: Arc<Mutex<Vec<String>>>,
    server: FakeServer,
}

fn route_key(_method: &str, path: &str) -> &'static str {
    match path {
        "/health" => "health",
        "/workspaces" => "workspaces",
        _ => "other",
    }
}

impl FakeTenant {
    /// Start it on an ephemeral loopback port.
    pub async fn start(create_status: u16, create_body: &'static str) -> FakeTenant {
        let hosts = Arc::new(Mutex::new(Vec::new()));
        let seen_hosts = Arc::clone(&hosts);
        let server = FakeServer::start(route_key, move |seen, key, _base| {
            if let Some(host) = seen.headers.get("host") {
                seen_hosts.lock().unwrap().push(host.clone());
            }
            let (status, body) = match key {
                "health" => (200, r#"{"status":"ok"}"#),
                "workspaces" => (create_status, create_body),
                _ => (404, r#"{"error":"not found"}"#),
            };
            (status, body.to_string())
        })
        .await;
        FakeTenant { hosts, server }
    }
}

impl Deref for FakeTenant {
    type Target = FakeServer;

    fn deref(&self) -> &FakeServer {
        &self.server
    }
}
