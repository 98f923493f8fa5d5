//! Response builders: JSON bodies, errors, 405 with `Allow`, 413, strict
//! mode's 400, and the bytes of an answer already built (for the journal).

use std::borrow::Cow;

use bytes::Bytes;
use contract::{Route, SchemaId, Violation};
use http::header::{HeaderValue, ALLOW, CONNECTION, CONTENT_TYPE};
use http::{Response, StatusCode};
use http_body_util::Full;
use serde::Serialize;
use serde_json::json;

/// Every answer the stub gives: one buffer, sent whole.
pub(crate) type Resp = Response<Full<Bytes>>;

const JSON: &str = "application/json";

/// `value` as JSON bytes.
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

/// A response with a text body.
pub(crate) fn respond_text(status: u16, text: String) -> Resp {
    let mut resp = respond(status, Bytes::from(text));
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

/// `{"error": ...}`, the contract's error body.
pub(crate) fn error_body(error: impl Into<String>) -> Bytes {
    json_bytes(&json!({ "error": error.into() }))
}

/// 405 with `Allow` and `{error, method, path, allow}`.
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

/// 413 for a body over `limit` bytes.
pub(crate) fn too_large(limit: usize) -> Resp {
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

/// 400 `{error, violations}` for strict mode; create-org's error schema
/// also names the `fields`.
pub(crate) fn strict(route: &Route, violations: &[Violation]) -> Resp {
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
        let fields: Vec<&str> = violations
            .iter()
            .map(|v| {
                v.path
                    .trim_start_matches('/')
                    .split('/')
                    .next()
                    .unwrap_or("")
            })
            .map(|f| if f.is_empty() { "body" } else { f })
            .collect();
        body["fields"] = json!(fields);
    }
    respond(400, json_bytes(&body))
}

/// `s` as the inside of a JSON string, escaped as serde_json does
/// (borrowed when there is nothing to escape).
pub(crate) fn json_str_inner(s: &str) -> Cow<'_, str> {
    if !s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        return Cow::Borrowed(s);
    }
    let quoted = serde_json::to_string(s).unwrap_or_default();
    let inner = quoted
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .unwrap_or_default();
    Cow::Owned(inner.to_string())
}

/// The body of an answer built by this module (for the journal).
pub(crate) fn body_bytes(resp: &Resp) -> Bytes {
    // Full<Bytes> holds at most one frame; polling it is immediate.
    use hyper::body::Body as _;
    let mut body = resp.body().clone();
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    match std::pin::Pin::new(&mut body).poll_frame(&mut cx) {
        std::task::Poll::Ready(Some(Ok(frame))) => frame.into_data().unwrap_or_default(),
        _ => Bytes::new(),
    }
}
