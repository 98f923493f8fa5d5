//! JSON answers: the one response type every handler returns.

use bytes::Bytes;
use http::{header, Response, StatusCode};
use http_body_util::Full;
use serde_json::{json, Value};

/// A complete answer.
pub(crate) type Resp = Response<Full<Bytes>>;

/// `body` as `application/json` with `status`. Every answer passes here,
/// so every string in it is masked by the contract's rule first: a CP's
/// error body or a base URL with a password never leaves the tenant.
pub(crate) fn json_response(status: StatusCode, body: &Value) -> Resp {
    let mut body = body.clone();
    contract::redact::redact_strings(&mut body);
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    let mut resp = Response::new(Full::new(Bytes::from(bytes)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    resp
}

/// `{"error": message}` with `status`.
pub(crate) fn error(status: StatusCode, message: &str) -> Resp {
    json_response(status, &json!({ "error": message }))
}

/// 405 with the `Allow` header.
pub(crate) fn method_not_allowed(allow: &'static str) -> Resp {
    let mut resp = error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
    resp.headers_mut()
        .insert(header::ALLOW, header::HeaderValue::from_static(allow));
    resp
}
