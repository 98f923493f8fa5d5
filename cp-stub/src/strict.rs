//! What strict mode checks besides the body: the route's query parameters
//! and headers the real client always sends (`contract::ROUTES[..].query`
//! with `required: true`; the headers of its [`Auth`], the credential ones
//! only while the matching auth mode is on).

use contract::{Auth, Route, Violation};
use http::HeaderMap;

use crate::config::Config;
use crate::query;

/// One violation per required query parameter or header that is absent
/// (or empty).
pub(crate) fn missing(
    cfg: &Config,
    route: &Route,
    raw_query: Option<&str>,
    headers: &HeaderMap,
) -> Vec<Violation> {
    let mut out = Vec::new();
    for param in route.query.iter().filter(|p| p.required) {
        let present = raw_query
            .is_some_and(|q| query::pairs(q).any(|(k, v)| k == param.name && !v.is_empty()));
        if !present {
            out.push(Violation {
                path: format!("query.{}", param.name),
                keyword: "required".into(),
                message: format!(
                    "query parameter `{}` is required (the real client always sends it)",
                    param.name
                ),
            });
        }
    }
    for name in required_headers(cfg, route.auth) {
        let present = headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| !v.trim().is_empty());
        if !present {
            out.push(Violation {
                path: format!("header.{name}"),
                keyword: "required".into(),
                message: format!("header `{name}` is required (the real client always sends it)"),
            });
        }
    }
    out
}

/// Header names (lower case) the client always sends on a route of `auth`.
fn required_headers(cfg: &Config, auth: Auth) -> Vec<&'static str> {
    let admin_token = !cfg.expect_admin_tokens.is_empty();
    // Which setting makes the route's bearer checked (as `auth.rs` checks it).
    let bearer = match auth {
        Auth::SharedSecretAndAdminToken => cfg.expect_shared_secret.is_some(),
        Auth::AdminApiKey => {
            cfg.expect_admin_api_token.is_some() || cfg.expect_shared_secret.is_some()
        }
        Auth::AdminBearerAndOrg => admin_token,
        Auth::Session => false,
    };
    let mut out = Vec::new();
    if bearer {
        out.push("authorization");
    }
    match auth {
        Auth::SharedSecretAndAdminToken | Auth::AdminApiKey if admin_token => {
            out.push("x-molecule-admin-token");
        }
        Auth::AdminBearerAndOrg => out.push("x-molecule-org-id"),
        _ => {}
    }
    out
}
