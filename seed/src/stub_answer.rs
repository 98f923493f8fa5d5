//! The stub's own answer to a workspace's provision, read from its journal
//! (incident D3). The real client takes a 201 without `instance_id` as a
//! success with an empty instance id, so the tenant cannot be relied on to
//! fail the workspace: seed asks the stub what it answered.

use contract::admin::{JournalPage, ADMIN_PREFIX};
use contract::{RouteId, SchemaId};
use serde_json::Value;

use crate::error::SeedError;
use crate::http::{excerpt, Http};

/// The instance-id prefix the stub (and the CP) serve (incident D10).
const INSTANCE_PREFIX: &str = "mol-ws-";

/// What is wrong with a journaled provision answer, if anything: the
/// contract's `provision_response` violations, and a missing `mol-ws-` id.
fn answer_problems(answer: Option<&Value>) -> Vec<String> {
    let Some(answer) = answer else {
        return vec!["no JSON body".into()];
    };
    let mut problems: Vec<String> = match contract::validate(SchemaId::ProvisionResponse, answer) {
        Ok(violations) => violations.iter().map(|v| v.to_string()).collect(),
        Err(e) => vec![e.to_string()],
    };
    let id = answer
        .get("instance_id")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !id.starts_with(INSTANCE_PREFIX) || id.len() == INSTANCE_PREFIX.len() {
        problems.push(format!(
            "/instance_id: expected a non-empty `{INSTANCE_PREFIX}…` id, found {}",
            answer
                .get("instance_id")
                .map_or_else(|| "none".to_string(), |v| v.to_string())
        ));
    }
    problems
}

/// Check the stub's 201 answers to `ws_id`'s provision calls since
/// `since_seq`: `Err` naming D3 and the answer when the last one lacks a
/// usable instance id; `Ok(false)` when the journal holds no 201 for it or
/// cannot be read (the caller keeps its own diagnosis); `Ok(true)` when the
/// stub served a good id.
pub(crate) async fn check_provision_answer(
    http: &Http,
    stub: &str,
    since_seq: u64,
    tenant: &str,
    name: &str,
    ws_id: &str,
) -> Result<bool, SeedError> {
    let url = format!(
        "{stub}{ADMIN_PREFIX}/requests?route={}&since_seq={since_seq}",
        RouteId::Provision
    );
    let Ok((200, text)) = http.send(http.client.get(&url)).await else {
        return Ok(false);
    };
    let Ok(page) = serde_json::from_str::<JournalPage>(&text) else {
        return Ok(false);
    };
    let accepted = |s: u16| contract::route(RouteId::Provision).success.accepts(s);
    let Some(entry) = page.entries.iter().rev().find(|e| {
        accepted(e.status)
            && e.body
                .as_ref()
                .and_then(|b| b.get("workspace_id"))
                .and_then(Value::as_str)
                == Some(ws_id)
    }) else {
        return Ok(false);
    };
    let problems = answer_problems(entry.response.as_ref());
    if problems.is_empty() {
        return Ok(true);
    }
    let answer = entry
        .response
        .as_ref()
        .map_or_else(|| "no body".to_string(), |v| excerpt(&v.to_string()));
    Err(SeedError::ProvisionAnswer {
        tenant: tenant.into(),
        name: name.into(),
        id: ws_id.into(),
        status: entry.status,
        answer,
        problems: problems.join("; "),
        stub: stub.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_201_needs_a_mol_ws_instance_id() {
        assert!(answer_problems(Some(
            &json!({"instance_id": "mol-ws-1", "state": "running"})
        ))
        .is_empty());
        let p = answer_problems(Some(&json!({"state": "running"})));
        assert!(p.iter().any(|p| p.contains("mol-ws-")), "{p:?}");
        assert!(
            !answer_problems(Some(&json!({"instance_id": "i-123", "state": "running"}))).is_empty()
        );
        assert!(!answer_problems(None).is_empty());
    }
}
