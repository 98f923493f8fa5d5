//! Request handling: the CP routes, `/healthz`, and dispatch to the admin API.
//!
//! A CP call goes: match the route (405 / 501 / 404 if none) → read the
//! body under the limit (413) → find the caller's org → validate against
//! the contract (violations recorded) → a programmed fault, if any → auth
//! (401) → strict mode (400) → the route's own answer. Every outcome is
//! counted and journaled by one [`Shared::record`] call.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use contract::admin::{FaultSpec, ADMIN_PREFIX, LEGACY_STATE_PATH};
use contract::{Auth, Route, RouteId, RouteMatch, SchemaId, Violation};
use http::header::{HeaderName, HeaderValue, ALLOW, AUTHORIZATION, CONNECTION, CONTENT_TYPE, HOST};
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use serde::Serialize;
use serde_json::{json, Value};

use crate::body::{BodyFields, Field};
use crate::config::Config;
use crate::log::{LogLine, Logger};
use crate::state::{FaultAction, Record, Shared};

pub(crate) type Resp = Response<Full<Bytes>>;

pub(crate) static ORG_HEADER: HeaderName = HeaderName::from_static("x-molecule-org-id");
pub(crate) static ADMIN_TOKEN_HEADER: HeaderName =
    HeaderName::from_static("x-molecule-admin-token");
const JSON: &str = "application/json";

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

/// Everything a connection task needs.
#[derive(Debug)]
pub(crate) struct App {
    pub config: Config,
    pub shared: Shared,
    pub logger: Logger,
    pub local_addr: SocketAddr,
    /// The instance prefix, escaped for a JSON string once.
    pub prefix_json: String,
}

pub(crate) fn json_bytes<T: Serialize>(value: &T) -> Bytes {
    let mut out = Vec::with_capacity(256);
    serde_json::to_writer(&mut out, value)
        .map(|()| Bytes::from(out))
        .unwrap_or_else(|_| {
            Bytes::from_static(br#"{"error":"cp-stub: could not encode the answer"}"#)
        })
}

/// A response with a JSON body.
pub(crate) fn respond(status: u16, body: Bytes) -> Resp {
    let mut resp = Response::new(Full::new(body));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(JSON));
    resp
}

pub(crate) fn error_body(error: impl Into<String>) -> Bytes {
    json_bytes(&json!({ "error": error.into() }))
}

pub(crate) fn method_not_allowed(method: &str, path: &str, allow: &[&str]) -> Resp {
    let body = json_bytes(&json!({
        "error": format!("method {method} is not allowed on {path}; allowed: {}", allow.join(", ")),
        "method": method,
        "path": path,
        "allow": allow,
    }));
    let mut resp = respond(405, body);
    if let Ok(v) = HeaderValue::from_str(&allow.join(", ")) {
        resp.headers_mut().insert(ALLOW, v);
    }
    resp
}

fn header_str<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Value of query parameter `name`, percent-decoded.
pub(crate) fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .find(|(k, _)| percent_decode(k) == name)
        .map(|(_, v)| percent_decode(v))
}

pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Why a request body could not be read.
enum BodyError {
    TooLarge,
    Aborted,
}

async fn read_body(body: Incoming, limit: usize) -> Result<Bytes, BodyError> {
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(BodyError::TooLarge),
        Err(_) => Err(BodyError::Aborted),
    }
}

fn too_large(limit: usize) -> Resp {
    let mut resp = respond(
        413,
        json_bytes(&json!({
            "error": format!("request body is over the {limit}-byte limit"),
            "hint": "raise --body-limit / CP_STUB_BODY_LIMIT if a real client sends bodies this large",
        })),
    );
    // The rest of the body was not read: the connection cannot be reused.
    resp.headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    resp
}

