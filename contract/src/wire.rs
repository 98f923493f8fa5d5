//! The real client's traffic in the shape of `fixtures/real-client/wire.json`:
//! one [`WireCall`] per request (method, path with the workspace id as
//! `{workspace_id}`, query keys, header names, body), values that do not
//! matter to the contract left out or redacted.
//!
//! Two uses: [`from_journal`] turns cp-stub's journal into this format, so the
//! fixture can be re-recorded whenever a newer real client is run against the
//! stub; and [`WireCall::shape_differences`] compares two calls by shape —
//! method, path, query keys, header names (less the noisy ones) and body keys,
//! values ignored — which is how the reference tenant is held to the real
//! client.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::admin::JournalEntry;
use crate::redact;
use crate::routes::RouteId;

/// What the path and body placeholders stand for.
pub const WORKSPACE_PLACEHOLDER: &str = "{workspace_id}";

/// Header names a shape comparison ignores: transport details that any HTTP
/// client sets its own way, and the runner's own request id.
pub const NOISY_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "user-agent",
    "accept",
    "accept-encoding",
    "accept-language",
    "connection",
    "x-replay-id",
];

/// Whether a (lower-case) header name is one a shape comparison ignores.
fn is_noisy(name: &str) -> bool {
    NOISY_HEADERS.contains(&name) || name.starts_with("accept")
}

/// A whole recording.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WireFile {
    /// Where the recording came from, in words.
    pub what: String,
    /// The tenant environment it was recorded with (values masked).
    #[serde(default)]
    pub tenant_env: BTreeMap<String, String>,
    /// The calls, in the order they arrived.
    pub calls: Vec<WireCall>,
}

/// One recorded call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WireCall {
    /// Which client function made it, when known.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub client_call: String,
    /// The contract route it called (`None`: no route serves it).
    pub route: Option<RouteId>,
    /// Request method.
    pub method: String,
    /// Request path, the workspace id replaced by [`WORKSPACE_PLACEHOLDER`].
    pub path: String,
    /// Query parameter names, in order of appearance.
    pub query_keys: Vec<String>,
    /// Header names, lower case, sorted, less [`NOISY_HEADERS`].
    pub headers: Vec<String>,
    /// Whether `X-Molecule-Org-Id` was sent.
    pub org_header_sent: bool,
    /// The JSON body (secrets redacted), `null` when there was none.
    pub body: Value,
    /// What the stub answered.
    pub stub_status: u16,
}

impl WireCall {
    /// Every way `self` differs from `expected` in shape, in words; empty
    /// when they have the same method, path, query keys, header names (less
    /// [`NOISY_HEADERS`]) and body keys at every depth.
    pub fn shape_differences(&self, expected: &WireCall) -> Vec<String> {
        let mut out = Vec::new();
        if self.method != expected.method {
            out.push(format!(
                "method {} (real client: {})",
                self.method, expected.method
            ));
        }
        if self.path != expected.path {
            out.push(format!(
                "path {} (real client: {})",
                self.path, expected.path
            ));
        }
        let keys = |c: &WireCall| c.query_keys.iter().cloned().collect::<BTreeSet<_>>();
        let (mine, theirs) = (keys(self), keys(expected));
        for k in theirs.difference(&mine) {
            out.push(format!(
                "query key `{k}` missing (the real client sends it)"
            ));
        }
        for k in mine.difference(&theirs) {
            out.push(format!(
                "query key `{k}` extra (the real client does not send it)"
            ));
        }
        let headers = |c: &WireCall| {
            c.headers
                .iter()
                .map(|h| h.to_ascii_lowercase())
                .filter(|h| !is_noisy(h))
                .collect::<BTreeSet<_>>()
        };
        let (mine, theirs) = (headers(self), headers(expected));
        for h in theirs.difference(&mine) {
            out.push(format!("header `{h}` missing (the real client sends it)"));
        }
        for h in mine.difference(&theirs) {
            out.push(format!(
                "header `{h}` extra (the real client does not send it)"
            ));
        }
        let (mine, theirs) = (body_keys(&self.body), body_keys(&expected.body));
        for k in theirs.difference(&mine) {
            out.push(format!("body key `{k}` missing (the real client sends it)"));
        }
        for k in mine.difference(&theirs) {
            out.push(format!(
                "body key `{k}` extra (the real client does not send it)"
            ));
        }
        out
    }
}

