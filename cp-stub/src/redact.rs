//! Keeping secrets out of the journal and the log.
//!
//! Header values of [`contract::admin::REDACTED_HEADERS`] are replaced when a
//! request is recorded (they are never stored). In bodies, every string
//! value whose key ends in `SECRET`, `TOKEN`, `PASSWORD` or `KEY` (any case)
//! is replaced when a journal entry is rendered — the tenant config answer
//! carries `MOLECULE_CP_SHARED_SECRET`, for one.

use contract::admin::REDACTED;
use serde_json::Value;

/// Bodies that are not JSON are shown as text, cut to this many bytes.
pub(crate) const TEXT_BODY_SHOWN: usize = 4 * 1024;

const SECRET_SUFFIXES: &[&str] = &["secret", "token", "password", "key"];

/// Whether a JSON key names a secret.
pub(crate) fn is_secret_key(key: &str) -> bool {
    let len = key.len();
    SECRET_SUFFIXES.iter().any(|suffix| {
        len >= suffix.len()
            && key.is_char_boundary(len - suffix.len())
            && key[len - suffix.len()..].eq_ignore_ascii_case(suffix)
    })
}

/// Replace secret string values in place, at any depth.
pub(crate) fn redact_value(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if child.is_string() && is_secret_key(key) {
                    *child = Value::String(REDACTED.to_string());
                } else {
                    redact_value(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_value),
        _ => {}
    }
}

/// A query string with the values of secret-named parameters replaced
/// (`?access_token=...` never reaches the journal).
pub(crate) fn query(raw: &str) -> String {
    raw.split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if is_secret_key(&crate::app::percent_decode(k)) => {
                format!("{k}={REDACTED}")
            }
            _ => pair.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// A body as shown in the journal: redacted JSON when it parses, else text.
pub(crate) fn body_value(bytes: &[u8]) -> Value {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(mut v) => {
            redact_value(&mut v);
            v
        }
        Err(_) => {
            let shown = &bytes[..bytes.len().min(TEXT_BODY_SHOWN)];
            let mut text = String::from_utf8_lossy(shown).into_owned();
            if bytes.len() > TEXT_BODY_SHOWN {
                text.push_str(&format!("… ({} bytes, truncated)", bytes.len()));
            }
            Value::String(text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_keys_are_redacted_at_any_depth() {
        let mut v = json!({
            "MOLECULE_CP_SHARED_SECRET": "s1",
            "api_key": "k",
            "Password": "p",
            "keyring": "not a secret",
            "nested": {"ADMIN_TOKEN": "t", "list": [{"x_token": "y"}]},
            "count_key": 3
        });
        redact_value(&mut v);
        assert_eq!(v["MOLECULE_CP_SHARED_SECRET"], REDACTED);
        assert_eq!(v["api_key"], REDACTED);
        assert_eq!(v["Password"], REDACTED);
        assert_eq!(v["keyring"], "not a secret");
        assert_eq!(v["nested"]["ADMIN_TOKEN"], REDACTED);
        assert_eq!(v["nested"]["list"][0]["x_token"], REDACTED);
        assert_eq!(v["count_key"], 3);
    }

    #[test]
    fn text_bodies_are_cut() {
        let big = vec![b'a'; TEXT_BODY_SHOWN + 10];
        let Value::String(s) = body_value(&big) else {
            panic!("not text")
        };
        assert!(s.ends_with(&format!("({} bytes, truncated)", big.len())));
    }
}
