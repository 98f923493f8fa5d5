//! The tenant API over hyper: routing, the tenant guard and the handlers.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use harness_serve::ServeOptions;
use http::{header, HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::cp;
use crate::report::ProvisionRun;
use crate::state::{new_uuid, now_ms, Shared, Workspace, DELETED, PROVISIONING};

/// Largest request body accepted.
const BODY_LIMIT: usize = 1 << 20;
/// How long shutdown waits for open connections.
const DRAIN: Duration = Duration::from_secs(10);

type Resp = Response<Full<Bytes>>;

/// Accept connections until `shutdown` flips, then drain them.
pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let make_service = move |_peer| {
        let shared = Arc::clone(&shared);
        service_fn(move |req| {
            let shared = Arc::clone(&shared);
            async move { Ok::<_, Infallible>(handle(shared, req).await) }
        })
    };
    // A dropped sender stops the server too.
    let stopped = async move {
        let _ = shutdown.wait_for(|stop| *stop).await;
    };
    let options = ServeOptions::default()
        .header_read_timeout(Duration::from_secs(30))
        .grace(DRAIN);
    let _ = harness_serve::serve(listener, make_service, stopped, options).await;
}

fn json_response(status: StatusCode, body: &Value) -> Resp {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut resp = Response::new(Full::new(Bytes::from(bytes)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    resp
}

fn error(status: StatusCode, message: &str) -> Resp {
    json_response(status, &json!({ "error": message }))
}

fn method_not_allowed(allow: &'static str) -> Resp {
    let mut resp = error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
    resp.headers_mut()
        .insert(header::ALLOW, header::HeaderValue::from_static(allow));
    resp
}

/// Route one request.
async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Resp {
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
        ["__", "tenant", "cp"] => match method {
            Method::GET => json_response(StatusCode::OK, &json!(shared.report())),
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
                guarded(shared, &req, Gate::Tenant).unwrap_or_else(|| list_workspaces(shared))
            }
            Method::POST => match guarded(shared, &req, Gate::Tenant) {
                Some(denied) => denied,
                None => create_workspace(shared, req).await,
            },
            _ => method_not_allowed("GET, POST"),
        },
        ["workspaces", id] => {
            let id = (*id).to_string();
            match method {
                Method::GET => guarded(shared, &req, Gate::Tenant)
                    .unwrap_or_else(|| get_workspace(shared, &id)),
                Method::DELETE => match guarded(shared, &req, Gate::Tenant) {
                    Some(denied) => denied,
                    None => delete_workspace(shared, &id).await,
                },
                _ => method_not_allowed("GET, DELETE"),
            }
        }
        ["admin", "workspaces", id, "restart"] => match method {
            Method::POST => {
                guarded(shared, &req, Gate::Admin).unwrap_or_else(|| restart_workspace(shared, id))
            }
            _ => method_not_allowed("POST"),
        },
        _ => error(StatusCode::NOT_FOUND, "not found"),
    }
}

fn buildinfo() -> Value {
    json!({
        "name": env!("CARGO_PKG_NAME"),
        "version": env!("CARGO_PKG_VERSION"),
        "git_sha": option_env!("GIT_SHA").unwrap_or("unknown"),
        "contract": contract::fingerprint(),
        "kind": "reference-tenant",
    })
}

