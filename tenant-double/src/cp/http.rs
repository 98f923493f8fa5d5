//! What every CP call shares: the provisioner's headers, the real client's
//! description of a body it does not echo, and transport errors on one line.

use serde_json::Value;

/// Add the provisioner's headers: the shared secret as bearer and the admin
/// token, each only when non-empty.
pub(crate) fn provisioner_headers(
    mut req: reqwest::RequestBuilder,
    secret: Option<&str>,
    admin_token: &str,
) -> reqwest::RequestBuilder {
    if let Some(secret) = secret.filter(|s| !s.is_empty()) {
        req = req.header("Authorization", format!("Bearer {secret}"));
    }
    if !admin_token.is_empty() {
        req = req.header("X-Molecule-Admin-Token", admin_token);
    }
    req
}

/// Add the CP admin routes' headers (`/cp/admin/*`): `CP_ADMIN_API_TOKEN`
/// (else the shared secret) as bearer, and the admin token.
pub(crate) fn admin_headers(
    req: reqwest::RequestBuilder,
    admin_api_token: Option<&str>,
    secret: Option<&str>,
    admin_token: &str,
) -> reqwest::RequestBuilder {
    let bearer = admin_api_token.filter(|s| !s.is_empty()).or(secret);
    provisioner_headers(req, bearer, admin_token)
}

/// The real client's description of a body it does not echo (it may carry
/// secrets): its `error` field, else its size.
pub(crate) fn body_detail(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| {
            v.get("error")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        })
        .unwrap_or_else(|| format!("<unstructured body, {} bytes>", body.len()))
}

/// An error with its causes, on one line.
pub(crate) fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}
