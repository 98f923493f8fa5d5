//! Request → answer. `/healthz`, the admin API, or a CP route
//! ([`contract::match_route`]: 405 / 501 / 404 when none serves the
//! request); then a CP call goes: read the body under the limit (413) →
//! parse and validate it once (violations recorded) → find the caller's
//! org (`X-Molecule-Org-Id`, else the body's `org_id`, else the org bound
//! to the presented admin token, else the org that provisioned the
//! workspace named in the path) → a programmed fault, if any → auth (401)
//! → create-org's required fields (400) → strict mode (400: body, required
//! query parameters and headers) → the route's
//! own answer (`cp.rs`).
//! Every CP outcome is counted and journaled by one [`Shared::record`] call.
//!
//! [`Shared::record`]: crate::state::Shared::record

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use contract::admin::{ADMIN_PREFIX, LEGACY_STATE_PATH};
use contract::{Route, RouteId, RouteMatch};
use http::{Method, Request};
use hyper::body::Incoming;
use serde_json::json;

use crate::app::App;
use crate::body::{self, BodyError, Field, Parsed};
use crate::cp::{self, Call};
use crate::faults;
use crate::headers::{header_str, ORG_HEADER};
use crate::log::LogLine;
use crate::record::Record;
use crate::respond::{
    body_bytes, error_body, json_bytes, method_not_allowed, respond, too_large, Resp,
};
use crate::state::FaultAction;
use crate::{admin, auth, strict};

/// Returned to hyper to close a connection without an answer (a
/// `drop_connection` fault, or a client that vanished mid-body).
#[derive(Debug)]
pub(crate) struct Dropped;

impl fmt::Display for Dropped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection dropped on purpose")
    }
}

impl std::error::Error for Dropped {}

/// Whether `path` is the admin API's.
fn is_admin(path: &str) -> bool {
    path == LEGACY_STATE_PATH
        || path == ADMIN_PREFIX
        || path.starts_with(ADMIN_PREFIX) && path.as_bytes().get(ADMIN_PREFIX.len()) == Some(&b'/')
}

