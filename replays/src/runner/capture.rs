//! `[step.capture]`: JSON path → variable for later steps.

use serde_json::Value;

use crate::format::jsonpath::JsonPath;
use crate::report::Check;

use super::request::Response;
use super::vars::Scope;

/// Capture every variable of a step; a path that resolves to nothing is a
/// failed check (later steps would otherwise run with a wrong value).
pub fn capture(
    captures: &std::collections::BTreeMap<String, toml::Spanned<String>>,
    resp: &Response,
    scope: &mut Scope<'_>,
) -> Vec<Check> {
    let mut checks = Vec::new();
    for (var, path) in captures {
        let label = format!("capture {var} = {}", path.get_ref());
        let Ok(jp) = JsonPath::parse(path.get_ref()) else {
            continue; // rejected by `check`
        };
        let Some(body) = &resp.json else {
            checks.push(Check::fail(
                label,
                "a JSON body",
                format!("not JSON: {}", resp.snippet(120)),
            ));
            continue;
        };
        match jp.resolve(body) {
            Some(v) => {
                let s = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                scope.capture(var, s);
            }
            None => checks.push(Check::fail(
                label,
                format!("a value at {}", path.get_ref()),
                "missing",
            )),
        }
    }
    checks
}
