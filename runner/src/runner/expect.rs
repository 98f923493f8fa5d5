//! Evaluating a step's expectations against an answer.

use serde_json::Value;

use crate::format::jsonpath::JsonPath;
use crate::format::model::{Expect, HeaderMatch, JsonExpect};
use crate::format::template::Expand;
use crate::report::Check;
use crate::shape::contract_diff;

use super::mask::{self, Secrets};
use super::request::Response;
use super::vars::Scope;

/// Check status, headers, body text, schema and JSON paths.
pub(crate) fn check_response(
    e: &Expect,
    resp: &Response,
    scope: &Scope<'_>,
    skip_evidence: Option<&str>,
) -> Result<Vec<Check>, Expand> {
    let secrets = scope.secrets();
    let secrets = &secrets;
    let mut out = Vec::new();
    if let Some(st) = &e.status {
        let want = st.get_ref();
        let label = format!("status is {want}");
        if want.0.contains(&resp.status) {
            out.push(Check::pass(label));
        } else {
            out.push(
                Check::fail(label, want.to_string(), resp.status.to_string())
                    .with_details(vec![format!("body:     {}", resp.snippet(300, secrets))]),
            );
        }
    }
    for (name, m) in &e.headers {
        out.push(check_header(name, m.get_ref(), resp, scope)?);
    }
    if let Some(text) = &e.body_contains {
        let text = scope.expand(text)?;
        let label = format!("body contains {text:?}");
        if resp.text.contains(&text) {
            out.push(Check::pass(label));
        } else {
            out.push(Check::fail(
                label,
                format!("{text:?}"),
                resp.snippet(300, secrets),
            ));
        }
    }
    // An unknown schema name never gets here: `check` rejects the file.
    if let Some(Ok(schema)) = e.schema.as_ref().map(|s| &s.get_ref().parsed) {
        out.push(check_schema(*schema, resp, secrets));
    }
    for j in &e.json {
        let j = j.get_ref();
        if let Some(reason) = skip_evidence.filter(|_| j.evidence) {
            let path = scope
                .expand(j.path.get_ref())
                .unwrap_or_else(|_| j.path.get_ref().clone());
            out.push(Check::skipped(format!("{path} (reference-only)"), reason));
            continue;
        }
        let because = j.because.as_deref().map(|b| expand_because(b, scope));
        out.extend(
            check_json(j, resp, scope, secrets)?
                .into_iter()
                .map(|c| c.with_because(because.clone())),
        );
    }
    Ok(out)
}

/// A `because` text with its variables filled in (as written when one has no value).
pub(crate) fn expand_because(text: &str, scope: &Scope<'_>) -> String {
    scope.expand(text).unwrap_or_else(|_| text.to_string())
}

fn check_schema(name: contract::SchemaId, resp: &Response, secrets: &Secrets) -> Check {
    let label = format!("body matches contract schema {name}");
    let Some(body) = &resp.json else {
        return Check::fail(
            label,
            format!("a JSON body valid against {name}"),
            format!("not JSON: {}", resp.snippet(200, secrets)),
        );
    };
    match contract_diff(name, body) {
        Ok((violations, _)) if violations.is_empty() => Check::pass(label),
        Ok((violations, diffs)) => {
            let mut details = vec!["violations:".to_string()];
            details.extend(violations.iter().map(|v| format!("  {v}")));
            if !diffs.is_empty() {
                details.push("shape diff (contract → actual):".to_string());
                details.extend(diffs.iter().map(|d| format!("  {d}")));
            }
            details.push(format!("body:     {}", resp.snippet(300, secrets)));
            Check::fail(
                label,
                format!("a body valid against {name}"),
                format!(
                    "{} violation{}",
                    violations.len(),
                    if violations.len() == 1 { "" } else { "s" }
                ),
            )
            .with_details(details)
        }
        Err(err) => Check::fail(label, format!("schema {name}"), err.to_string()),
    }
}

