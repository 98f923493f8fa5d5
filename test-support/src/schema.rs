//! Contract shape checks.

use serde_json::Value;

/// Fails the test with every violation when `value` breaks schema `name`.
pub fn assert_valid(name: contract::SchemaId, value: &Value, what: &str) {
    let violations = contract::validate(name, value).expect("known schema");
    assert!(
        violations.is_empty(),
        "{what}: body breaks contract schema `{name}`: {violations:?}\nbody: {value}"
    );
}