/// `{error, violations}` for strict mode.
fn strict_body(route: &Route, violations: &[Violation]) -> Bytes {
    let listed: Vec<String> = violations.iter().map(ToString::to_string).collect();
    let mut body = json!({
        "error": format!(
            "request to {} breaks the contract (cp-stub --strict): {}",
            route.id,
            listed.join("; ")
        ),
        "violations": violations
            .iter()
            .map(|v| json!({"path": v.path, "message": v.message, "keyword": v.keyword}))
            .collect::<Vec<_>>(),
    });
    if route.error_schema == SchemaId::CreateOrgError {
        let fields: Vec<String> = violations
            .iter()
            .map(|v| {
                v.path
                    .trim_start_matches('/')
                    .split('/')
                    .next()
                    .unwrap_or("")
                    .to_string()
            })
            .map(|f| if f.is_empty() { "body".to_string() } else { f })
            .collect();
        body["fields"] = json!(fields);
    }
    json_bytes(&body)
}

impl App {
    pub(crate) fn new(config: Config, local_addr: SocketAddr) -> Self {
        let logger = Logger::new(config.log_format, config.log_sink.clone());
        App {
            prefix_json: json_str_inner(&config.instance_prefix).into_owned(),
            shared: Shared::new(config.journal_capacity),
            logger,
            local_addr,
            config,
        }
    }

