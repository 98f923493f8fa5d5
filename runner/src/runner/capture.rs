//! `[step.capture]`: JSON path → variable for later steps.

use crate::format::jsonpath::JsonPath;
use crate::report::Check;

use super::request::Response;
use super::vars::Scope;

/// Capture every variable of a step; a path that resolves to nothing is a
/// failed check (later steps would otherwise run with a wrong value).
pub(crate) fn capture(
    captures: &std::collections::BTreeMap<String, toml::Spanned<String>>,
    resp: &Response,
    scope: &mut Scope<'_>,
) -> Vec<Check> {
    let mut checks = Vec::new();
    for (var, path) in captures {
        let raw = match scope.expand(path.get_ref()) {
            Ok(p) => p,
            Err(e) => {
                checks.push(Check::fail(
                    format!("capture {var}"),
                    "a JSON path",
                    e.to_string(),
                ));
                continue;
            }
        };
        let label = format!("capture {var} = {raw}");
        let jp = match JsonPath::parse(&raw) {
            Ok(jp) => jp,
            Err(e) => {
                checks.push(Check::fail(label, "a valid JSON path", e));
                continue;
            }
        };
        let Some(body) = &resp.json else {
            checks.push(Check::fail(
                label,
                "a JSON body",
                format!("not JSON: {}", resp.snippet(120, &scope.secrets())),
            ));
            continue;
        };
        match jp.resolve(body) {
            Some(v) => scope.capture(var, v),
            None => checks.push(Check::fail(
                label,
                format!("a value at {}", path.get_ref()),
                "missing",
            )),
        }
    }
    checks
}