fn check_header(
    name: &str,
    m: &HeaderMatch,
    resp: &Response,
    scope: &Scope<'_>,
) -> Result<Check, Expand> {
    let values = resp.header(name);
    let secret = contract::redact::is_secret_name(name);
    let actual = if values.is_empty() {
        "absent".to_string()
    } else if secret {
        contract::redact::REDACTED.to_string()
    } else {
        values.join(", ")
    };
    let lname = name.to_ascii_lowercase();
    // What a secret header is compared with is not shown either.
    let shown = |want: String| {
        if secret {
            contract::redact::REDACTED.to_string()
        } else {
            want
        }
    };
    if let Some(exists) = m.exists {
        let label = if exists {
            format!("header {lname} is present")
        } else {
            format!("header {lname} is absent")
        };
        if values.is_empty() == exists {
            return Ok(Check::fail(
                label,
                if exists { "present" } else { "absent" },
                actual,
            ));
        }
        if m.equals.is_none() && m.contains.is_none() && m.matches.is_none() {
            return Ok(Check::pass(label));
        }
    }
    if let Some(want) = &m.equals {
        let want = scope.expand(want)?;
        let ok = values.contains(&want.as_str());
        let want = shown(want);
        let label = format!("header {lname} = {want:?}");
        return Ok(if ok {
            Check::pass(label)
        } else {
            Check::fail(label, format!("{want:?}"), actual)
        });
    }
    if let Some(want) = &m.contains {
        let want = scope.expand(want)?;
        let ok = values.iter().any(|v| v.contains(&want));
        let want = shown(want);
        let label = format!("header {lname} contains {want:?}");
        return Ok(if ok {
            Check::pass(label)
        } else {
            Check::fail(label, format!("contains {want:?}"), actual)
        });
    }
    if let Some(re) = &m.matches {
        let label = format!("header {lname} matches /{re}/");
        let ok = regex::Regex::new(re).is_ok_and(|r| values.iter().any(|v| r.is_match(v)));
        return Ok(if ok {
            Check::pass(label)
        } else {
            Check::fail(label, format!("matches /{re}/"), actual)
        });
    }
    Ok(Check::pass(format!("header {lname}")))
}

/// Compact JSON for messages: redacted and its secret values masked, then
/// cut to 200 characters.
pub(crate) fn show(v: &Value, secrets: &Secrets) -> String {
    let text = mask::json(v).to_string();
    let s = secrets.mask(&text);
    if s.chars().count() > 200 {
        format!("{}…", s.chars().take(200).collect::<String>())
    } else {
        s.into_owned()
    }
}

/// JSON equality where numbers compare by value (`1 == 1.0`).
pub(crate) fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

fn type_matches(want: &str, v: &Value) -> bool {
    let got = contract::json_type(v);
    want == got || (want == "number" && got == "integer")
}

fn expected_value(v: &toml::Value, scope: &Scope<'_>) -> Result<Value, Expand> {
    scope.expand_json(&serde_json::to_value(v).unwrap_or(Value::Null))
}