    /// The base URL a caller reached the stub at: `--public-url`, else
    /// `http://<Host>`, else the bound address.
    fn public_base<'a>(&'a self, headers: &'a HeaderMap) -> Base<'a> {
        if let Some(url) = &self.config.public_url {
            return Base::Public(url);
        }
        let host = headers
            .get(HOST)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|h| {
                !h.is_empty()
                    && h.bytes().all(|c| {
                        c.is_ascii_alphanumeric()
                            || matches!(c, b'.' | b':' | b'-' | b'_' | b'[' | b']')
                    })
            });
        match host {
            Some(h) => Base::Host(h),
            None => Base::Bound(self.local_addr),
        }
    }

    pub(crate) async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Result<Resp, Dropped> {
        let start = Instant::now();
        let path = req.uri().path();
        if path == "/healthz" {
            let resp = if req.method() == Method::GET || req.method() == Method::HEAD {
                respond(200, Bytes::from_static(br#"{"status":"ok"}"#))
            } else {
                method_not_allowed(req.method().as_str(), path, &["GET", "HEAD"])
            };
            self.log_simple(&req, resp.status().as_u16(), start, "health");
            return Ok(resp);
        }
        if path == LEGACY_STATE_PATH
            || path == ADMIN_PREFIX
            || path.starts_with(ADMIN_PREFIX)
                && path.as_bytes().get(ADMIN_PREFIX.len()) == Some(&b'/')
        {
            let method = req.method().clone();
            let path = path.to_string();
            let resp = crate::admin::handle(&self, req).await;
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
                let method = req.method().as_str();
                let resp = if path == "/cp" || path.starts_with("/cp/") {
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
                };
                Ok(self.unmatched(req, resp, start))
            }
        }
    }

    fn log_simple(&self, req: &Request<Incoming>, status: u16, start: Instant, kind: &str) {
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
        rec.set_response(Some(&resp.body().clone().into_inner_bytes()));
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
        // hyper's size hint is the declared Content-Length (no header lookup).
        let declared = hyper::body::Body::size_hint(&body).lower();
        let mut rec = Record::new(
            &parts.method,
            &parts.uri,
            Some(route),
            &parts.headers,
            declared,
        );
        let header_org = header_str(&parts.headers, &ORG_HEADER);
        let limit = self.config.body_limit;

        // Body, under the limit. A declared length over it is refused unread.
        let body = if declared > limit as u64 {
            Err(BodyError::TooLarge)
        } else {
            read_body(body, limit).await
        };
        let body = match body {
            Ok(b) => b,
            Err(e) => {
                rec.set_org(header_org);
                let resp = match e {
                    BodyError::TooLarge => Ok(too_large(limit)),
                    BodyError::Aborted => Err(Dropped),
                };
                return self.finish(rec, resp, start);
            }
        };
        rec.set_body(&body);

        // Contract validation of the request, and the body fields the
        // answer uses. A valid body (the common case) is checked and read
        // in place; anything else is parsed into a `Value` for the
        // violations, as `contract::validate` reports them.
        let doc: Option<contract::JsonDoc<'_>>;
        let slow: Option<Result<Value, String>>;
        let valid = match route.request_schema {
            Some(schema) if !body.is_empty() => {
                doc = contract::JsonDoc::parse(&body);
                doc.as_ref()
                    .is_some_and(|d| d.is_valid(schema).unwrap_or(false))
            }
            _ => {
                doc = None;
                false
            }
        };
        let fields = match &doc {
            Some(d) if valid => BodyFields::Doc(d),
            _ => {
                // Parse when the route takes JSON (or a body came anyway).
                slow = if route.request_schema.is_some() || !body.is_empty() {
                    Some(if body.is_empty() {
                        Err("the body is empty; this route takes a JSON object".to_string())
                    } else {
                        serde_json::from_slice::<Value>(&body)
                            .map_err(|e| format!("malformed JSON: {e}"))
                    })
                } else {
                    None
                };
                if let Some(schema) = route.request_schema {
                    match &slow {
                        Some(Ok(v)) => match contract::validate(schema, v) {
                            Ok(found) => rec.violations = found,
                            Err(e) => rec.violations.push(Violation {
                                path: String::new(),
                                keyword: "schema".into(),
                                message: e.to_string(),
                            }),
                        },
                        Some(Err(msg)) => rec.violations.push(Violation {
                            path: String::new(),
                            keyword: "json".into(),
                            message: msg.clone(),
                        }),
                        None => {}
                    }
                }
                match &slow {
                    Some(Ok(v)) => BodyFields::Value(v),
                    _ => BodyFields::None,
                }
            }
        };
        rec.set_org(header_org.or_else(|| fields.get(Field::OrgId).filter(|s| !s.is_empty())));

        // A programmed fault answers first.
        let mut extra_headers: Option<BTreeMap<String, String>> = None;
        if let Some(FaultAction { id, spec }) = self.shared.take_fault(route, rec.org()) {
            rec.fault = Some(id);
            if let Some(ms) = spec.delay_ms {
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            if spec.drop_connection {
                return self.finish(rec, Err(Dropped), start);
            }
            if spec.status.is_some() || spec.body.is_some() {
                let resp = fault_response(route, &spec);
                return self.finish(rec, Ok(resp), start);
            }
            if !spec.headers.is_empty() {
                extra_headers = Some(spec.headers);
            }
        }

        let mut resp = if let Some(reason) = self.auth_failure(route, &parts.headers, rec.org()) {
            respond(401, error_body(reason))
        } else if route.id == RouteId::CreateOrg && !missing_org_fields(&fields).is_empty() {
            respond(
                400,
                json_bytes(&json!({
                    "error": "slug, name, owner_user_id are required",
                    "fields": missing_org_fields(&fields),
                })),
            )
        } else if self.config.strict && !rec.violations.is_empty() {
            respond(400, strict_body(route, &rec.violations))
        } else {
            let base = if matches!(route.id, RouteId::TenantsConfig | RouteId::Provision) {
                Some(self.public_base(&parts.headers))
            } else {
                None
            };
            self.serve(route, &params, parts.uri.query(), &fields, rec.org(), base)
        };
        if let Some(headers) = extra_headers {
            add_headers(&mut resp, &headers);
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
        let response = resp
            .as_ref()
            .ok()
            .map(|r| r.body().clone().into_inner_bytes());
        rec.set_response(response.as_deref());
        let elapsed = start.elapsed();
        rec.duration_us = elapsed.as_micros() as u64;
        if self.logger.enabled() {
            self.logger.request(&LogLine {
                method: rec.method.as_str(),
                path: rec.path(),
                status: rec.status,
                duration: elapsed,
                route: rec.route.map(|r| r.id.as_str()),
                org: rec.org(),
                kind: "cp",
            });
        }
        self.shared.record(rec);
        resp
    }

    /// Why the caller's credentials are refused, if enforcement is on. The
    /// message names the header, never the value sent.
    fn auth_failure(
        &self,
        route: &Route,
        headers: &HeaderMap,
        org: Option<&str>,
    ) -> Option<String> {
        let cfg = &self.config;
        let carries_secret = matches!(
            route.auth,
            Auth::SharedSecretAndAdminToken | Auth::AdminApiKey
        );
        if carries_secret {
            if let Some(secret) = &cfg.expect_shared_secret {
                match bearer(headers) {
                    BearerCheck::Missing => {
                        return Some(format!(
                            "missing Authorization header: {} needs `Authorization: Bearer <shared secret>` (cp-stub enforces --expect-shared-secret)",
                            route.id
                        ))
                    }
                    BearerCheck::NotBearer => {
                        return Some("Authorization header is not `Bearer <token>`: send `Authorization: Bearer <shared secret>`".into())
                    }
                    BearerCheck::Token(t) if &t != secret => {
                        return Some("Authorization bearer does not match the expected shared secret (MOLECULE_CP_SHARED_SECRET / PROVISION_SHARED_SECRET)".into())
                    }
                    BearerCheck::Token(_) => {}
                }
            }
        }
        if cfg.expect_admin_tokens.is_empty() {
            return None;
        }
        let (token, header_name) = match route.auth {
            Auth::SharedSecretAndAdminToken | Auth::AdminApiKey => {
                (header_str(headers, &ADMIN_TOKEN_HEADER).map(str::to_string), "X-Molecule-Admin-Token")
            }
            Auth::AdminBearerAndOrg => match bearer(headers) {
                BearerCheck::Token(t) => (Some(t), "Authorization: Bearer"),
                BearerCheck::NotBearer => {
                    return Some("Authorization header is not `Bearer <token>`: send `Authorization: Bearer <admin token>`".into())
                }
                BearerCheck::Missing => (None, "Authorization: Bearer"),
            },
            Auth::Session => return None,
        };
        let Some(token) = token else {
            return Some(format!(
                "missing {header_name} admin token: {} needs the tenant's ADMIN_TOKEN (cp-stub enforces --expect-admin-token)",
                route.id
            ));
        };
        let mut other_org = false;
        for expected in &cfg.expect_admin_tokens {
            if expected.token == token {
                match &expected.org {
                    None => return None,
                    Some(o) if Some(o.as_str()) == org => return None,
                    Some(_) => other_org = true,
                }
            }
        }
        let who = org.unwrap_or("-");
        Some(if other_org {
            format!("{header_name} admin token belongs to another org than the caller's ({who})")
        } else {
            format!("{header_name} admin token is not an expected admin token for org {who}")
        })
    }

    /// The route's own, contract-correct answer.
    fn serve(
        &self,
        route: &'static Route,
        params: &contract::Params,
        query: Option<&str>,
        fields: &BodyFields<'_>,
        org: Option<&str>,
        base: Option<Base<'_>>,
    ) -> Resp {
        let param = |name: &str| {
            params
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| percent_decode(v))
                .unwrap_or_default()
        };
        let field = |name: Field| fields.get(name).unwrap_or("");
        let prefix = &self.config.instance_prefix;
        let body = match route.id {
            RouteId::Provision => {
                let ws = field(Field::WorkspaceId);
                let base = base.unwrap_or(Base::Bound(self.local_addr));
                provision_body(&self.prefix_json, ws, base)
            }
            RouteId::TenantsConfig => {
                let base = base.unwrap_or(Base::Bound(self.local_addr)).to_string();
                json_bytes(&self.config.tenant_config_map(&base))
            }
            RouteId::EnsureImage => {
                let runtime = field(Field::Runtime);
                let runtime = if runtime.is_empty() {
                    "default"
                } else {
                    runtime
                };
                json_bytes(
                    &json!({"status": "ready", "image_ref": format!("cp-stub/{runtime}:latest")}),
                )
            }
            RouteId::Stop => {
                let ws = param("id");
                let instance = query_param(query, "instance_id")
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| format!("{prefix}{ws}"));
                json_bytes(
                    &json!({"status": "stopped", "workspace_id": ws, "instance_id": instance}),
                )
            }
            RouteId::Status => Bytes::from_static(br#"{"state":"running"}"#),
            RouteId::Console => {
                let ws = param("id");
                json_bytes(
                    &json!({"output": format!("cp-stub: console of workspace {ws} ({prefix}{ws}): booted, running\n")}),
                )
            }
            RouteId::CreateOrg => {
                let slug = field(Field::Slug);
                json_bytes(&json!({
                    "ok": true,
                    "id": format!("org-{slug}"),
                    "slug": slug,
                    "name": field(Field::Name),
                    "owner_user_id": field(Field::OwnerUserId),
                }))
            }
            RouteId::AuthMe => json_bytes(&json!({
                "id": "user-stub",
                "email": "stub-user@cp-stub.invalid",
                "org_id": org.unwrap_or("org-stub"),
                "roles": ["admin"],
            })),
            RouteId::RedeployFleet => {
                let results: Vec<Value> = self
                    .shared
                    .orgs_seen()
                    .into_iter()
                    .map(|slug| json!({"slug": slug, "phase": "redeployed", "ssm_status": "Success", "ssm_exit_code": 0, "healthz_ok": true}))
                    .collect();
                json_bytes(&json!({"ok": true, "results": results}))
            }
        };
        respond(route.status, body)
    }
}

enum BearerCheck {
    Missing,
    NotBearer,
    Token(String),
}

fn bearer(headers: &HeaderMap) -> BearerCheck {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return BearerCheck::Missing;
    };
    let text = String::from_utf8_lossy(value.as_bytes());
    let text = text.trim();
    match text.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            BearerCheck::Token(token.trim().to_string())
        }
        _ if text.is_empty() => BearerCheck::Missing,
        _ => BearerCheck::NotBearer,
    }
}

