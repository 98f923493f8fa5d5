//! The workspace handlers: list, get, create (provisioning in the
//! background), delete (stopping at the CP, pruning with `?erase=true`),
//! console (from the CP) and restart (ensure-image → stop → provision in the
//! background, coalescing into a run in flight).

use std::sync::Arc;

use http::{Request, StatusCode};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;
use serde_json::{json, Value};

use super::respond::{error, json_response, Resp};
use crate::cp;
use crate::report::{now_ms, WorkspaceReport};
use crate::state::Shared;
use crate::workspace::{new_id, new_run, Spec, Workspace, DELETED, PROVISIONING};

/// Largest request body accepted.
const BODY_LIMIT: usize = 1 << 20;

/// `GET /workspaces`: the live ones, in creation order.
pub(crate) fn list(shared: &Shared) -> Resp {
    let inner = shared.lock();
    let list: Vec<Value> = inner
        .order
        .iter()
        .filter_map(|id| inner.workspaces.get(id))
        .filter(|ws| !ws.deleted())
        .map(|ws| ws.view(&shared.config.org_id, shared.config.no_evidence))
        .collect();
    json_response(StatusCode::OK, &Value::Array(list))
}

/// `GET /workspaces/{id}`.
pub(crate) fn get(shared: &Shared, id: &str) -> Resp {
    let inner = shared.lock();
    match inner.workspaces.get(id).filter(|ws| !ws.deleted()) {
        Some(ws) => json_response(
            StatusCode::OK,
            &ws.view(&shared.config.org_id, shared.config.no_evidence),
        ),
        None => error(StatusCode::NOT_FOUND, "workspace not found"),
    }
}

/// The request body as JSON (empty is `{}`), at most [`BODY_LIMIT`],
/// complete within `timeout` (a stalled client must not hold the handler).
async fn read_json(
    req: Request<Incoming>,
    timeout: std::time::Duration,
) -> Result<Value, (StatusCode, String)> {
    let read = tokio::time::timeout(timeout, Limited::new(req.into_body(), BODY_LIMIT).collect());
    let body = match read.await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => {
            return Err((
                StatusCode::PAYLOAD_TOO_LARGE,
                "request body over the 1 MiB limit: send a smaller body".to_string(),
            ))
        }
        Ok(Err(e)) => {
            return Err((
                StatusCode::BAD_REQUEST,
                format!("request body unreadable ({e}): send it whole"),
            ))
        }
        Err(_) => {
            return Err((
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "request body not complete within {} ms (--body-timeout-ms, TENANT_DOUBLE_BODY_TIMEOUT_MS): send it at once",
                    timeout.as_millis()
                ),
            ))
        }
    };
    if body.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(&body)
        .map_err(|e| (StatusCode::BAD_REQUEST, format!("body is not JSON: {e}")))
}

/// `POST /workspaces`: 201 at once, provisioning in the background.
pub(crate) async fn create(shared: &Arc<Shared>, req: Request<Incoming>) -> Resp {
    let body = match read_json(req, shared.config.body_timeout).await {
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
    let spec = match Spec::from_body(&body) {
        Ok(spec) => spec,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e),
    };
    let id = new_id();
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
            spec,
            created_ms: now,
            updated_ms: now,
            in_flight: true,
            report: WorkspaceReport {
                name,
                status: PROVISIONING.into(),
                instance_id: None,
                error: None,
                runs: vec![new_run(1, "create")],
                stops: Vec::new(),
            },
        };
        let view = ws.view(&shared.config.org_id, shared.config.no_evidence);
        inner.workspaces.insert(id.clone(), ws);
        inner.order.push(id.clone());
        inner.totals.provision_runs += 1;
        view
    };
    shared.spawn(cp::provision_run(Arc::clone(shared), id, 1));
    json_response(StatusCode::CREATED, &view)
}

/// `DELETE /workspaces/{id}[?erase=true]`: stop at the CP first when it has
/// an instance (with `prune=true` when erasing, the real `StopAndPrune`).
pub(crate) async fn delete(shared: &Arc<Shared>, id: &str, erase: bool) -> Resp {
    let instance_id = {
        let mut inner = shared.lock();
        let Some(ws) = inner.workspaces.get_mut(id).filter(|ws| !ws.deleted()) else {
            return error(StatusCode::NOT_FOUND, "workspace not found");
        };
        match ws.report.instance_id.as_ref().filter(|i| !i.is_empty()) {
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
    match cp::stop(shared, id, &instance_id, erase).await {
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

/// `GET /workspaces/{id}/console`: the CP's console output as `{"output":
/// …}`, or the real tenant's 502.
pub(crate) async fn console(shared: &Arc<Shared>, id: &str) -> Resp {
    let known = {
        let inner = shared.lock();
        inner.workspaces.get(id).is_some_and(|ws| !ws.deleted())
    };
    if !known {
        return error(StatusCode::NOT_FOUND, "workspace not found");
    }
    match cp::console_output(shared, id).await {
        Ok(output) => json_response(StatusCode::OK, &json!({ "output": output })),
        Err(_) => error(
            StatusCode::BAD_GATEWAY,
            "control plane returned an error fetching console output",
        ),
    }
}

/// `POST /admin/workspaces/{id}/restart`: 202 and a new run (ensure-image →
/// stop → provision), or coalesced into the run in flight.
pub(crate) fn restart(shared: &Arc<Shared>, id: &str) -> Resp {
    let mut prior = String::new();
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
            prior = ws.report.status.clone();
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
        shared.spawn(cp::restart_run(
            Arc::clone(shared),
            id.to_string(),
            n,
            prior,
        ));
    }
    json_response(
        StatusCode::ACCEPTED,
        &json!({"status": "restart_dispatched", "workspace_id": id}),
    )
}
