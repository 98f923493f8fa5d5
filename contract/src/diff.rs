//! Structural shape diff of two JSON values: which fields are missing,
//! extra or of another type. Values are ignored.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::schema::{escape_pointer, json_type};

/// What differs at one path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ShapeChange {
    /// In the expected shape, absent from the actual one.
    Missing {
        /// JSON type expected there.
        expected: String,
    },
    /// In the actual shape, absent from the expected one.
    Extra {
        /// JSON type found there.
        actual: String,
    },
    /// Present in both with different JSON types.
    TypeChanged {
        /// JSON type expected.
        expected: String,
        /// JSON type found.
        actual: String,
    },
}

/// One shape difference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShapeDifference {
    /// JSON Pointer; array elements are written `/*`.
    pub path: String,
    /// What changed.
    #[serde(flatten)]
    pub change: ShapeChange,
}

impl fmt::Display for ShapeDifference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() {
            "/"
        } else {
            &self.path
        };
        match &self.change {
            ShapeChange::Missing { expected } => {
                write!(f, "- {path}: missing (expected {expected})")
            }
            ShapeChange::Extra { actual } => write!(f, "+ {path}: extra ({actual})"),
            ShapeChange::TypeChanged { expected, actual } => {
                write!(f, "~ {path}: type changed from {expected} to {actual}")
            }
        }
    }
}

/// Compare the shapes of `expected` and `actual`.
///
/// Objects are compared key by key; arrays by the merged shape of their
/// elements (every element of `actual` against the first of `expected`), so
/// an empty array matches any array. `integer` and `number` are the same
/// shape. The result is sorted by path.
pub fn shape_diff(expected: &Value, actual: &Value) -> Vec<ShapeDifference> {
    let mut out = Vec::new();
    walk(expected, actual, String::new(), &mut out);
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out.dedup();
    out
}

fn shape_type(v: &Value) -> &'static str {
    match json_type(v) {
        "integer" => "number",
        other => other,
    }
}

fn walk(expected: &Value, actual: &Value, path: String, out: &mut Vec<ShapeDifference>) {
    let (e, a) = (shape_type(expected), shape_type(actual));
    if e != a {
        out.push(ShapeDifference {
            path,
            change: ShapeChange::TypeChanged {
                expected: e.to_string(),
                actual: a.to_string(),
            },
        });
        return;
    }
    match (expected, actual) {
        (Value::Object(em), Value::Object(am)) => {
            for (k, ev) in em {
                let p = format!("{path}/{}", escape_pointer(k));
                match am.get(k) {
                    Some(av) => walk(ev, av, p, out),
                    None => out.push(ShapeDifference {
                        path: p,
                        change: ShapeChange::Missing {
                            expected: shape_type(ev).to_string(),
                        },
                    }),
                }
            }
            for (k, av) in am {
                if !em.contains_key(k) {
                    out.push(ShapeDifference {
                        path: format!("{path}/{}", escape_pointer(k)),
                        change: ShapeChange::Extra {
                            actual: shape_type(av).to_string(),
                        },
                    });
                }
            }
        }
        (Value::Array(ea), Value::Array(aa)) => {
            if let Some(first) = ea.first() {
                for item in aa {
                    walk(first, item, format!("{path}/*"), out);
                }
            }
        }
        _ => {}
    }
}

/// Render a list of differences, one per line.
pub fn render(diffs: &[ShapeDifference]) -> String {
    diffs.iter().map(|d| format!("{d}\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_are_ignored() {
        assert!(shape_diff(&json!({"a": 1, "b": "x"}), &json!({"b": "y", "a": 2.5})).is_empty());
    }

    #[test]
    fn reports_missing_extra_and_type_changes() {
        let d = shape_diff(
            &json!({"instance_id": "i", "state": "s", "n": {"x": 1}}),
            &json!({"workspace_id": "w", "state": 3, "n": {"x": "1"}}),
        );
        let lines: Vec<_> = d.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            vec![
                "- /instance_id: missing (expected string)",
                "~ /n/x: type changed from number to string",
                "~ /state: type changed from string to number",
                "+ /workspace_id: extra (string)",
            ]
        );
    }

    #[test]
    fn arrays_compare_element_shapes() {
        let d = shape_diff(
            &json!({"r": [{"a": 1}]}),
            &json!({"r": [{"a": 1}, {"a": "x"}]}),
        );
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].path, "/r/*/a");
        assert!(shape_diff(&json!([]), &json!([1, 2])).is_empty());
    }
}
