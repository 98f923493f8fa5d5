//! The embedded JSON Schemas and validation against them.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::json::SerdeJson;
use jsonschema::Validator;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ContractError;

/// Every schema of the contract, by name. Strings are parsed into it at the
/// edges (a replay's `expect.schema`) with [`str::parse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SchemaId {
    /// `contract/schemas/provision_request.json`.
    ProvisionRequest,
    /// `contract/schemas/provision_response.json`.
    ProvisionResponse,
    /// `contract/schemas/tenant_config.json`.
    TenantConfig,
    /// `contract/schemas/stop_response.json`.
    StopResponse,
    /// `contract/schemas/status_response.json`.
    StatusResponse,
    /// `contract/schemas/console_response.json`.
    ConsoleResponse,
    /// `contract/schemas/ensure_image_request.json`.
    EnsureImageRequest,
    /// `contract/schemas/ensure_image_response.json`.
    EnsureImageResponse,
    /// `contract/schemas/create_org_request.json`.
    CreateOrgRequest,
    /// `contract/schemas/create_org_response.json`.
    CreateOrgResponse,
    /// `contract/schemas/create_org_error.json`.
    CreateOrgError,
    /// `contract/schemas/auth_me_response.json`.
    AuthMeResponse,
    /// `contract/schemas/redeploy_fleet_response.json`.
    RedeployFleetResponse,
    /// `contract/schemas/error.json`.
    Error,
}

impl SchemaId {
    /// Every schema, in file order.
    pub const ALL: [SchemaId; 14] = [
        SchemaId::ProvisionRequest,
        SchemaId::ProvisionResponse,
        SchemaId::TenantConfig,
        SchemaId::StopResponse,
        SchemaId::StatusResponse,
        SchemaId::ConsoleResponse,
        SchemaId::EnsureImageRequest,
        SchemaId::EnsureImageResponse,
        SchemaId::CreateOrgRequest,
        SchemaId::CreateOrgResponse,
        SchemaId::CreateOrgError,
        SchemaId::AuthMeResponse,
        SchemaId::RedeployFleetResponse,
        SchemaId::Error,
    ];

    /// The schema's name (its file name under `contract/schemas/`).
    pub const fn as_str(self) -> &'static str {
        match self {
            SchemaId::ProvisionRequest => "provision_request",
            SchemaId::ProvisionResponse => "provision_response",
            SchemaId::TenantConfig => "tenant_config",
            SchemaId::StopResponse => "stop_response",
            SchemaId::StatusResponse => "status_response",
            SchemaId::ConsoleResponse => "console_response",
            SchemaId::EnsureImageRequest => "ensure_image_request",
            SchemaId::EnsureImageResponse => "ensure_image_response",
            SchemaId::CreateOrgRequest => "create_org_request",
            SchemaId::CreateOrgResponse => "create_org_response",
            SchemaId::CreateOrgError => "create_org_error",
            SchemaId::AuthMeResponse => "auth_me_response",
            SchemaId::RedeployFleetResponse => "redeploy_fleet_response",
            SchemaId::Error => "error",
        }
    }

    /// The schema document's text, as checked in.
    pub const fn source(self) -> &'static str {
        match self {
            SchemaId::ProvisionRequest => include_str!("../schemas/provision_request.json"),
            SchemaId::ProvisionResponse => include_str!("../schemas/provision_response.json"),
            SchemaId::TenantConfig => include_str!("../schemas/tenant_config.json"),
            SchemaId::StopResponse => include_str!("../schemas/stop_response.json"),
            SchemaId::StatusResponse => include_str!("../schemas/status_response.json"),
            SchemaId::ConsoleResponse => include_str!("../schemas/console_response.json"),
            SchemaId::EnsureImageRequest => include_str!("../schemas/ensure_image_request.json"),
            SchemaId::EnsureImageResponse => include_str!("../schemas/ensure_image_response.json"),
            SchemaId::CreateOrgRequest => include_str!("../schemas/create_org_request.json"),
            SchemaId::CreateOrgResponse => include_str!("../schemas/create_org_response.json"),
            SchemaId::CreateOrgError => include_str!("../schemas/create_org_error.json"),
            SchemaId::AuthMeResponse => include_str!("../schemas/auth_me_response.json"),
            SchemaId::RedeployFleetResponse => {
                include_str!("../schemas/redeploy_fleet_response.json")
            }
            SchemaId::Error => include_str!("../schemas/error.json"),
        }
    }
}

