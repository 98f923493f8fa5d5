//! The admin API under `/__/stub/` (table in `contract::admin`). Admin
//! calls are neither counted nor journaled.

use std::sync::OnceLock;

use bytes::Bytes;
use contract::admin::{FaultSpec, ScopeKind, ADMIN_PREFIX, LEGACY_STATE_PATH};
use http::{Method, Request};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use serde_json::json;

use crate::app::App;
use crate::faults;
use crate::journal_query::JournalQuery;
use crate::respond::{error_body, json_bytes, method_not_allowed, respond, Resp};
use crate::scopes::Selection;

/// The one scope a reset, snapshot or fault clear names (`None`: the whole
/// stub); more than one is an error.
fn one_scope(query: Option<&str>) -> Result<Option<(ScopeKind, String)>, String> {
    let mut sel = Selection::parse(query, true)?.0;
    if sel.len() > 1 {
        return Err(format!(
            "name one scope (replay=, org= or workspace=), not {}",
            sel.len()
        ));
    }
    Ok(sel.pop())
}

/// An admin endpoint.
#[derive(Debug, Clone, Copy)]
enum Endpoint {
    State,
    Counts,
    Reset,
    Snapshot,
    Requests,
    Faults,
    /// `/faults/{id}`.
    Fault,
    Version,
    Contract,
    OpenApi,
}

/// Admin endpoints, their paths under [`ADMIN_PREFIX`] and their methods
/// (for 405s and the 404 hint).
const ENDPOINTS: &[(Endpoint, &str, &[&str])] = &[
    (Endpoint::State, "/state", &["GET"]),
    (Endpoint::Counts, "/counts", &["GET"]),
    (Endpoint::Reset, "/reset", &["POST"]),
    (Endpoint::Snapshot, "/snapshot", &["POST"]),
    (Endpoint::Requests, "/requests", &["GET"]),
    (Endpoint::Faults, "/faults", &["GET", "POST", "DELETE"]),
    (Endpoint::Fault, "/faults/{id}", &["GET", "DELETE"]),
    (Endpoint::Version, "/version", &["GET"]),
    (Endpoint::Contract, "/contract", &["GET"]),
    (Endpoint::OpenApi, "/openapi.json", &["GET"]),
];