/// The create-org fields that are missing or empty, in request order.
fn missing_org_fields(fields: &BodyFields<'_>) -> Vec<&'static str> {
    [Field::Slug, Field::Name, Field::OwnerUserId]
        .into_iter()
        .filter(|f| fields.get(*f).is_none_or(|s| s.trim().is_empty()))
        .map(Field::name)
        .collect()
}

/// The base URL a caller reached the stub at (see [`App::public_base`]).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Base<'a> {
    /// `--public-url`.
    Public(&'a str),
    /// `http://` + the request's `Host`.
    Host(&'a str),
    /// `http://` + the bound address.
    Bound(SocketAddr),
}

impl fmt::Display for Base<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Base::Public(url) => f.write_str(url),
            Base::Host(host) => write!(f, "http://{host}"),
            Base::Bound(addr) => write!(f, "http://{addr}"),
        }
    }
}

/// The provision answer, `{instance_id, state, workspace_id, url}`, written
/// straight into one buffer (it is the hot route: no string is built per
/// field). Same bytes as serializing the object with serde_json.
/// `prefix_json` is the instance prefix already escaped for JSON.
fn provision_body(prefix_json: &str, ws: &str, base: Base<'_>) -> Bytes {
    let ws_json = json_str_inner(ws);
    let id_json = if ws.is_empty() { "unknown" } else { &ws_json };
    let base_len = match base {
        Base::Public(url) => url.len(),
        Base::Host(host) => host.len() + 7,
        Base::Bound(_) => 64,
    };
    let mut out =
        Vec::with_capacity(100 + prefix_json.len() + 2 * id_json.len() + ws_json.len() + base_len);
    out.extend_from_slice(br#"{"instance_id":""#);
    out.extend_from_slice(prefix_json.as_bytes());
    out.extend_from_slice(id_json.as_bytes());
    out.extend_from_slice(br#"","state":"running","workspace_id":""#);
    out.extend_from_slice(ws_json.as_bytes());
    out.extend_from_slice(br#"","url":""#);
    match base {
        Base::Public(url) => out.extend_from_slice(json_str_inner(url).as_bytes()),
        // `public_base` only takes hosts made of [A-Za-z0-9.:_\[\]-]: nothing
        // to escape.
        Base::Host(host) => {
            out.extend_from_slice(b"http://");
            out.extend_from_slice(host.as_bytes());
        }
        Base::Bound(addr) => {
            use std::io::Write as _;
            let _ = write!(out, "http://{addr}");
        }
    }
    out.extend_from_slice(b"/cp/workspaces/");
    out.extend_from_slice(id_json.as_bytes());
    out.extend_from_slice(br#"/status"}"#);
    Bytes::from(out)
}

/// `s` as the inside of a JSON string, escaped as serde_json does
/// (borrowed when there is nothing to escape).
pub(crate) fn json_str_inner(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        return std::borrow::Cow::Borrowed(s);
    }
    let quoted = serde_json::to_string(s).unwrap_or_default();
    let inner = quoted
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .unwrap_or_default();
    std::borrow::Cow::Owned(inner.to_string())
}

fn add_headers(resp: &mut Resp, headers: &BTreeMap<String, String>) {
    for (k, v) in headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            resp.headers_mut().insert(name, value);
        }
    }
}

fn fault_response(route: &Route, spec: &FaultSpec) -> Resp {
    let status = spec.status.unwrap_or(route.status);
    let mut resp = match &spec.body {
        Some(Value::String(text)) => {
            let mut r = respond(status, Bytes::from(text.clone()));
            r.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            r
        }
        Some(v) => respond(status, json_bytes(v)),
        None => respond(status, error_body("cp-stub: injected fault")),
    };
    add_headers(&mut resp, &spec.headers);
    resp
}

/// Check a fault before arming it; the error names the field.
pub(crate) fn check_fault(spec: &FaultSpec) -> Result<(), String> {
    if spec.route != "*" && spec.route.parse::<RouteId>().is_err() {
        let ids: Vec<&str> = RouteId::ALL.map(RouteId::as_str).to_vec();
        return Err(format!(
            "route: unknown route id `{}`; use one of {} or `*`",
            spec.route,
            ids.join(", ")
        ));
    }
    if let Some(s) = spec.status {
        if !(100..=599).contains(&s) {
            return Err(format!("status: {s} is not an HTTP status (100–599)"));
        }
    }
    for (k, v) in &spec.headers {
        if HeaderName::from_bytes(k.as_bytes()).is_err() {
            return Err(format!("headers: `{k}` is not a valid header name"));
        }
        if HeaderValue::from_str(v).is_err() {
            return Err(format!(
                "headers: the value of `{k}` is not a valid header value"
            ));
        }
    }
    if spec.delay_ms.is_some_and(|d| d > 600_000) {
        return Err("delay_ms: at most 600000 (10 minutes)".into());
    }
    if spec.times == Some(0) {
        return Err("times: must be at least 1; leave it out for `until cleared`".into());
    }
    if spec.status.is_none()
        && spec.body.is_none()
        && spec.headers.is_empty()
        && spec.delay_ms.is_none()
        && !spec.drop_connection
    {
        return Err(
            "the fault does nothing: set status, body, headers, delay_ms or drop_connection".into(),
        );
    }
    Ok(())
}

trait IntoInnerBytes {
    fn into_inner_bytes(self) -> Bytes;
}

impl IntoInnerBytes for Full<Bytes> {
    fn into_inner_bytes(self) -> Bytes {
        // Full<Bytes> holds at most one frame; polling it is immediate.
        use hyper::body::Body as _;
        let mut body = self;
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        match std::pin::Pin::new(&mut body).poll_frame(&mut cx) {
            std::task::Poll::Ready(Some(Ok(frame))) => frame.into_data().unwrap_or_default(),
            _ => Bytes::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provision_body_is_what_serde_json_writes() {
        let addr: SocketAddr = "127.0.0.1:9090".parse().unwrap();
        for (prefix, ws, base) in [
            ("mol-ws-", "ws-1", Base::Host("cp-stub:9090")),
            ("mol-ws-", "", Base::Bound(addr)),
            ("p", "a\"b\\c\n\u{1}é/", Base::Public("http://x\"y")),
            ("", "ws", Base::Public("https://cp.example")),
        ] {
            let id = if ws.is_empty() { "unknown" } else { ws };
            let expected = serde_json::to_vec(&json!({
                "instance_id": format!("{prefix}{id}"),
                "state": "running",
                "workspace_id": ws,
                "url": format!("{base}/cp/workspaces/{id}/status"),
            }))
            .unwrap();
            let got = provision_body(&json_str_inner(prefix), ws, base);
            assert_eq!(
                std::str::from_utf8(&got).unwrap(),
                std::str::from_utf8(&expected).unwrap()
            );
        }
    }
}