/// The JSON Pointers of every object key in `body` (`/env`, `/display/mode`).
/// The keys of string maps (`env`, `config_files`, `template_assets`) are
/// data, not shape: only the map itself counts.
fn body_keys(body: &Value) -> BTreeSet<String> {
    fn walk(value: &Value, at: &str, out: &mut BTreeSet<String>) {
        if let Value::Object(map) = value {
            for (k, v) in map {
                let path = format!("{at}/{k}");
                out.insert(path.clone());
                let string_map = matches!(v, Value::Object(m) if m.values().all(Value::is_string))
                    && matches!(k.as_str(), "env" | "config_files" | "template_assets");
                if !string_map {
                    walk(v, &path, out);
                }
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(body, "", &mut out);
    out
}

/// The journal's entries (oldest first) as a recording; `workspace_ids`
/// are replaced by [`WORKSPACE_PLACEHOLDER`] in paths and body values.
/// Entries no route served are kept with `route: None`; header names in
/// [`NOISY_HEADERS`] are left out, as in the fixture; secrets stay
/// redacted (the rule of [`crate::redact`] is applied again, so an export of
/// an old journal leaks nothing either).
pub fn from_journal(entries: &[JournalEntry], workspace_ids: &[&str], what: &str) -> WireFile {
    let calls = entries
        .iter()
        .map(|e| {
            let mut path = e.path.clone();
            for id in workspace_ids {
                path = path.replace(&format!("/{id}/"), &format!("/{WORKSPACE_PLACEHOLDER}/"));
                if let Some(stripped) = path.strip_suffix(&format!("/{id}")) {
                    path = format!("{stripped}/{WORKSPACE_PLACEHOLDER}");
                }
            }
            let query_keys = e
                .query
                .as_deref()
                .unwrap_or("")
                .split('&')
                .filter(|p| !p.is_empty())
                .map(|p| p.split_once('=').map_or(p, |(k, _)| k).to_string())
                .collect();
            let mut headers: Vec<String> = e
                .headers
                .keys()
                .map(|h| h.to_ascii_lowercase())
                .filter(|h| !is_noisy(h))
                .collect();
            headers.sort();
            headers.dedup();
            let org_header_sent = headers.iter().any(|h| h == "x-molecule-org-id");
            let mut body = e.body.clone().unwrap_or(Value::Null);
            redact::redact_json(&mut body);
            replace_ids(&mut body, workspace_ids);
            WireCall {
                client_call: String::new(),
                route: e.route,
                method: e.method.clone(),
                path,
                query_keys,
                headers,
                org_header_sent,
                body,
                stub_status: e.status,
            }
        })
        .collect();
    WireFile {
        what: what.to_string(),
        tenant_env: BTreeMap::new(),
        calls,
    }
}

fn replace_ids(value: &mut Value, ids: &[&str]) {
    match value {
        Value::String(s) if ids.contains(&s.as_str()) => *s = WORKSPACE_PLACEHOLDER.to_string(),
        Value::Object(map) => map.values_mut().for_each(|v| replace_ids(v, ids)),
        Value::Array(items) => items.iter_mut().for_each(|v| replace_ids(v, ids)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn wire() -> WireFile {
        let text = include_str!("../../fixtures/real-client/wire.json");
        serde_json::from_str(text).expect("wire.json parses as a WireFile")
    }

    #[test]
    fn the_fixture_parses_and_names_known_routes() {
        let w = wire();
        assert_eq!(w.calls.len(), 11);
        assert!(w.calls.iter().all(|c| c.route.is_some()));
        assert_eq!(w.calls[0].route, Some(RouteId::TenantsConfig));
        assert!(w.calls[0].org_header_sent);
        assert!(w.calls[1..].iter().all(|c| !c.org_header_sent));
    }

    #[test]
    fn a_call_has_no_shape_difference_with_itself_and_names_each_one() {
        let w = wire();
        for c in &w.calls {
            assert!(c.shape_differences(c).is_empty());
        }
        let real = &w.calls[4];
        let mut mine = real.clone();
        mine.body.as_object_mut().unwrap().remove("display");
        mine.body["env"] = json!({"OTHER": "x"});
        mine.headers.push("user-agent".into());
        mine.headers.retain(|h| h != "x-molecule-admin-token");
        mine.query_keys.push("extra".into());
        let diffs = mine.shape_differences(real);
        assert_eq!(
            diffs,
            vec![
                "query key `extra` extra (the real client does not send it)",
                "header `x-molecule-admin-token` missing (the real client sends it)",
                "body key `/display` missing (the real client sends it)",
                "body key `/display/height` missing (the real client sends it)",
                "body key `/display/mode` missing (the real client sends it)",
                "body key `/display/protocol` missing (the real client sends it)",
                "body key `/display/width` missing (the real client sends it)",
            ]
        );
    }

    #[test]
    fn a_journal_exports_in_the_fixture_format() {
        let entry: JournalEntry = serde_json::from_value(json!({
            "seq": 1, "at_ms": 0, "method": "DELETE", "path": "/cp/workspaces/ws-9",
            "query": "instance_id=mol-ws-ws-9&prune=true", "route": "stop", "org": "o",
            "status": 200, "duration_us": 1,
            "headers": {"authorization": "<redacted>", "X-Molecule-Admin-Token": "<redacted>",
                        "host": "127.0.0.1:1", "accept": "*/*", "user-agent": "Go-http-client/1.1"},
            "body": {"workspace_id": "ws-9", "env": {"ADMIN_TOKEN": "t0ps3cret"}},
            "response": null, "violations": [], "fault": null
        }))
        .unwrap();
        let w = from_journal(&[entry], &["ws-9"], "test");
        let c = &w.calls[0];
        assert_eq!(c.route, Some(RouteId::Stop));
        assert_eq!(c.path, "/cp/workspaces/{workspace_id}");
        assert_eq!(c.query_keys, vec!["instance_id", "prune"]);
        assert_eq!(c.headers, vec!["authorization", "x-molecule-admin-token"]);
        assert_eq!(c.body["workspace_id"], WORKSPACE_PLACEHOLDER);
        assert_eq!(c.body["env"]["ADMIN_TOKEN"], redact::REDACTED);
        let text = serde_json::to_string(&w).unwrap();
        assert!(!text.contains("t0ps3cret"));
        let back: WireFile = serde_json::from_str(&text).unwrap();
        assert_eq!(&back, &w);
    }
}
