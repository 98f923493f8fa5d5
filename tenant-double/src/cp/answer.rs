//! What a provision answer means to the real client: exactly 201 with a
//! non-empty `instance_id` is a success; any other status fails with the
//! real client's message (incident D3), and only some are retried.

use contract::RouteId;
use serde_json::Value;

use super::http::body_detail;

/// What one provision answer means to the real client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    /// 201 with a non-empty `instance_id`.
    Provisioned { instance_id: String },
    /// A failure the client retries (408, 429, 500–527, transport errors).
    Retry(String),
    /// A failure it does not retry.
    Fail(String),
}

/// Classify a provision answer: exactly 201 with a non-empty `instance_id`
/// is a success; any other status fails with the real client's message
/// (incident D3); 408, 429 and 500–527 are retried.
pub(crate) fn classify(status: u16, body: &[u8]) -> Answer {
    let route = RouteId::Provision.route();
    if !route.success.accepts(status) {
        let message = format!(
            "cp provisioner: provision failed ({status}): {}",
            body_detail(body)
        );
        return if route.retried.contains(&status) {
            Answer::Retry(message)
        } else {
            Answer::Fail(message)
        };
    }
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return Answer::Fail(format!(
            "cp provisioner: provision failed (201): the response is not JSON \
             (<unstructured body, {} bytes>)",
            body.len()
        ));
    };
    match value.get("instance_id").and_then(Value::as_str) {
        Some(id) if !id.is_empty() => Answer::Provisioned {
            instance_id: id.to_string(),
        },
        _ => {
            let detail = match contract::validate(contract::SchemaId::ProvisionResponse, &value) {
                Ok(violations) => violations
                    .iter()
                    .filter(|v| v.path == "/instance_id" || v.path.is_empty())
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join("; "),
                Err(e) => e.to_string(),
            };
            let detail = if detail.is_empty() {
                "/instance_id: expected a non-empty string".to_string()
            } else {
                detail
            };
            Answer::Fail(format!(
                "cp provisioner: provision failed (201): the response has no instance_id ({detail})"
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_201_with_instance_id_succeeds() {
        assert_eq!(
            classify(201, br#"{"instance_id":"mol-ws-1","state":"running"}"#),
            Answer::Provisioned {
                instance_id: "mol-ws-1".into()
            }
        );
        let old = br#"{"workspace_id":"w","status":"ok","phase":"done","url":"http://x"}"#;
        assert_eq!(
            classify(200, old),
            Answer::Fail(format!(
                "cp provisioner: provision failed (200): <unstructured body, {} bytes>",
                old.len()
            ))
        );
        match classify(201, br#"{"state":"running"}"#) {
            Answer::Fail(m) => assert!(m.contains("no instance_id (/instance_id:"), "{m}"),
            other => panic!("{other:?}"),
        }
        match classify(201, br#"{"instance_id":"","state":"running"}"#) {
            Answer::Fail(m) => assert!(m.contains("no instance_id"), "{m}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            classify(503, br#"{"error":"busy"}"#),
            Answer::Retry("cp provisioner: provision failed (503): busy".into())
        );
        assert!(matches!(classify(400, b"secret-token"), Answer::Fail(m) if !m.contains("secret")));
        assert!(matches!(classify(408, b""), Answer::Retry(_)));
        assert!(matches!(classify(429, b""), Answer::Retry(_)));
        assert!(matches!(classify(527, b""), Answer::Retry(_)));
        assert!(matches!(classify(528, b""), Answer::Fail(_)));
    }
}