impl App {
    /// Answer one request (hyper's service function).
    pub(crate) async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Result<Resp, Dropped> {
        let start = Instant::now();
        let path = req.uri().path();
        if path == "/healthz" {
            let resp = if req.method() == Method::GET || req.method() == Method::HEAD {
                respond(200, bytes::Bytes::from_static(br#"{"status":"ok"}"#))
            } else {
                method_not_allowed(req.method().as_str(), path, &["GET", "HEAD"])
            };
            self.log(&req, resp.status().as_u16(), start, "health");
            return Ok(resp);
        }
        if is_admin(path) {
            let method = req.method().clone();
            let path = path.to_string();
            let resp = admin::handle(&self, req).await;
            self.logger.request(&LogLine {
                method: method.as_str(),
                path: &path,
                status: resp.status().as_u16(),
                duration: start.elapsed(),
                route: None,
                org: None,
                kind: "admin",
            });
            return Ok(resp);
        }
        match contract::match_route(req.method().as_str(), path) {
            RouteMatch::Found { route, params } => self.cp_call(req, route, params, start).await,
            RouteMatch::MethodNotAllowed { allow } => {
                let resp = method_not_allowed(req.method().as_str(), path, &allow);
                Ok(self.unmatched(req, resp, start))
            }
            RouteMatch::NotFound => {
                let resp = not_found(req.method().as_str(), path);
                Ok(self.unmatched(req, resp, start))
            }
        }
    }

    fn log(&self, req: &Request<Incoming>, status: u16, start: Instant, kind: &str) {
        if self.logger.enabled() {
            self.logger.request(&LogLine {
                method: req.method().as_str(),
                path: req.uri().path(),
                status,
                duration: start.elapsed(),
                route: None,
                org: None,
                kind,
            });
        }
    }

    /// Record and log a 405 / 501 / 404.
    fn unmatched(&self, req: Request<Incoming>, resp: Resp, start: Instant) -> Resp {
        let mut rec = Record::new(req.method(), req.uri(), None, req.headers(), 0);
        rec.set_org(header_str(req.headers(), &ORG_HEADER));
        rec.status = resp.status().as_u16();
        rec.set_response(Some(&body_bytes(&resp)));
        rec.duration_us = start.elapsed().as_micros() as u64;
        self.logger.request(&LogLine {
            method: req.method().as_str(),
            path: req.uri().path(),
            status: rec.status,
            duration: start.elapsed(),
            route: None,
            org: rec.org(),
            kind: "unmatched",
        });
        self.shared.record(rec);
        resp
    }

    async fn cp_call(
        self: Arc<Self>,
        req: Request<Incoming>,
        route: &'static Route,
        params: contract::Params,
        start: Instant,
    ) -> Result<Resp, Dropped> {
        let (parts, body) = req.into_parts();
        let declared = hyper::body::Body::size_hint(&body).lower();
        let mut rec = Record::new(
            &parts.method,
            &parts.uri,
            Some(route),
            &parts.headers,
            declared,
        );
        let header_org = header_str(&parts.headers, &ORG_HEADER);
        let path_ws = path_workspace(&params);
        let limit = self.config.body_limit;
        let read = body::read(
            body,
            limit,
            self.config.body_read_timeout,
            self.stopping.clone(),
        );
        let body = match read.await {
            Ok(b) => b,
            Err(e) => {
                rec.set_org(header_org);
                rec.set_workspace(path_ws.as_deref());
                let resp = match e {
                    BodyError::TooLarge => Ok(too_large(limit)),
                    BodyError::Aborted => Err(Dropped),
                };
                return self.finish(rec, resp, start);
            }
        };
        rec.set_body(&body);
        let mut parsed = Parsed::new(route, &body);
        rec.violations = std::mem::take(&mut parsed.violations);
        let workspace_org;
        let org = match header_org
            .or_else(|| parsed.get(Field::OrgId).filter(|s| !s.is_empty()))
            .or_else(|| auth::token_org(&self.config, route, &parts.headers))
        {
            Some(org) => Some(org),
            None => {
                workspace_org = path_ws
                    .as_deref()
                    .and_then(|ws| self.shared.workspace_org(ws));
                workspace_org.as_deref()
            }
        };
        rec.set_org(org);
        rec.set_workspace(
            parsed
                .get(Field::WorkspaceId)
                .filter(|s| !s.is_empty())
                .or(path_ws.as_deref()),
        );

        // A programmed fault answers first.
        let mut extra_headers: Option<BTreeMap<String, String>> = None;
        if let Some(FaultAction { id, spec }) = self.shared.take_fault(route, &rec) {
            rec.fault = Some(id);
            if let Some(ms) = spec.delay_ms {
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            if spec.drop_connection {
                return self.finish(rec, Err(Dropped), start);
            }
            if spec.status.is_some() || spec.body.is_some() {
                return self.finish(rec, Ok(faults::response(route, &spec)), start);
            }
            if !spec.headers.is_empty() {
                extra_headers = Some(spec.headers);
            }
        }

        let missing = if route.id == RouteId::CreateOrg {
            cp::missing_org_fields(&parsed)
        } else {
            Vec::new()
        };
        let mut resp = if let Some(reason) =
            auth::failure(&self.config, route, &parts.headers, rec.org())
        {
            respond(401, error_body(reason))
        } else if !missing.is_empty() {
            respond(
                400,
                json_bytes(&json!({
                    "error": "slug, name, owner_user_id are required",
                    "fields": missing,
                })),
            )
        } else if self.config.strict && {
            let absent = strict::missing(&self.config, route, parts.uri.query(), &parts.headers);
            rec.violations.extend(absent);
            !rec.violations.is_empty()
        } {
            crate::respond::strict(route, &rec.violations)
        } else {
            let call = Call {
                params: &params,
                query: parts.uri.query(),
                headers: &parts.headers,
                body: &parsed,
                org: rec.org(),
            };
            cp::answer(&self, route, &call)
        };
        if let Some(headers) = extra_headers {
            faults::add_headers(&mut resp, &headers);
        }
        self.finish(rec, Ok(resp), start)
    }

    /// Count, journal and log one CP call.
    fn finish(
        &self,
        mut rec: Record,
        resp: Result<Resp, Dropped>,
        start: Instant,
    ) -> Result<Resp, Dropped> {
        rec.status = resp.as_ref().map_or(0, |r| r.status().as_u16());
        let response = resp.as_ref().ok().map(body_bytes);
        rec.set_response(response.as_deref());
        let elapsed = start.elapsed();
        rec.duration_us = elapsed.as_micros() as u64;
        if self.logger.enabled() {
            self.logger.request(&LogLine {
                method: rec.method.as_str(),
                path: rec.path(),
                status: rec.status,
                duration: elapsed,
                route: rec.route.map(|r| r.id),
                org: rec.org(),
                kind: "cp",
            });
        }
        self.shared.record(rec);
        resp
    }
}

/// The workspace named in the path (`{id}`), percent-decoded.
fn path_workspace(params: &contract::Params) -> Option<String> {
    params
        .iter()
        .find(|(name, _)| *name == "id")
        .map(|(_, v)| crate::query::decode_path(v).into_owned())
        .filter(|ws| !ws.is_empty())
}

/// 501 for an unknown `/cp/*` path (the contract lacks the route, or the
/// image is stale: D9), 404 for anything else.
fn not_found(method: &str, path: &str) -> Resp {
    if path == "/cp" || path.starts_with("/cp/") {
        respond(
            501,
            json_bytes(&json!({
                "error": format!("cp-stub: the contract has no route {method} {path}"),
                "method": method,
                "path": path,
                "hint": "The contract has no such route: add it to contract/src/routes.rs (ROUTES, with its schemas) and rebuild the stub. A stale cp-stub image also answers 501 for routes added after it was built: compare GET /__/stub/version (contract fingerprint) with `cargo run -p replays -- drift` or your checkout.",
            })),
        )
    } else {
        respond(
            404,
            json_bytes(&json!({
                "error": format!("not found: {method} {path}"),
                "method": method,
                "path": path,
                "hint": "cp-stub serves the CP contract under /cp/, GET /healthz, and its admin API under /__/stub/ (see GET /__/stub/contract)",
            })),
        )
    }
}
