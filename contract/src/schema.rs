//! The embedded JSON Schemas and validation against them.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::json::SerdeJson;
use jsonschema::Validator;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::borrowed::{Borrowed, Doc};
use crate::ContractError;

/// Every schema, by name, as checked in under `contract/schemas/`.
pub const SCHEMA_SOURCES: &[(&str, &str)] = &[
    (
        "provision_request",
        include_str!("../schemas/provision_request.json"),
    ),
    (
        "provision_response",
        include_str!("../schemas/provision_response.json"),
    ),
    (
        "tenant_config",
        include_str!("../schemas/tenant_config.json"),
    ),
    (
        "stop_response",
        include_str!("../schemas/stop_response.json"),
    ),
    (
        "status_response",
        include_str!("../schemas/status_response.json"),
    ),
    (
        "console_response",
        include_str!("../schemas/console_response.json"),
    ),
    (
        "ensure_image_request",
        include_str!("../schemas/ensure_image_request.json"),
    ),
    (
        "ensure_image_response",
        include_str!("../schemas/ensure_image_response.json"),
    ),
    (
        "create_org_request",
        include_str!("../schemas/create_org_request.json"),
    ),
    (
        "create_org_response",
        include_str!("../schemas/create_org_response.json"),
    ),
    (
        "create_org_error",
        include_str!("../schemas/create_org_error.json"),
    ),
    (
        "auth_me_response",
        include_str!("../schemas/auth_me_response.json"),
    ),
    (
        "redeploy_fleet_response",
        include_str!("../schemas/redeploy_fleet_response.json"),
    ),
    ("error", include_str!("../schemas/error.json")),
];

/// One way a JSON value breaks a schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    /// JSON Pointer to the offending value (`""` is the document root). For a
    /// missing required field it points at the field that should be there.
    pub path: String,
    /// The schema keyword that failed (`required`, `type`, `minLength`, ...).
    pub keyword: String,
    /// What is wrong, in words.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() {
            "/"
        } else {
            &self.path
        };
        write!(f, "{path}: {}", self.message)
    }
}

/// The parsed schema documents, then the validators compiled from them on
/// first use (two sets: for `serde_json::Value`s and for borrowed
/// documents; a server that only sees valid requests never builds the
/// first).
fn documents() -> Result<&'static BTreeMap<&'static str, Value>, ContractError> {
    static DOCUMENTS: OnceLock<Result<BTreeMap<&'static str, Value>, ContractError>> =
        OnceLock::new();
    DOCUMENTS
        .get_or_init(|| {
            SCHEMA_SOURCES
                .iter()
                .map(|(name, source)| {
                    serde_json::from_str(source)
                        .map(|doc| (*name, doc))
                        .map_err(|e| ContractError::BadSchema {
                            name: (*name).to_string(),
                            reason: e.to_string(),
                        })
                })
                .collect()
        })
        .as_ref()
        .map_err(Clone::clone)
}

type Validators<F> = BTreeMap<&'static str, Validator<F>>;

fn compile<F: jsonschema::json::Json>() -> Result<Validators<F>, ContractError> {
    documents()?
        .iter()
        .map(|(name, doc)| {
            jsonschema::options_for::<F>()
                .build(doc)
                .map(|v| (*name, v))
                .map_err(|e| ContractError::BadSchema {
                    name: (*name).to_string(),
                    reason: e.to_string(),
                })
        })
        .collect()
}

fn validators() -> Result<&'static Validators<SerdeJson>, ContractError> {
    static VALIDATORS: OnceLock<Result<Validators<SerdeJson>, ContractError>> = OnceLock::new();
    VALIDATORS
        .get_or_init(compile::<SerdeJson>)
        .as_ref()
        .map_err(Clone::clone)
}

fn borrowed_validators() -> Result<&'static Validators<Borrowed>, ContractError> {
    static VALIDATORS: OnceLock<Result<Validators<Borrowed>, ContractError>> = OnceLock::new();
    VALIDATORS
        .get_or_init(compile::<Borrowed>)
        .as_ref()
        .map_err(Clone::clone)
}

fn lookup<'a, F: jsonschema::json::Json>(
    validators: &'a Validators<F>,
    name: &str,
) -> Result<&'a Validator<F>, ContractError> {
    validators
        .get(name)
        .ok_or_else(|| ContractError::UnknownSchema(name.to_string()))
}

/// Names of every schema in the contract.
pub fn schema_names() -> impl Iterator<Item = &'static str> {
    SCHEMA_SOURCES.iter().map(|(name, _)| *name)
}

/// The parsed schema document called `name`.
pub fn schema(name: &str) -> Result<&'static Value, ContractError> {
    documents()?
        .get(name)
        .ok_or_else(|| ContractError::UnknownSchema(name.to_string()))
}

/// Check every schema parses and compiles; call at start-up to fail fast.
pub fn self_check() -> Result<(), ContractError> {
    validators()?;
    borrowed_validators().map(|_| ())
}

