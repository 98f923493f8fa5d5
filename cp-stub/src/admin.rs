//! The admin API under `/__/stub/` (table in `contract::admin`). Admin
//! calls are neither counted nor journaled.

use std::sync::OnceLock;

use bytes::Bytes;
use contract::admin::{FaultSpec, ADMIN_PREFIX, LEGACY_STATE_PATH};
use http::{Method, Request};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use serde_json::json;

use crate::app::{
    check_fault, error_body, json_bytes, method_not_allowed, percent_decode, respond, App, Resp,
};
use crate::state::JournalQuery;

/// Admin endpoints and their methods, for 405s and the 404 hint.
const ENDPOINTS: &[(&str, &[&str])] = &[
    ("/state", &["GET"]),
    ("/reset", &["POST"]),
    ("/snapshot", &["POST"]),
    ("/requests", &["GET"]),
    ("/faults", &["GET", "POST", "DELETE"]),
    ("/faults/{id}", &["DELETE"]),
    ("/version", &["GET"]),
    ("/contract", &["GET"]),
    ("/openapi.json", &["GET"]),
];

pub(crate) async fn handle(app: &App, req: Request<Incoming>) -> Resp {
    let full_path = req.uri().path().to_string();
    let sub = if full_path == LEGACY_STATE_PATH {
        "/state"
    } else {
        &full_path[ADMIN_PREFIX.len()..]
    };
    let (endpoint, fault_id) = match sub.strip_prefix("/faults/") {
        Some(id) if !id.is_empty() && !id.contains('/') => ("/faults/{id}", Some(id.to_string())),
        _ => (sub, None),
    };
    let Some((_, methods)) = ENDPOINTS.iter().find(|(p, _)| *p == endpoint) else {
        let known: Vec<String> = ENDPOINTS
            .iter()
            .map(|(p, _)| format!("{ADMIN_PREFIX}{p}"))
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
    match (endpoint, &method) {
        ("/state", _) => respond(200, json_bytes(&shared.state())),
        ("/reset", _) => {
            let generation = shared.reset();
            respond(
                200,
                json_bytes(&json!({"reset": true, "generation": generation})),
            )
        }
        ("/snapshot", _) => respond(200, json_bytes(&shared.snapshot())),
        ("/requests", _) => match parse_journal_query(req.uri().query()) {
            Ok(q) => respond(200, json_bytes(&shared.journal(&q))),
            Err(e) => respond(400, error_body(e)),
        },
        ("/faults", &Method::GET) => respond(200, json_bytes(&shared.faults())),
        ("/faults", &Method::DELETE) => {
            let cleared = shared.clear_faults();
            respond(200, json_bytes(&json!({"cleared": cleared})))
        }
        ("/faults", _) => add_fault(app, req).await,
        ("/faults/{id}", _) => {
            let id = fault_id.unwrap_or_default();
            match id.parse::<u64>().ok().and_then(|n| shared.delete_fault(n)) {
                Some(fault) => respond(200, json_bytes(&fault)),
                None => respond(
                    404,
                    error_body(format!(
                        "no fault with id `{id}` (list them with GET {ADMIN_PREFIX}/faults)"
                    )),
                ),
            }
        }
        ("/version", _) => respond(200, json_bytes(&crate::version_info())),
        // Compile-time data: built once per process, on first use (keeps
        // start-up fast and an idle stub small).
        ("/contract", _) => {
            static CONTRACT: OnceLock<Bytes> = OnceLock::new();
            respond(
                200,
                CONTRACT
                    .get_or_init(|| json_bytes(&contract::ROUTES))
                    .clone(),
            )
        }
        ("/openapi.json", _) => {
            static OPENAPI: OnceLock<Bytes> = OnceLock::new();
            respond(
                200,
                OPENAPI
                    .get_or_init(|| json_bytes(&contract::openapi()))
                    .clone(),
            )
        }
        _ => respond(500, error_body("cp-stub: admin dispatch gap")),
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
    let spec: FaultSpec = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => {
            return respond(
                400,
                error_body(format!(
                    "fault spec: {e} (fields: route, org, status, body, headers, delay_ms, drop_connection, times)"
                )),
            )
        }
    };
    if let Err(e) = check_fault(&spec) {
        return respond(400, error_body(format!("fault spec: {e}")));
    }
    respond(201, json_bytes(&app.shared.add_fault(spec)))
}

fn parse_journal_query(query: Option<&str>) -> Result<JournalQuery, String> {
    let mut q = JournalQuery::default();
    let Some(query) = query else { return Ok(q) };
    fn num<T: std::str::FromStr>(key: &str, v: &str) -> Result<T, String> {
        v.parse()
            .map_err(|_| format!("query parameter `{key}`: `{v}` is not a number"))
    }
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (percent_decode(k), percent_decode(v));
        if v.is_empty() {
            continue;
        }
        match k.as_str() {
            "route" => q.route = Some(v),
            "org" => q.org = Some(v),
            "method" => q.method = Some(v),
            "status" => q.status = Some(num(&k, &v)?),
            "since_seq" => q.since_seq = Some(num(&k, &v)?),
            "since_ms" => q.since_ms = Some(num(&k, &v)?),
            "until_ms" => q.until_ms = Some(num(&k, &v)?),
            "limit" => q.limit = Some(num(&k, &v)?),
            "unmatched" => {
                q.unmatched = Some(match v.as_str() {
                    "true" | "1" | "yes" => true,
                    "false" | "0" | "no" => false,
                    _ => return Err(format!("query parameter `unmatched`: `{v}` is not true or false")),
                })
            }
            other => {
                return Err(format!(
                    "unknown query parameter `{other}`; filters: route, org, method, status, since_seq, since_ms, until_ms, unmatched, limit"
                ))
            }
        }
    }
    Ok(q)
}
