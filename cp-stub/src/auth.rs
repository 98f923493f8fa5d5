//! Credential enforcement, like the real CP: the shared secret as a bearer
//! on the routes that carry it, and admin tokens (`--expect-admin-token`),
//! optionally bound to the caller's org. Messages name the header, never
//! the value sent.

use contract::{Auth, Route};
use http::header::AUTHORIZATION;
use http::HeaderMap;

use crate::config::Config;
use crate::headers::{header_str, ADMIN_TOKEN_HEADER};

/// Why the caller's credentials are refused (401), if enforcement is on.
pub(crate) fn failure(
    cfg: &Config,
    route: &Route,
    headers: &HeaderMap,
    org: Option<&str>,
) -> Option<String> {
    let carries_secret = matches!(
        route.auth,
        Auth::SharedSecretAndAdminToken | Auth::AdminApiKey
    );
    if carries_secret {
        if let Some(secret) = &cfg.expect_shared_secret {
            match bearer(headers) {
                Bearer::Missing => {
                    return Some(format!(
                        "missing Authorization header: {} needs `Authorization: Bearer <shared secret>` (cp-stub enforces --expect-shared-secret)",
                        route.id
                    ))
                }
                Bearer::Other => {
                    return Some("Authorization header is not `Bearer <token>`: send `Authorization: Bearer <shared secret>`".into())
                }
                Bearer::Token(t) if &t != secret => {
                    return Some("Authorization bearer does not match the expected shared secret (MOLECULE_CP_SHARED_SECRET / PROVISION_SHARED_SECRET)".into())
                }
                Bearer::Token(_) => {}
            }
        }
    }
    if cfg.expect_admin_tokens.is_empty() {
        return None;
    }
    let (token, header_name) = match route.auth {
        Auth::SharedSecretAndAdminToken | Auth::AdminApiKey => (
            header_str(headers, &ADMIN_TOKEN_HEADER).map(str::to_string),
            "X-Molecule-Admin-Token",
        ),
        Auth::AdminBearerAndOrg => match bearer(headers) {
            Bearer::Token(t) => (Some(t), "Authorization: Bearer"),
            Bearer::Other => {
                return Some("Authorization header is not `Bearer <token>`: send `Authorization: Bearer <admin token>`".into())
            }
            Bearer::Missing => (None, "Authorization: Bearer"),
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
