//! A CP request's body: read under the limit, parsed once into a
//! `serde_json::Value`, validated against the route's request schema, and
//! the few top-level string fields an answer uses (`org_id`,
//! `workspace_id`, `runtime`, create-org's `slug`, `name`, `owner_user_id`).

use std::time::Duration;

use bytes::Bytes;
use contract::{Route, Violation};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;
use serde_json::Value;
use tokio::sync::watch;

/// Why a request body could not be read.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// Over the limit (declared or sent).
    TooLarge,
    /// The client went away mid-body, took longer than the body-read
    /// timeout, or was still sending when shutdown began.
    Aborted,
}

/// The body, unless it is over `limit` bytes; a declared length over it is
/// refused without reading. A body not complete within `timeout`, or still
/// arriving when `stopping` turns true, is given up (a stalled client must
/// not hold a connection, nor shutdown).
pub(crate) async fn read(
    body: Incoming,
    limit: usize,
    timeout: Duration,
    mut stopping: watch::Receiver<bool>,
) -> Result<Bytes, BodyError> {
    // hyper's size hint is the declared Content-Length (no header lookup).
    if hyper::body::Body::size_hint(&body).lower() > limit as u64 {
        return Err(BodyError::TooLarge);
    }
    if hyper::body::Body::is_end_stream(&body) {
        return Ok(Bytes::new());
    }
    let collect = tokio::time::timeout(timeout, Limited::new(body, limit).collect());
    let read = tokio::select! {
        read = collect => read,
        _ = stopping.wait_for(|stop| *stop) => return Err(BodyError::Aborted),
    };
    match read {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => Err(BodyError::TooLarge),
        Ok(Err(_)) | Err(_) => Err(BodyError::Aborted),
    }
}

/// A body as a route sees it: the JSON (when it parsed) and its contract
/// violations.
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    json: Option<Value>,
    /// Violations of the route's request schema (malformed JSON is one).
    pub(crate) violations: Vec<Violation>,
}

impl Parsed {
    /// Parse `body` once and validate it when the route takes JSON.
    pub(crate) fn new(route: &Route, body: &[u8]) -> Self {
        let mut out = Parsed::default();
        if body.is_empty() {
            if route.request_schema.is_some() {
                out.violations.push(violation(
                    "json",
                    "the body is empty; this route takes a JSON object".into(),
                ));
            }
            return out;
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(v) => {
                if let Some(schema) = route.request_schema {
                    out.violations = contract::validate(schema, &v)
                        .unwrap_or_else(|e| vec![violation("schema", e.to_string())]);
                    out.violations.iter_mut().for_each(mask_secret_values);
                }
                out.json = Some(v);
            }
            Err(e) if route.request_schema.is_some() => {
                out.violations
                    .push(violation("json", format!("malformed JSON: {e}")));
            }
            Err(_) => {}
        }
        out
    }

    /// The field's value when the body is an object with that member as a string.
    pub(crate) fn get(&self, field: Field) -> Option<&str> {
        self.json.as_ref()?.get(field.name())?.as_str()
    }
}

/// A violation's message quotes the offending value: masked when it sits
/// under a secret-named member, and any secret member inside it masked too
/// (the message reaches the state, the journal and strict mode's 400).
fn mask_secret_values(v: &mut Violation) {
    if v.path.split('/').any(contract::redact::is_secret_name) {
        v.message = format!(
            "the value at {} breaks the schema ({}); not shown: the field is secret",
            v.path, v.keyword
        );
    } else if let std::borrow::Cow::Owned(clean) = contract::redact::text(&v.message) {
        v.message = clean;
    }
}

fn violation(keyword: &str, message: String) -> Violation {
    Violation {
        path: String::new(),
        keyword: keyword.into(),
        message,
    }
}

/// A field the stub reads.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Field {
    OrgId,
    WorkspaceId,
    Runtime,
    Slug,
    Name,
    OwnerUserId,
}

impl Field {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Field::OrgId => "org_id",
            Field::WorkspaceId => "workspace_id",
            Field::Runtime => "runtime",
            Field::Slug => "slug",
            Field::Name => "name",
            Field::OwnerUserId => "owner_user_id",
        }
    }
}