/// Validate `value` against the schema called `name`.
///
/// Returns every violation (not just the first), each with its JSON path.
/// `Err` only for an unknown schema name or a broken embedded schema.
pub fn validate(name: &str, value: &Value) -> Result<Vec<Violation>, ContractError> {
    let validator = lookup(validators()?, name)?;
    // Fast path: a valid document (the common case on a server's hot path)
    // needs no error collection.
    if validator.is_valid(value) {
        return Ok(Vec::new());
    }
    let mut out: Vec<Violation> = validator
        .iter_errors(value)
        .map(|err| {
            let base = err.instance_path().as_str().to_string();
            let keyword = err.kind().keyword().to_string();
            match err.kind() {
                ValidationErrorKind::Required { property } => {
                    let field = property
                        .as_str()
                        .map_or_else(|| property.to_string(), str::to_string);
                    Violation {
                        path: format!("{base}/{}", escape_pointer(&field)),
                        keyword,
                        message: format!("required field `{field}` is missing"),
                    }
                }
                ValidationErrorKind::Type {
                    kind: TypeKind::Single(expected),
                } => Violation {
                    path: base,
                    keyword,
                    message: format!("expected {expected}, found {}", json_type(err.instance())),
                },
                _ => Violation {
                    path: base,
                    keyword,
                    message: err.to_string(),
                },
            }
        })
        .collect();
    out.sort_by(|a, b| a.path.cmp(&b.path).then_with(|| a.message.cmp(&b.message)));
    out.dedup();
    Ok(out)
}

/// Whether `json` (the bytes of a document, e.g. a request body) is JSON
/// that the schema called `name` accepts — exactly
/// `serde_json::from_slice::<Value>(json)` succeeding and [`validate`]
/// finding nothing, without building a [`Value`].
///
/// This is the hot-path check of a server: a valid body costs a parse into
/// flat, borrowed storage and the schema check, and no per-field
/// allocation. On `false`, parse the body and call [`validate`] for the
/// violations (or the JSON error). [`JsonDoc`](crate::JsonDoc) does the same
/// on a document parsed once, and reads its fields too. `Err` only for an unknown schema name or
/// a broken embedded schema.
///
/// ```
/// let body = br#"{"slug":"acme","name":"Acme","owner_user_id":"u1"}"#;
/// assert!(contract::is_valid_json("create_org_request", body).unwrap());
/// assert!(!contract::is_valid_json("create_org_request", br#"{"slug":""}"#).unwrap());
/// assert!(!contract::is_valid_json("create_org_request", b"{not json").unwrap());
/// ```
pub fn is_valid_json(name: &str, json: &[u8]) -> Result<bool, ContractError> {
    match Doc::parse(json) {
        Some(doc) => is_valid_doc(name, &doc),
        None => {
            // Not JSON; the name must still be a schema.
            lookup(borrowed_validators()?, name)?;
            Ok(false)
        }
    }
}

pub(crate) fn is_valid_doc(name: &str, doc: &Doc<'_>) -> Result<bool, ContractError> {
    Ok(lookup(borrowed_validators()?, name)?.is_valid(doc.root()))
}

/// JSON Pointers to fields of `value` that the schema `name` does not
/// declare (values the client ignores). Useful to spot drift early: a field
/// the real CP started sending, or one the stub invented.
pub fn undeclared_fields(name: &str, value: &Value) -> Result<Vec<String>, ContractError> {
    let schema = schema(name)?;
    let mut out = Vec::new();
    walk_undeclared(schema, value, String::new(), &mut out);
    Ok(out)
}

fn walk_undeclared(schema: &Value, value: &Value, path: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            let props = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties");
            for (key, child) in map {
                let child_path = format!("{path}/{}", escape_pointer(key));
                if let Some(sub) = props.and_then(|p| p.get(key)) {
                    walk_undeclared(sub, child, child_path, out);
                } else if let Some(sub) = additional.filter(|a| a.is_object()) {
                    walk_undeclared(sub, child, child_path, out);
                } else if props.is_some() || additional == Some(&Value::Bool(false)) {
                    out.push(child_path);
                }
            }
        }
        Value::Array(items) => {
            if let Some(sub) = schema.get("items").filter(|s| s.is_object()) {
                for (i, child) in items.iter().enumerate() {
                    walk_undeclared(sub, child, format!("{path}/{i}"), out);
                }
            }
        }
        _ => {}
    }
}

/// The JSON type name of a value, as JSON Schema spells it.
pub fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

pub(crate) fn escape_pointer(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_schema_compiles() {
        self_check().unwrap();
        assert_eq!(schema_names().count(), SCHEMA_SOURCES.len());
    }

    #[test]
    fn nested_tenant_config_is_rejected_with_paths() {
        let v = validate(
            "tenant_config",
            &json!({"MOLECULE_CP_URL": "http://x", "runtimes": ["a"], "feature_flags": {"a": true}}),
        )
        .unwrap();
        let paths: Vec<_> = v.iter().map(|v| v.path.as_str()).collect();
        assert_eq!(paths, vec!["/feature_flags", "/runtimes"]);
        assert_eq!(v[0].message, "expected string, found object");
    }

    #[test]
    fn missing_required_points_at_the_field() {
        let v = validate(
            "provision_response",
            &json!({"workspace_id": "w", "status": "ok"}),
        )
        .unwrap();
        let paths: Vec<_> = v.iter().map(|v| v.path.as_str()).collect();
        assert_eq!(paths, vec!["/instance_id", "/state"]);
        assert_eq!(v[0].keyword, "required");
        assert!(validate(
            "provision_response",
            &json!({"instance_id": "", "state": "running"})
        )
        .unwrap()
        .iter()
        .any(|v| v.path == "/instance_id" && v.keyword == "minLength"));
    }

    #[test]
    fn unknown_schema_is_an_error() {
        assert!(matches!(
            validate("nope", &json!({})),
            Err(ContractError::UnknownSchema(_))
        ));
    }

    #[test]
    fn undeclared_fields_are_listed() {
        let extra = undeclared_fields(
            "provision_response",
            &json!({"instance_id": "i", "state": "s", "phase": "x"}),
        )
        .unwrap();
        assert_eq!(extra, vec!["/phase"]);
        assert!(undeclared_fields("tenant_config", &json!({"ANY": "x"}))
            .unwrap()
            .is_empty());
    }
}