fn check_json(
    j: &JsonExpect,
    resp: &Response,
    scope: &Scope<'_>,
    secrets: &Secrets,
) -> Result<Vec<Check>, Expand> {
    let expanded = scope.expand(j.path.get_ref())?;
    let path = &expanded;
    let mut out = Vec::new();
    let jp = match JsonPath::parse(path) {
        Ok(jp) => jp,
        Err(e) => {
            out.push(Check::fail(
                format!("{path} (JSON path)"),
                "a valid JSON path",
                e,
            ));
            return Ok(out);
        }
    };
    let found = resp.json.as_ref().and_then(|b| jp.resolve(b));
    let missing = || {
        if resp.json.is_some() {
            "missing".to_string()
        } else {
            format!("body is not JSON: {}", resp.snippet(120, secrets))
        }
    };
    // Under a secret key neither the value nor what it is compared with
    // is shown.
    let secret_path = jp.is_secret();
    let show = |v: &Value| {
        if secret_path {
            contract::redact::REDACTED.to_string()
        } else {
            show(v, secrets)
        }
    };
    if let Some(exists) = j.exists {
        let label = if exists {
            format!("{path} exists")
        } else {
            format!("{path} does not exist")
        };
        out.push(match (exists, found) {
            (true, Some(_)) | (false, None) => Check::pass(label),
            (true, None) => Check::fail(label, "present", missing()),
            (false, Some(v)) => Check::fail(label, "absent", show(v)),
        });
    }
    if let Some(want) = &j.equals {
        let want = expected_value(want, scope)?;
        let label = format!("{path} == {}", show(&want));
        out.push(match found {
            Some(v) if json_eq(v, &want) => Check::pass(label),
            Some(v) => Check::fail(label, show(&want), show(v)),
            None => Check::fail(label, show(&want), missing()),
        });
    }
    if let Some(want) = &j.not_equals {
        let want = expected_value(want, scope)?;
        let label = format!("{path} != {}", show(&want));
        out.push(match found {
            Some(v) if !json_eq(v, &want) => Check::pass(label),
            Some(v) => Check::fail(label, format!("anything but {}", show(&want)), show(v)),
            None => Check::fail(
                label,
                format!("a value other than {}", show(&want)),
                missing(),
            ),
        });
    }
    if let Some(t) = &j.ty {
        let t = t.get_ref();
        let label = format!("{path} is {t}");
        out.push(match found {
            Some(v) if type_matches(t, v) => Check::pass(label),
            Some(v) => Check::fail(
                label,
                t.clone(),
                format!("{} {}", contract::json_type(v), show(v)),
            ),
            None => Check::fail(label, t.clone(), missing()),
        });
    }
    if let Some(want) = &j.contains {
        let want = expected_value(want, scope)?;
        let label = format!("{path} contains {}", show(&want));
        let ok = match (found, &want) {
            (Some(Value::String(s)), Value::String(w)) => s.contains(w.as_str()),
            (Some(Value::Array(a)), w) => a.iter().any(|x| json_eq(x, w)),
            (Some(Value::Object(m)), Value::String(k)) => m.contains_key(k),
            _ => false,
        };
        out.push(if ok {
            Check::pass(label)
        } else {
            Check::fail(
                label,
                format!("contains {}", show(&want)),
                found.map_or_else(missing, show),
            )
        });
    }
    if let Some(re) = &j.matches {
        let re = re.get_ref();
        let label = format!("{path} matches /{re}/");
        let ok = match (found, regex::Regex::new(re)) {
            (Some(Value::String(s)), Ok(r)) => r.is_match(s),
            _ => false,
        };
        out.push(if ok {
            Check::pass(label)
        } else {
            Check::fail(
                label,
                format!("a string matching /{re}/"),
                found.map_or_else(missing, show),
            )
        });
    }
    if let Some(n) = j.length {
        let label = format!("{path} has length {n}");
        let len = match found {
            Some(Value::String(s)) => Some(s.chars().count()),
            Some(Value::Array(a)) => Some(a.len()),
            Some(Value::Object(m)) => Some(m.len()),
            _ => None,
        };
        out.push(match len {
            Some(l) if l as u64 == n => Check::pass(label),
            Some(l) => Check::fail(label, n.to_string(), l.to_string()),
            None => Check::fail(
                label,
                n.to_string(),
                found.map_or_else(missing, |v| format!("{} has no length", show(v))),
            ),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::parse_toml;
    use crate::runner::vars::{EnvFile, Resolver};

    fn resp(status: u16, body: &str) -> Response {
        let json: Option<Value> = serde_json::from_str(body).ok();
        Response {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            text: body.into(),
            shown: mask::body(body, json.as_ref()),
            json,
        }
    }

    fn expect_of(toml_src: &str) -> Expect {
        let src = format!("name = \"t\"\n[[step]]\nrequest.url = \"http://x/\"\n{toml_src}");
        let t = parse_toml(std::path::Path::new("t.toml"), &src).unwrap();
        t.doc.steps[0].get_ref().expect.clone()
    }

    #[test]
    fn status_schema_and_paths() {
        let r = Resolver::load(
            &EnvFile::Disabled,
            &[],
            [("WANT".to_string(), "running".to_string())].into(),
        )
        .unwrap();
        let scope = Scope::new(&r, Default::default());
        let e = expect_of(
            r#"
[step.expect]
status = 201
schema = "provision_response"
headers = { "Content-Type" = { contains = "json" } }
json = [
  { path = "$.instance_id", exists = true, type = "string", matches = "^mol-ws-" },
  { path = "$.state", equals = "${WANT}" },
  { path = "/tier", equals = 1.0, type = "number" },
  { path = "$.tags", contains = "b", length = 2 },
  { path = "$.nope", exists = false },
]
"#,
        );
        let ok = resp(
            201,
            r#"{"instance_id":"mol-ws-1","state":"running","tier":1,"tags":["a","b"]}"#,
        );
        let checks = check_response(&e, &ok, &scope, None).unwrap();
        assert!(checks.iter().all(|c| c.ok), "{checks:#?}");
        assert_eq!(checks.len(), 12);

        let bad = resp(
            200,
            r#"{"workspace_id":"w","status":"ok","state":"stopped","tier":"1","tags":[]}"#,
        );
        let checks = check_response(&e, &bad, &scope, None).unwrap();
        let failed: Vec<_> = checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| c.label.as_str())
            .collect();
        assert_eq!(
            failed,
            vec![
                "status is 201",
                "body matches contract schema provision_response",
                "$.instance_id exists",
                "$.instance_id is string",
                "$.instance_id matches /^mol-ws-/",
                "$.state == \"running\"",
                "/tier == 1.0",
                "/tier is number",
                "$.tags contains \"b\"",
                "$.tags has length 2",
            ]
        );
        let schema = checks
            .iter()
            .find(|c| c.label.starts_with("body matches"))
            .unwrap();
        assert!(
            schema
                .details
                .contains(&"  - /instance_id: missing (expected string)".to_string()),
            "{:?}",
            schema.details
        );
        assert!(schema
            .details
            .contains(&"  + /status: extra (string)".to_string()));
        let state = checks
            .iter()
            .find(|c| c.label.starts_with("$.state"))
            .unwrap();
        assert_eq!(state.expected.as_deref(), Some("\"running\""));
        assert_eq!(state.actual.as_deref(), Some("\"stopped\""));
    }

    #[test]
    fn numbers_compare_by_value() {
        assert!(json_eq(&serde_json::json!(1), &serde_json::json!(1.0)));
        assert!(!json_eq(&serde_json::json!("1"), &serde_json::json!(1)));
    }
}
