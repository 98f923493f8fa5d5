//! Reading the stub's journal (`GET /__/stub/requests`): what seed decides
//! by, since an opaque tenant (the real one) shows nothing of its CP calls.

use contract::admin::{JournalEntry, JournalPage, ADMIN_PREFIX};
use serde_json::Value;

use crate::error::SeedError;
use crate::http::{excerpt, Http};

/// One journal page for `query` (`route=…&org=…&since_seq=…`).
pub(crate) async fn page(http: &Http, stub: &str, query: &str) -> Result<JournalPage, SeedError> {
    let url = format!("{stub}{ADMIN_PREFIX}/requests?{query}");
    let (status, text) =
        http.send(http.client.get(&url))
            .await
            .map_err(|reason| SeedError::Stub {
                url: url.clone(),
                reason: format!("request failed: {reason}"),
            })?;
    if status != 200 {
        return Err(SeedError::Stub {
            url,
            reason: format!("answered {status}: {}", excerpt(&text)),
        });
    }
    serde_json::from_str(&text).map_err(|e| SeedError::Stub {
        url,
        reason: format!("the journal does not decode ({e}); is this a cp-stub of this repo?"),
    })
}

/// Whether `entry` is about workspace `id`: its body's `workspace_id`, or
/// the id as a path segment (stop, status, console).
pub(crate) fn names_workspace(entry: &JournalEntry, id: &str) -> bool {
    entry
        .body
        .as_ref()
        .and_then(|b| b.get("workspace_id"))
        .and_then(Value::as_str)
        == Some(id)
        || entry.path.split('/').any(|segment| segment == id)
}

/// A value (an org id) as a query-string value.
pub(crate) fn percent(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(path: &str, body: Option<Value>) -> JournalEntry {
        JournalEntry {
            path: path.into(),
            body,
            ..serde_json::from_value(json!({
                "seq": 1, "at_ms": 0, "method": "GET", "path": "/", "status": 200,
                "duration_us": 0, "headers": {}, "auth": [], "violations": []
            }))
            .unwrap()
        }
    }

    #[test]
    fn a_workspace_is_named_by_body_or_path_segment() {
        let w = "ws-1";
        assert!(names_workspace(
            &entry("/cp/workspaces/provision", Some(json!({"workspace_id": w}))),
            w
        ));
        assert!(names_workspace(
            &entry("/cp/workspaces/ws-1/status", None),
            w
        ));
        assert!(!names_workspace(
            &entry("/cp/workspaces/ws-10/status", None),
            w
        ));
        assert!(!names_workspace(
            &entry(
                "/cp/workspaces/provision",
                Some(json!({"workspace_id": "ws-2"}))
            ),
            w
        ));
    }
}
