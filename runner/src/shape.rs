//! Shape differences against a contract schema, in the same notation as
//! [`contract::shape_diff`]: `- /a: missing (expected string)`,
//! `+ /b: extra (string)`, `~ /c: type changed from string to number`.
//! Used for schema failures of replays and by `replays drift`.

use contract::{json_type, ShapeChange, ShapeDifference, Violation};
use serde_json::Value;

/// Violations of `value` against the schema `name`, and the shape diff the
/// contract implies (missing required fields, retyped fields, undeclared
/// extra fields). Values are ignored by the diff.
pub fn contract_diff(
    name: contract::SchemaId,
    value: &Value,
) -> Result<(Vec<Violation>, Vec<ShapeDifference>), contract::ContractError> {
    let violations = contract::validate(name, value)?;
    let schema = contract::schema(name)?;
    let mut diffs = Vec::new();
    for v in &violations {
        match v.keyword.as_str() {
            "required" => diffs.push(ShapeDifference {
                path: v.path.clone(),
                change: ShapeChange::Missing {
                    expected: schema_type(schema, &v.path),
                },
            }),
            "type" => {
                let expected = schema_type(schema, &v.path);
                let actual = match pointer(value, &v.path).map_or("missing", json_type) {
                    // The shape notation does not tell integers from numbers
                    // unless the contract does.
                    "integer" if expected != "integer" => "number",
                    t => t,
                };
                diffs.push(ShapeDifference {
                    path: v.path.clone(),
                    change: ShapeChange::TypeChanged {
                        expected,
                        actual: actual.to_string(),
                    },
                });
            }
            _ => {}
        }
    }
    for path in contract::undeclared_fields(name, value)? {
        let actual = pointer(value, &path).map_or("value", json_type);
        diffs.push(ShapeDifference {
            path,
            change: ShapeChange::Extra {
                actual: actual.to_string(),
            },
        });
    }
    diffs.sort_by(|a, b| a.path.cmp(&b.path));
    diffs.dedup();
    Ok((violations, diffs))
}

fn segments(path: &str) -> Vec<String> {
    path.split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect()
}

fn pointer<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    if path.is_empty() {
        Some(value)
    } else {
        value.pointer(path)
    }
}

/// The JSON type a schema declares at a JSON Pointer (`value` when it says none).
fn schema_type(schema: &Value, path: &str) -> String {
    let mut cur = schema;
    for seg in segments(path) {
        let next = cur
            .get("properties")
            .and_then(|p| p.get(&seg))
            .or_else(|| cur.get("additionalProperties").filter(|a| a.is_object()))
            .or_else(|| cur.get("items").filter(|_| seg.parse::<usize>().is_ok()));
        match next {
            Some(n) => cur = n,
            None => return "value".to_string(),
        }
    }
    match cur.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join("|"),
        _ => "value".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn d3_provision_body_diff() {
        let (v, d) = contract_diff(
            contract::SchemaId::ProvisionResponse,
            &json!({"workspace_id": "w", "status": "ok", "phase": "x", "url": "u"}),
        )
        .unwrap();
        assert_eq!(v.len(), 2);
        let lines: Vec<String> = d.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            vec![
                "- /instance_id: missing (expected string)",
                "+ /phase: extra (string)",
                "- /state: missing (expected string)",
                "+ /status: extra (string)",
            ]
        );
    }

    #[test]
    fn d1_nested_config_diff() {
        let (_, d) = contract_diff(
            contract::SchemaId::TenantConfig,
            &json!({"A": "x", "runtimes": ["a"], "feature_flags": {"x": true}}),
        )
        .unwrap();
        let lines: Vec<String> = d.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            vec![
                "~ /feature_flags: type changed from string to object",
                "~ /runtimes: type changed from string to array",
            ]
        );
    }
}
