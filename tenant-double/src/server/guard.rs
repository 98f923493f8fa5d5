//! The tenant guard (org header, then bearer) and the admin gate.

use http::{header, HeaderMap, Request, StatusCode};
use hyper::body::Incoming;
use serde_json::json;

use super::respond::{error, json_response, Resp};
use crate::state::Shared;

/// Which check a route gets after the org header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gate {
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
pub(crate) fn guarded(shared: &Shared, req: &Request<Incoming>, gate: Gate) -> Option<Resp> {
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
