//! What a provision answer means to the real client: exactly 201 is a
//! success, its body decoded as Go decodes it into `cpProvisionResponse`
//! (a known field of another type fails the call; a missing `instance_id`
//! is an empty one); any other status fails with the real client's message
//! (incident D3), and only what `contract::Route::retries` names is retried.

use contract::RouteId;

use super::go_json::{decode_struct, StringStruct};

/// The real client's provision answer struct.
const PROVISION_RESPONSE: StringStruct = StringStruct {
    qualified: "provisioner.cpProvisionResponse",
    name: "cpProvisionResponse",
    fields: &["instance_id", "private_ip", "state", "error"],
};

/// What one provision answer means to the real client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    /// 201 that decoded; the instance id may be empty, as for the real client.
    Provisioned { instance_id: String, state: String },
    /// A failure the client retries (408, 429, 500–527, 409
    /// `provision_in_progress`, transport errors).
    Retry(String),
    /// A failure it does not retry.
    Fail(String),
}

/// Classify a provision answer as the real client does.
pub(crate) fn classify(status: u16, body: &[u8]) -> Answer {
    let decoded = decode_struct(body, PROVISION_RESPONSE);
    if RouteId::Provision.route().success.accepts(status) {
        return match decoded {
            Ok(mut fields) => Answer::Provisioned {
                instance_id: fields.remove("instance_id").unwrap_or_default(),
                state: fields.remove("state").unwrap_or_default(),
            },
            Err(e) => Answer::Fail(format!("cp provisioner: decode 201 response: {e}")),
        };
    }
    // Go keeps what it could decode; the `error` field is the one detail it
    // shows (never the body: it may echo secrets).
    let error = decoded
        .ok()
        .and_then(|mut f| f.remove("error"))
        .filter(|e| !e.is_empty());
    let detail = error
        .clone()
        .unwrap_or_else(|| format!("<unstructured body, {} bytes>", body.len()));
    let message = format!("cp provisioner: provision failed ({status}): {detail}");
    if RouteId::Provision.route().retries(status, error.as_deref()) {
        Answer::Retry(message)
    } else {
        Answer::Fail(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_201_succeeds_and_decodes_as_go() {
        assert_eq!(
            classify(
                201,
                br#"{"instance_id":"mol-ws-1","state":"running","extra":1}"#
            ),
            Answer::Provisioned {
                instance_id: "mol-ws-1".into(),
                state: "running".into()
            }
        );
        assert_eq!(
            classify(201, br#"{"state":"running"}"#),
            Answer::Provisioned {
                instance_id: String::new(),
                state: "running".into()
            }
        );
        assert_eq!(
            classify(201, br#"{"instance_id":"mol-ws-x","state":7}"#),
            Answer::Fail(
                "cp provisioner: decode 201 response: json: cannot unmarshal number into Go \
                 struct field cpProvisionResponse.state of type string"
                    .into()
            )
        );
        let old = br#"{"workspace_id":"w","status":"ok","phase":"done","url":"http://x"}"#;
        assert_eq!(
            classify(200, old),
            Answer::Fail(format!(
                "cp provisioner: provision failed (200): <unstructured body, {} bytes>",
                old.len()
            ))
        );
        assert_eq!(
            classify(503, br#"{"error":"busy"}"#),
            Answer::Retry("cp provisioner: provision failed (503): busy".into())
        );
        assert!(matches!(
            classify(409, br#"{"error":"provision_in_progress"}"#),
            Answer::Retry(_)
        ));
        assert!(matches!(
            classify(409, br#"{"error":"other"}"#),
            Answer::Fail(_)
        ));
        assert!(matches!(classify(409, b""), Answer::Fail(_)));
        assert!(matches!(classify(400, b"secret-token"), Answer::Fail(m) if !m.contains("secret")));
        assert!(matches!(classify(408, b""), Answer::Retry(_)));
        assert!(matches!(classify(429, b""), Answer::Retry(_)));
        assert!(matches!(classify(527, b""), Answer::Retry(_)));
        assert!(matches!(classify(528, b""), Answer::Fail(_)));
    }
}