/// Which check a route gets after the org header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gate {
    /// Tenant resources: a token that is not ours may be another tenant's,
    /// so it gets the same 404 as another org (nothing is revealed).
    Tenant,
    /// Admin routes: a missing or wrong bearer is a 401.
    Admin,
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Constant-time comparison of two tokens.
fn same_token(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The tenant guard and the admin gate; `Some` is the refusal.
///
/// 1. no `X-Molecule-Org-Id` → 400 `TENANT_ORG_HEADER_REQUIRED`;
/// 2. another org → 404 `{"error":"not found"}` (does not say why);
/// 3. no bearer → 401;
/// 4. a bearer that is not this tenant's admin token → 404 like 2 on tenant
///    resources, 401 on admin routes.
fn guarded(shared: &Shared, req: &Request<Incoming>, gate: Gate) -> Option<Resp> {
    let headers = req.headers();
    let org = headers
        .get("x-molecule-org-id")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let Some(org) = org else {
        return Some(json_response(
            StatusCode::BAD_REQUEST,
            &json!({"code": "TENANT_ORG_HEADER_REQUIRED", "required_header": "X-Molecule-Org-Id"}),
        ));
    };
    if org != shared.config.org_id {
        return Some(error(StatusCode::NOT_FOUND, "not found"));
    }
    let Some(token) = bearer(headers) else {
        return Some(error(
            StatusCode::UNAUTHORIZED,
            "unauthorized: admin bearer token required",
        ));
    };
    let admin = &shared.config.admin_token;
    if admin.is_empty() || !same_token(token, admin) {
        return Some(match gate {
            Gate::Tenant => error(StatusCode::NOT_FOUND, "not found"),
            Gate::Admin => error(
                StatusCode::UNAUTHORIZED,
                "unauthorized: invalid admin token",
            ),
        });
    }
    None
}

fn list_workspaces(shared: &Shared) -> Resp {
    let inner = shared.lock();
    let list: Vec<Value> = inner
        .order
        .iter()
        .filter_map(|id| inner.workspaces.get(id))
        .filter(|ws| !ws.deleted())
        .map(|ws| ws.view(&shared.config.org_id))
        .collect();
    json_response(StatusCode::OK, &Value::Array(list))
}

fn get_workspace(shared: &Shared, id: &str) -> Resp {
    let inner = shared.lock();
    match inner.workspaces.get(id).filter(|ws| !ws.deleted()) {
        Some(ws) => json_response(StatusCode::OK, &ws.view(&shared.config.org_id)),
        None => error(StatusCode::NOT_FOUND, "workspace not found"),
    }
}

async fn read_json(req: Request<Incoming>) -> Result<Value, (StatusCode, String)> {
    let body = Limited::new(req.into_body(), BODY_LIMIT)
        .collect()
        .await
        .map_err(|_| {
            (
                StatusCode::PAYLOAD_TOO_LARGE,
                "request body too large or unreadable (limit 1 MiB)".to_string(),
            )
        })?
        .to_bytes();
    if body.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(&body)
        .map_err(|e| (StatusCode::BAD_REQUEST, format!("body is not JSON: {e}")))
}

fn new_run(run: u32, trigger: &str) -> ProvisionRun {
    ProvisionRun {
        run,
        trigger: trigger.to_string(),
        base: None,
        source: None,
        outcome: "in_progress".into(),
        instance_id: None,
        error: None,
        coalesced_restarts: 0,
        started_ms: now_ms(),
        finished_ms: None,
        attempts: Vec::new(),
    }
}

async fn create_workspace(shared: &Arc<Shared>, req: Request<Incoming>) -> Resp {
    let body = match read_json(req).await {
        Ok(b) => b,
        Err((status, message)) => return error(status, &message),
    };
    if !body.is_object() {
        return error(StatusCode::BAD_REQUEST, "body must be a JSON object");
    }
    let name = match body.get("name") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "name is required (a non-empty string)",
            )
        }
    };
    let tier = match body.get("tier") {
        None | Some(Value::Null) => 0,
        Some(v) => match v.as_i64() {
            Some(t) => t,
            None => return error(StatusCode::BAD_REQUEST, "tier must be an integer"),
        },
    };
    let opt_string = |key: &str| -> Result<Option<String>, String> {
        match body.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(format!("{key} must be a string")),
        }
    };
    let (parent_id, runtime, model) = match (
        opt_string("parent_id"),
        opt_string("runtime"),
        opt_string("model"),
    ) {
        (Ok(p), Ok(r), Ok(m)) => (p, r, m),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
            return error(StatusCode::BAD_REQUEST, &e)
        }
    };
    let id = new_uuid();
    let view = {
        let mut inner = shared.lock();
        if let Some(parent) = &parent_id {
            if inner.workspaces.get(parent).is_none_or(|p| p.deleted()) {
                return error(
                    StatusCode::BAD_REQUEST,
                    &format!("parent workspace {parent} not found"),
                );
            }
        }
        let now = now_ms();
        let ws = Workspace {
            id: id.clone(),
            name: name.clone(),
            tier,
            parent_id,
            runtime: runtime.unwrap_or_else(|| "claude-code".to_string()),
            model,
            created_ms: now,
            updated_ms: now,
            in_flight: true,
            report: crate::report::WorkspaceReport {
                name,
                status: PROVISIONING.into(),
                instance_id: None,
                error: None,
                runs: vec![new_run(1, "create")],
                stops: Vec::new(),
            },
        };
        let view = ws.view(&shared.config.org_id);
        inner.workspaces.insert(id.clone(), ws);
        inner.order.push(id.clone());
        inner.totals.provision_runs += 1;
        view
    };
    shared.spawn(cp::provision_run(Arc::clone(shared), id, 1));
    json_response(StatusCode::CREATED, &view)
}

async fn delete_workspace(shared: &Arc<Shared>, id: &str) -> Resp {
    let instance_id = {
        let mut inner = shared.lock();
        let Some(ws) = inner.workspaces.get_mut(id).filter(|ws| !ws.deleted()) else {
            return error(StatusCode::NOT_FOUND, "workspace not found");
        };
        match &ws.report.instance_id {
            Some(instance_id) => instance_id.clone(),
            None => {
                // Nothing runs at the CP yet; a run in flight stops what it
                // gets once it finishes.
                ws.report.status = DELETED.into();
                ws.updated_ms = now_ms();
                return json_response(StatusCode::OK, &json!({"status": "deleted", "id": id}));
            }
        }
    };
    match cp::stop(shared, id, &instance_id).await {
        Ok(_) => {
            let mut inner = shared.lock();
            if let Some(ws) = inner.workspaces.get_mut(id) {
                ws.report.status = DELETED.into();
                ws.updated_ms = now_ms();
            }
            json_response(StatusCode::OK, &json!({"status": "deleted", "id": id}))
        }
        Err(e) => error(StatusCode::BAD_GATEWAY, &e),
    }
}

fn restart_workspace(shared: &Arc<Shared>, id: &str) -> Resp {
    let run = {
        let mut inner = shared.lock();
        let Some(ws) = inner.workspaces.get_mut(id).filter(|ws| !ws.deleted()) else {
            return error(StatusCode::NOT_FOUND, "workspace not found");
        };
        let run = if ws.in_flight {
            // Coalesce into the run in flight.
            if let Some(last) = ws.report.runs.last_mut() {
                last.coalesced_restarts += 1;
            }
            None
        } else {
            let n = u32::try_from(ws.report.runs.len()).unwrap_or(u32::MAX - 1) + 1;
            ws.in_flight = true;
            ws.report.status = PROVISIONING.into();
            ws.updated_ms = now_ms();
            ws.report.runs.push(new_run(n, "restart"));
            Some(n)
        };
        inner.totals.restarts_requested += 1;
        match run {
            Some(_) => inner.totals.provision_runs += 1,
            None => inner.totals.restarts_coalesced += 1,
        }
        run
    };
    if let Some(n) = run {
        shared.spawn(cp::provision_run(Arc::clone(shared), id.to_string(), n));
    }
    json_response(
        StatusCode::ACCEPTED,
        &json!({"status": "restart_dispatched", "workspace_id": id}),
    )
}
