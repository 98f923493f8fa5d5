//! The CP routes' own answers, one function per route, chosen by an
//! exhaustive `match` on [`RouteId`]: a route added to the contract does not
//! compile until it is answered here.

use std::fmt;
use std::net::SocketAddr;

use bytes::Bytes;
use contract::{Params, Route, RouteId};
use http::header::HOST;
use http::HeaderMap;
use serde_json::{json, Value};

use crate::app::App;
use crate::body::{Field, Parsed};
use crate::query;
use crate::respond::{json_bytes, json_str_inner, respond, Resp};

/// What a route's answer may use of the request.
#[derive(Debug)]
pub(crate) struct Call<'a> {
    pub(crate) params: &'a Params,
    pub(crate) query: Option<&'a str>,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) body: &'a Parsed,
    /// The caller's org (header, body `org_id`, admin token, workspace).
    pub(crate) org: Option<&'a str>,
}

impl Call<'_> {
    /// Path parameter `name`, percent-decoded (`+` stays `+`).
    fn param(&self, name: &str) -> String {
        self.params
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| query::decode_path(v).into_owned())
            .unwrap_or_default()
    }

    fn field(&self, field: Field) -> &str {
        self.body.get(field).unwrap_or("")
    }
}

/// The route's own, contract-correct answer, with its success status.
pub(crate) fn answer(app: &App, route: &Route, call: &Call<'_>) -> Resp {
    let body = match route.id {
        RouteId::Provision => provision(app, call),
        RouteId::TenantsConfig => tenants_config(app, call),
        RouteId::EnsureImage => ensure_image(call),
        RouteId::Stop => stop(app, call),
        RouteId::Status => Bytes::from_static(br#"{"state":"running"}"#),
        RouteId::Console => console(app, call),
        RouteId::CreateOrg => create_org(call),
        RouteId::AuthMe => auth_me(call),
        RouteId::RedeployFleet => redeploy_fleet(app),
    };
    respond(route.status, body)
}

/// The create-org fields that are missing or empty, in request order (the
/// real CP answers 400 naming them, strict mode or not).
pub(crate) fn missing_org_fields(body: &Parsed) -> Vec<&'static str> {
    [Field::Slug, Field::Name, Field::OwnerUserId]
        .into_iter()
        .filter(|f| body.get(*f).is_none_or(|s| s.trim().is_empty()))
        .map(Field::name)
        .collect()
}

fn provision(app: &App, call: &Call<'_>) -> Bytes {
    provision_body(
        &app.prefix_json,
        call.field(Field::WorkspaceId),
        public_base(app, call.headers),
    )
}

fn tenants_config(app: &App, call: &Call<'_>) -> Bytes {
    let base = public_base(app, call.headers).to_string();
    json_bytes(&app.config.tenant_config_map(&base))
}

fn ensure_image(call: &Call<'_>) -> Bytes {
    let runtime = match call.field(Field::Runtime) {
        "" => "default",
        runtime => runtime,
    };
    json_bytes(&json!({"status": "ready", "image_ref": format!("cp-stub/{runtime}:latest")}))
}

fn stop(app: &App, call: &Call<'_>) -> Bytes {
    let ws = call.param("id");
    let instance = query::param(call.query, "instance_id")
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| format!("{}{ws}", app.config.instance_prefix));
    json_bytes(&json!({"status": "stopped", "workspace_id": ws, "instance_id": instance}))
}

fn console(app: &App, call: &Call<'_>) -> Bytes {
    let ws = call.param("id");
    let prefix = &app.config.instance_prefix;
    json_bytes(
        &json!({"output": format!("cp-stub: console of workspace {ws} ({prefix}{ws}): booted, running\n")}),
    )
}

fn create_org(call: &Call<'_>) -> Bytes {
    let slug = call.field(Field::Slug);
    json_bytes(&json!({
        "ok": true,
        "id": format!("org-{slug}"),
        "slug": slug,
        "name": call.field(Field::Name),
        "owner_user_id": call.field(Field::OwnerUserId),
    }))
}

fn auth_me(call: &Call<'_>) -> Bytes {
    json_bytes(&json!({
        "id": "user-stub",
        "email": "stub-user@cp-stub.invalid",
        "org_id": call.org.unwrap_or("org-stub"),
        "roles": ["admin"],
    }))
}

fn redeploy_fleet(app: &App) -> Bytes {
    let results: Vec<Value> = app
        .shared
        .orgs_seen()
        .into_iter()
        .map(|slug| json!({"slug": slug, "phase": "redeployed", "ssm_status": "Success", "ssm_exit_code": 0, "healthz_ok": true}))
        .collect();
    json_bytes(&json!({"ok": true, "results": results}))
}

/// The base URL a caller reached the stub at: `--public-url`, else
/// `http://<Host>`, else the bound address.
fn public_base<'a>(app: &'a App, headers: &'a HeaderMap) -> Base<'a> {
    if let Some(url) = &app.config.public_url {
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
        None => Base::Bound(app.local_addr),
    }
}

/// The base URL a caller reached the stub at (see [`public_base`]).
#[derive(Debug, Clone, Copy)]
enum Base<'a> {
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
