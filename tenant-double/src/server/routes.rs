//! Routing: each tenant API path and method to its handler, behind the
//! guard where the route needs it.

use std::sync::Arc;

use http::{Method, Request, StatusCode};
use hyper::body::Incoming;
use serde_json::{json, Value};

use super::guard::{guarded, Gate};
use super::respond::{error, json_response, method_not_allowed, Resp};
use super::workspaces;
use crate::state::Shared;
use crate::{cp, evidence};

/// Answer one request (and log it, health probes aside).
pub(crate) async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Resp {
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let resp = route(&shared, req).await;
    if shared.config.log && !path.starts_with("/health") {
        eprintln!(
            "tenant-double[{}]: {method} {path} {} ({} µs)",
            shared.config.org_id,
            resp.status().as_u16(),
            started.elapsed().as_micros()
        );
    }
    resp
}

async fn route(shared: &Arc<Shared>, req: Request<Incoming>) -> Resp {
    let path = req.uri().path().to_string();
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    let method = req.method().clone();
    match segments.as_slice() {
        ["health"] => match method {
            Method::GET | Method::HEAD => json_response(StatusCode::OK, &json!({"status": "ok"})),
            _ => method_not_allowed("GET, HEAD"),
        },
        ["buildinfo"] => match method {
            Method::GET => json_response(StatusCode::OK, &buildinfo()),
            _ => method_not_allowed("GET"),
        },
        // The real tenant has no evidence endpoints.
        ["__", "tenant", ..] if shared.config.no_evidence => {
            error(StatusCode::NOT_FOUND, "not found")
        }
        ["__", "tenant", "cp"] => match method {
            Method::GET => json_response(StatusCode::OK, &json!(evidence::report(shared))),
            _ => method_not_allowed("GET"),
        },
        ["__", "tenant", "config", "refresh"] => match method {
            Method::POST => {
                let record = cp::refresh_config(shared, "manual").await;
                json_response(StatusCode::OK, &json!(record))
            }
            _ => method_not_allowed("POST"),
        },
        ["workspaces"] => match method {
            Method::GET => {
                guarded(shared, &req, Gate::Tenant).unwrap_or_else(|| workspaces::list(shared))
            }
            Method::POST => match guarded(shared, &req, Gate::Tenant) {
                Some(denied) => denied,
                None => workspaces::create(shared, req).await,
            },
            _ => method_not_allowed("GET, POST"),
        },
        ["workspaces", id] => {
            let id = (*id).to_string();
            match method {
                Method::GET => guarded(shared, &req, Gate::Tenant)
                    .unwrap_or_else(|| workspaces::get(shared, &id)),
                Method::DELETE => match guarded(shared, &req, Gate::Tenant) {
                    Some(denied) => denied,
                    None => {
                        let erase = erase_requested(req.uri().query());
                        workspaces::delete(shared, &id, erase).await
                    }
                },
                _ => method_not_allowed("GET, DELETE"),
            }
        }
        ["workspaces", id, "console"] => match method {
            Method::GET => match guarded(shared, &req, Gate::Admin) {
                Some(denied) => denied,
                None => workspaces::console(shared, id).await,
            },
            _ => method_not_allowed("GET"),
        },
        ["admin", "workspaces", id, "restart"] => match method {
            Method::POST => guarded(shared, &req, Gate::Admin)
                .unwrap_or_else(|| workspaces::restart(shared, id)),
            _ => method_not_allowed("POST"),
        },
        _ => error(StatusCode::NOT_FOUND, "not found"),
    }
}

/// `?erase=true` (or `1`): the permanent delete that also erases the
/// workspace's data volume (stop with `prune=true`).
fn erase_requested(query: Option<&str>) -> bool {
    query
        .unwrap_or("")
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .any(|(k, v)| k == "erase" && matches!(v, "true" | "1"))
}

fn buildinfo() -> Value {
    json!({
        "name": env!("CARGO_PKG_NAME"),
        "version": env!("CARGO_PKG_VERSION"),
        "git_sha": harness_serve::GIT_SHA,
        "contract": contract::fingerprint(),
        "kind": "reference-tenant",
    })
}