pub(crate) async fn handle(app: &App, req: Request<Incoming>) -> Resp {
    let full_path = req.uri().path().to_string();
    let sub = if full_path == LEGACY_STATE_PATH {
        "/state"
    } else {
        &full_path[ADMIN_PREFIX.len()..]
    };
    let (pattern, fault_id) = match sub.strip_prefix("/faults/") {
        Some(id) if !id.is_empty() && !id.contains('/') => ("/faults/{id}", Some(id.to_string())),
        _ => (sub, None),
    };
    let Some(&(endpoint, _, methods)) = ENDPOINTS.iter().find(|(_, p, _)| *p == pattern) else {
        let known: Vec<String> = ENDPOINTS
            .iter()
            .map(|(_, p, _)| format!("{ADMIN_PREFIX}{p}"))
            .collect();
        return respond(
            404,
            json_bytes(&json!({
                "error": format!("no admin endpoint {full_path}"),
                "path": full_path,
                "hint": format!("admin endpoints: {}", known.join(", ")),
            })),
        );
    };
    let method = req.method().clone();
    if !methods.contains(&method.as_str()) {
        return method_not_allowed(method.as_str(), &full_path, methods);
    }
    let shared = &app.shared;
    // Reset, snapshot and a fault clear act on one scope when the query names one.
    let one_scope = || one_scope(req.uri().query());
    match endpoint {
        Endpoint::State => {
            let mut state = shared.state();
            state.log_lines_dropped = app.logger.dropped();
            respond(200, json_bytes(&state))
        }
        Endpoint::Counts => match Selection::parse(req.uri().query(), true) {
            Ok(sel) => respond(200, json_bytes(&shared.counts(&sel))),
            Err(e) => respond(400, error_body(e)),
        },
        Endpoint::Reset => match one_scope() {
            Ok(None) => {
                let generation = shared.reset();
                respond(
                    200,
                    json_bytes(&json!({"reset": true, "generation": generation})),
                )
            }
            Ok(Some((kind, key))) => {
                let (forgotten, cleared) = shared.reset_scope(kind, &key);
                respond(
                    200,
                    json_bytes(&json!({
                        "reset": true,
                        "scope": format!("{kind}={key}"),
                        "generation": shared.counts(&Selection::default()).generation,
                        "journal_forgotten": forgotten,
                        "faults_cleared": cleared,
                    })),
                )
            }
            Err(e) => respond(400, error_body(e)),
        },
        Endpoint::Snapshot => match one_scope() {
            Ok(None) => {
                let mut state = shared.snapshot();
                state.log_lines_dropped = app.logger.dropped();
                respond(200, json_bytes(&state))
            }
            Ok(Some((kind, key))) => respond(200, json_bytes(&shared.snapshot_scope(kind, &key))),
            Err(e) => respond(400, error_body(e)),
        },
        Endpoint::Requests => match JournalQuery::parse(req.uri().query()) {
            Ok(q) => respond(200, json_bytes(&shared.journal(&q))),
            Err(e) => respond(400, error_body(e)),
        },
        Endpoint::Faults if method == Method::GET => match one_scope() {
            Ok(scope) => respond(
                200,
                json_bytes(&shared.faults(scope.as_ref().map(|(k, key)| (*k, key.as_str())))),
            ),
            Err(e) => respond(400, error_body(e)),
        },
        Endpoint::Faults if method == Method::DELETE => match one_scope() {
            Ok(None) => {
                let cleared = shared.clear_faults();
                respond(200, json_bytes(&json!({"cleared": cleared})))
            }
            Ok(Some((kind, key))) => {
                let cleared = shared.clear_scope_faults(kind, &key);
                respond(
                    200,
                    json_bytes(&json!({"cleared": cleared, "scope": format!("{kind}={key}")})),
                )
            }
            Err(e) => respond(400, error_body(e)),
        },
        Endpoint::Faults => add_fault(app, req).await,
        Endpoint::Fault => {
            let id = fault_id.unwrap_or_default();
            let found = id.parse::<u64>().ok().and_then(|n| {
                if method == Method::GET {
                    shared.fault(n)
                } else {
                    shared.delete_fault(n)
                }
            });
            match found {
                Some(fault) => respond(200, json_bytes(&fault)),
                None => respond(
                    404,
                    error_body(format!(
                        "no fault with id `{id}` (list them with GET {ADMIN_PREFIX}/faults)"
                    )),
                ),
            }
        }
        Endpoint::Version => respond(200, json_bytes(&crate::version_info())),
        // Compile-time data: built once per process, on first use (keeps
        // start-up fast and an idle stub small).
        Endpoint::Contract => {
            static CONTRACT: OnceLock<Bytes> = OnceLock::new();
            respond(
                200,
                CONTRACT
                    .get_or_init(|| json_bytes(&contract::ROUTES))
                    .clone(),
            )
        }
        Endpoint::OpenApi => {
            static OPENAPI: OnceLock<Bytes> = OnceLock::new();
            respond(
                200,
                OPENAPI
                    .get_or_init(|| json_bytes(&contract::openapi()))
                    .clone(),
            )
        }
    }
}

async fn add_fault(app: &App, req: Request<Incoming>) -> Resp {
    let body: Bytes = match Limited::new(req.into_body(), app.config.body_limit)
        .collect()
        .await
    {
        Ok(c) => c.to_bytes(),
        Err(_) => return respond(413, error_body("fault spec too large or cut off")),
    };
    // An unknown route id is refused here, by `FaultRoute`'s parser.
    let spec: FaultSpec = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => {
            return respond(
                400,
                error_body(format!(
                    "fault spec: {e} (fields: route, org, replay, workspace, status, body, headers, delay_ms, drop_connection, times)"
                )),
            )
        }
    };
    if let Err(e) = faults::check(&spec) {
        return respond(400, error_body(format!("fault spec: {e}")));
    }
    respond(201, json_bytes(&app.shared.add_fault(spec)))
}
