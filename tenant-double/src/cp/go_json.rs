//! Decoding as the real client's Go `encoding/json` does, for the two shapes
//! it decodes CP answers into: a struct of string fields (the provision 201,
//! `cpProvisionResponse`) and a flat `map[string]string` (the tenant config).
//!
//! The rules kept: unknown keys are ignored; `null` leaves the zero value;
//! keys match fields case-insensitively (an exact match first); the last of
//! duplicate keys wins; a value of another kind fails the whole decode with
//! Go's message, naming the first offending value in document order, e.g.
//! `json: cannot unmarshal number into Go struct field cpProvisionResponse.state of type string`.
//! Syntax errors carry Go's wording for the common cases (an empty body is
//! `unexpected end of JSON input`) and serde's position otherwise.

use std::collections::BTreeMap;

use serde_json::Value;

/// Go's name for the kind of a JSON value, as `UnmarshalTypeError` prints it.
fn go_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Parse `body` as JSON, with Go's message for a syntax error.
fn parse(body: &[u8]) -> Result<Value, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err("unexpected end of JSON input".into());
    }
    serde_json::from_slice(body).map_err(|e| {
        if e.is_eof() {
            "unexpected end of JSON input".to_string()
        } else {
            format!("invalid JSON: {e}")
        }
    })
}

/// A Go struct whose fields are all `string` (`json:"<name>"` tags).
#[derive(Debug, Clone, Copy)]
pub(crate) struct StringStruct {
    /// The Go type as `%T` names it at the top level (`provisioner.cpProvisionResponse`).
    pub(crate) qualified: &'static str,
    /// The struct's own name, as field errors name it (`cpProvisionResponse`).
    pub(crate) name: &'static str,
    /// The JSON names of its fields.
    pub(crate) fields: &'static [&'static str],
}

/// Decode `body` into `shape`: every field, the zero value (`""`) when absent.
pub(crate) fn decode_struct(
    body: &[u8],
    shape: StringStruct,
) -> Result<BTreeMap<&'static str, String>, String> {
    let value = parse(body)?;
    let mut out: BTreeMap<&'static str, String> =
        shape.fields.iter().map(|f| (*f, String::new())).collect();
    let map = match value {
        Value::Null => return Ok(out),
        Value::Object(map) => map,
        other => {
            return Err(format!(
                "json: cannot unmarshal {} into Go value of type {}",
                go_kind(&other),
                shape.qualified
            ))
        }
    };
    let mut first_error = None;
    for (key, v) in map {
        let field = shape
            .fields
            .iter()
            .find(|f| **f == key)
            .or_else(|| shape.fields.iter().find(|f| f.eq_ignore_ascii_case(&key)));
        let Some(field) = field else { continue };
        match v {
            Value::Null => {}
            Value::String(s) => {
                out.insert(field, s);
            }
            other => {
                first_error.get_or_insert_with(|| {
                    format!(
                        "json: cannot unmarshal {} into Go struct field {}.{} of type string",
                        go_kind(&other),
                        shape.name,
                        field
                    )
                });
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// Decode `body` as a `map[string]string` (`null` is an empty map). On a
/// value of another kind the error is Go's, for the first one; the second
/// part lists every offending key (the double's addition, incident D1).
pub(crate) fn decode_string_map(body: &[u8]) -> Result<BTreeMap<String, String>, String> {
    let map = match parse(body)? {
        Value::Null => return Ok(BTreeMap::new()),
        Value::Object(map) => map,
        other => {
            return Err(format!(
                "json: cannot unmarshal {} into Go value of type map[string]string",
                go_kind(&other)
            ))
        }
    };
    let mut out = BTreeMap::new();
    let mut bad = Vec::new();
    for (key, v) in map {
        match v {
            // Go leaves a null map value as "" and still sets the key.
            Value::Null => {
                out.insert(key, String::new());
            }
            Value::String(s) => {
                out.insert(key, s);
            }
            other => bad.push((key, go_kind(&other))),
        }
    }
    match bad.first() {
        None => Ok(out),
        Some((_, kind)) => {
            let paths: Vec<String> = bad
                .iter()
                .map(|(k, kind)| format!("/{k}: expected string, found {kind}"))
                .collect();
            Err(format!(
                "json: cannot unmarshal {kind} into Go value of type string ({})",
                paths.join("; ")
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHAPE: StringStruct = StringStruct {
        qualified: "provisioner.cpProvisionResponse",
        name: "cpProvisionResponse",
        fields: &["instance_id", "private_ip", "state", "error"],
    };

    #[test]
    fn a_struct_decodes_as_go_does() {
        let ok = decode_struct(
            br#"{"instance_id":"i","extra":[1],"STATE":"up","error":null}"#,
            SHAPE,
        )
        .unwrap();
        assert_eq!(ok["instance_id"], "i");
        assert_eq!(ok["state"], "up");
        assert_eq!(ok["error"], "");
        assert_eq!(ok["private_ip"], "");
        for (body, kind, field) in [
            (r#"{"instance_id":"x","state":7}"#, "number", "state"),
            (r#"{"private_ip":5}"#, "number", "private_ip"),
            (r#"{"state":true}"#, "bool", "state"),
            (r#"{"state":{"a":1},"error":[1]}"#, "object", "state"),
            (r#"{"instance_id":["a"]}"#, "array", "instance_id"),
        ] {
            assert_eq!(
                decode_struct(body.as_bytes(), SHAPE).unwrap_err(),
                format!("json: cannot unmarshal {kind} into Go struct field cpProvisionResponse.{field} of type string")
            );
        }
        assert_eq!(
            decode_struct(b"[1]", SHAPE).unwrap_err(),
            "json: cannot unmarshal array into Go value of type provisioner.cpProvisionResponse"
        );
        assert_eq!(
            decode_struct(b"", SHAPE).unwrap_err(),
            "unexpected end of JSON input"
        );
        assert!(decode_struct(b"null", SHAPE).unwrap()["instance_id"].is_empty());
    }

    #[test]
    fn a_string_map_decodes_as_go_does() {
        let err = decode_string_map(br#"{"A":"1","runtimes":["hermes"],"f":{"x":1}}"#).unwrap_err();
        assert!(
            err.starts_with("json: cannot unmarshal array into Go value of type string"),
            "{err}"
        );
        assert!(
            err.contains("/runtimes: expected string, found array"),
            "{err}"
        );
        assert!(err.contains("/f: expected string, found object"), "{err}");
        let err = decode_string_map(br#"{"f":{"x":1}}"#).unwrap_err();
        assert!(
            err.starts_with("json: cannot unmarshal object into Go value of type string"),
            "{err}"
        );
        assert_eq!(decode_string_map(br#"{"A":"1"}"#).unwrap()["A"], "1");
        assert!(decode_string_map(b"null").unwrap().is_empty());
        assert_eq!(
            decode_string_map(b"[]").unwrap_err(),
            "json: cannot unmarshal array into Go value of type map[string]string"
        );
    }
}
