//! Credential enforcement, like the real CP, and the org an admin token is
//! bound to. The bearer: the shared secret on `/cp/workspaces/*`, the admin
//! API token (`--expect-admin-api-token`, else the shared secret, as the
//! real client falls back to it) on `/cp/admin/*`. Admin tokens
//! (`--expect-admin-token`), optionally bound to an org: in
//! `X-Molecule-Admin-Token`, or as the bearer of `/cp/tenants/config`.
//! Messages name the header, never the value sent.

use contract::{Auth, Route};
use http::header::AUTHORIZATION;
use http::HeaderMap;

use crate::config::Config;
use crate::headers::{header_str, ADMIN_TOKEN_HEADER};

/// The org bound (`ORG=TOKEN`) to the admin token the caller presented, if
/// it presented an expected one.
pub(crate) fn token_org<'c>(
    cfg: &'c Config,
    route: &Route,
    headers: &HeaderMap,
) -> Option<&'c str> {
    if cfg.expect_admin_tokens.is_empty() {
        return None;
    }
    let Ok(Some(token)) = admin_token(route, headers) else {
        return None;
    };
    cfg.expect_admin_tokens
        .iter()
        .filter(|t| t.token == token)
        .find_map(|t| t.org.as_deref())
}

/// Why the caller's credentials are refused (401), if enforcement is on.
/// `org` is the caller's org as attributed (header, body, token, workspace).
pub(crate) fn failure(
    cfg: &Config,
    route: &Route,
    headers: &HeaderMap,
    org: Option<&str>,
) -> Option<String> {
    if let Some(reason) = bearer_failure(cfg, route, headers) {
        return Some(reason);
    }
    // Session routes (the canvas's) are not checked.
    if cfg.expect_admin_tokens.is_empty() || route.auth == Auth::Session {
        return None;
    }
    let header_name = match route.auth {
        Auth::AdminBearerAndOrg => "Authorization: Bearer",
        _ => "X-Molecule-Admin-Token",
    };
    let token = match admin_token(route, headers) {
        Ok(Some(token)) => token,
        Ok(None) => {
            return Some(format!(
                "missing {header_name} admin token: {} needs the tenant's ADMIN_TOKEN (cp-stub enforces --expect-admin-token)",
                route.id
            ))
        }
        Err(NotBearer) => {
            return Some("Authorization header is not `Bearer <token>`: send `Authorization: Bearer <admin token>`".into())
        }
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

/// The bearer check of the routes that carry the shared secret or the
/// admin API token.
fn bearer_failure(cfg: &Config, route: &Route, headers: &HeaderMap) -> Option<String> {
    const SHARED: (&str, &str) = (
        "shared secret",
        "MOLECULE_CP_SHARED_SECRET / PROVISION_SHARED_SECRET; cp-stub enforces --expect-shared-secret",
    );
    let (expected, (name, source)) = match route.auth {
        Auth::SharedSecretAndAdminToken => (cfg.expect_shared_secret.as_deref(), SHARED),
        Auth::AdminApiKey => match &cfg.expect_admin_api_token {
            Some(token) => (
                Some(token.as_str()),
                (
                    "admin API token",
                    "CP_ADMIN_API_TOKEN; cp-stub enforces --expect-admin-api-token",
                ),
            ),
            // The real client sends the shared secret when CP_ADMIN_API_TOKEN is unset.
            None => (cfg.expect_shared_secret.as_deref(), SHARED),
        },
        Auth::AdminBearerAndOrg | Auth::Session => (None, SHARED),
    };
    let expected = expected?;
    match bearer(headers) {
        Bearer::Missing => Some(format!(
            "missing Authorization header: {} needs `Authorization: Bearer <{name}>` ({source})",
            route.id
        )),
        Bearer::Other => Some(format!(
            "Authorization header is not `Bearer <token>`: send `Authorization: Bearer <{name}>`"
        )),
        Bearer::Token(t) if t != expected => Some(format!(
            "Authorization bearer does not match the expected {name} ({source})"
        )),
        Bearer::Token(_) => None,
    }
}

/// The `Authorization` header holds something other than `Bearer <token>`.
struct NotBearer;

/// The admin token the caller presented: `X-Molecule-Admin-Token`, or the
/// bearer of `/cp/tenants/config`; `None` when absent.
fn admin_token(route: &Route, headers: &HeaderMap) -> Result<Option<String>, NotBearer> {
    match route.auth {
        Auth::SharedSecretAndAdminToken | Auth::AdminApiKey => {
            Ok(header_str(headers, &ADMIN_TOKEN_HEADER).map(str::to_string))
        }
        Auth::AdminBearerAndOrg => match bearer(headers) {
            Bearer::Token(t) => Ok(Some(t)),
            Bearer::Other => Err(NotBearer),
            Bearer::Missing => Ok(None),
        },
        Auth::Session => Ok(None),
    }
}

/// What the `Authorization` header holds.
enum Bearer {
    /// Absent or empty.
    Missing,
    /// Present, but not `Bearer <token>`.
    Other,
    Token(String),
}

fn bearer(headers: &HeaderMap) -> Bearer {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Bearer::Missing;
    };
    let text = String::from_utf8_lossy(value.as_bytes());
    let text = text.trim();
    match text.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Bearer::Token(token.trim().to_string())
        }
        _ if text.is_empty() => Bearer::Missing,
        _ => Bearer::Other,
    }
}
