//! Programmed faults: the check a [`FaultSpec`] passes before it is armed,
//! and the answer it gives instead of the route's. (Which fault a call
//! meets is decided in `state.rs`, under the lock that counts the call.)

use std::collections::BTreeMap;

use contract::admin::FaultSpec;
use contract::Route;
use http::header::{HeaderName, HeaderValue};
use serde_json::Value;

use crate::respond::{error_body, json_bytes, respond, respond_text, Resp};

/// Check a fault before arming it; the error names the field. (An unknown
/// `route` is refused when the spec is parsed.)
pub(crate) fn check(spec: &FaultSpec) -> Result<(), String> {
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

/// The answer of a fault that sets a status or a body.
pub(crate) fn response(route: &Route, spec: &FaultSpec) -> Resp {
    let status = spec.status.unwrap_or(route.status);
    let mut resp = match &spec.body {
        Some(Value::String(text)) => respond_text(status, text.clone()),
        Some(v) => respond(status, json_bytes(v)),
        None => respond(status, error_body("cp-stub: injected fault")),
    };
    add_headers(&mut resp, &spec.headers);
    resp
}

/// Add a fault's extra headers (checked by [`check`]) to an answer.
pub(crate) fn add_headers(resp: &mut Resp, headers: &BTreeMap<String, String>) {
    for (k, v) in headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            resp.headers_mut().insert(name, value);
        }
    }
}
