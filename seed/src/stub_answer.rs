//! The stub's own answer to a workspace's provision, read from its journal
//! (incidents D3, D10). The real client takes a 201 without `instance_id`
//! as a success with an empty instance id, and an opaque tenant shows no
//! instance id at all: seed asks the stub what it answered.

use contract::admin::JournalEntry;
use contract::SchemaId;
use serde_json::Value;

use crate::error::SeedError;
use crate::http::excerpt;

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

/// What the stub's 201 to a workspace's provision gave: its instance id,
/// or the D3 / D10 error naming the answer and what is wrong with it.
pub(crate) fn accepted_answer(
    entry: &JournalEntry,
    stub: &str,
    tenant: &str,
    name: &str,
    ws_id: &str,
) -> Result<String, SeedError> {
    let problems = answer_problems(entry.response.as_ref());
    if problems.is_empty() {
        return Ok(entry
            .response
            .as_ref()
            .and_then(|r| r.get("instance_id"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string());
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