impl fmt::Display for SchemaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SchemaId {
    type Err = ContractError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SchemaId::ALL
            .into_iter()
            .find(|id| id.as_str() == s)
            .ok_or_else(|| ContractError::UnknownSchema(s.to_string()))
    }
}

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

/// The parsed schema documents, in [`SchemaId::ALL`] order, then the
/// validators compiled from them on first use.
fn documents() -> Result<&'static [Value], ContractError> {
    static DOCUMENTS: OnceLock<Result<Vec<Value>, ContractError>> = OnceLock::new();
    DOCUMENTS
        .get_or_init(|| {
            SchemaId::ALL
                .iter()
                .map(|id| {
                    serde_json::from_str(id.source()).map_err(|e| ContractError::BadSchema {
                        name: id.as_str().to_string(),
                        reason: e.to_string(),
                    })
                })
                .collect()
        })
        .as_deref()
        .map_err(Clone::clone)
}

type Validators = Vec<Validator<SerdeJson>>;

fn compile() -> Result<Validators, ContractError> {
    documents()?
        .iter()
        .zip(SchemaId::ALL)
        .map(|(doc, id)| {
            jsonschema::options_for::<SerdeJson>()
                .build(doc)
                .map_err(|e| ContractError::BadSchema {
                    name: id.as_str().to_string(),
                    reason: e.to_string(),
                })
        })
        .collect()
}

fn validators() -> Result<&'static Validators, ContractError> {
    static VALIDATORS: OnceLock<Result<Validators, ContractError>> = OnceLock::new();
    VALIDATORS
        .get_or_init(compile)
        .as_ref()
        .map_err(Clone::clone)
}

/// The parsed schema document `id`.
pub fn schema(id: SchemaId) -> Result<&'static Value, ContractError> {
    Ok(&documents()?[id as usize])
}

/// Check every schema parses and compiles; call at start-up to fail fast.
pub fn self_check() -> Result<(), ContractError> {
    validators().map(|_| ())
}

/// Validate `value` against the schema `id`.
///
/// Returns every violation (not just the first), each with its JSON path.
/// `Err` only for a broken embedded schema.
pub fn validate(id: SchemaId, value: &Value) -> Result<Vec<Violation>, ContractError> {
    let validator = &validators()?[id as usize];
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

/// JSON Pointers to fields of `value` that the schema `name` does not
/// declare (values the client ignores). Useful to spot drift early: a field
/// the real CP started sending, or one the stub invented.
pub fn undeclared_fields(id: SchemaId, value: &Value) -> Result<Vec<String>, ContractError> {
    let schema = schema(id)?;
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
        for id in SchemaId::ALL {
            assert_eq!(id.as_str().parse::<SchemaId>(), Ok(id));
            assert_eq!(schema(id).unwrap()["$id"], id.as_str());
        }
    }

    #[test]
    fn nested_tenant_config_is_rejected_with_paths() {
        let v = validate(
            SchemaId::TenantConfig,
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
            SchemaId::ProvisionResponse,
            &json!({"workspace_id": "w", "status": "ok"}),
        )
        .unwrap();
        let paths: Vec<_> = v.iter().map(|v| v.path.as_str()).collect();
        assert_eq!(paths, vec!["/instance_id", "/state"]);
        assert_eq!(v[0].keyword, "required");
        assert!(validate(
            SchemaId::ProvisionResponse,
            &json!({"instance_id": "", "state": "running"})
        )
        .unwrap()
        .iter()
        .any(|v| v.path == "/instance_id" && v.keyword == "minLength"));
    }

    #[test]
    fn unknown_schema_is_an_error() {
        assert_eq!(
            "nope".parse::<SchemaId>(),
            Err(ContractError::UnknownSchema("nope".into()))
        );
    }

    #[test]
    fn undeclared_fields_are_listed() {
        let extra = undeclared_fields(
            SchemaId::ProvisionResponse,
            &json!({"instance_id": "i", "state": "s", "phase": "x"}),
        )
        .unwrap();
        assert_eq!(extra, vec!["/phase"]);
        assert!(
            undeclared_fields(SchemaId::TenantConfig, &json!({"ANY": "x"}))
                .unwrap()
                .is_empty()
        );
    }
}
