//! Reference-only evidence: what a replay may read from the reference
//! tenant (tenant-double) but not from the real tenant, and how a replay
//! declares it.
//!
//! The real tenant (`workspace-server`) has no `/__/tenant/*` endpoints,
//! no `running` status (a workspace the CP provisioned stays
//! `provisioning`: its agent never registers with a stub CP) and no
//! `instance_id` or `error` in its workspace JSON. A step that needs any of
//! that names its tenant with `evidence = "${ALPHA_BASE}"`; one assertion
//! inside an otherwise public step says `evidence = true`. `replays check`
//! rejects what reads such things undeclared; at run time the declared
//! parts of a tenant without evidence are SKIP, not FAIL.

use std::collections::BTreeSet;

use super::jsonpath::JsonPath;
use super::model::{JsonExpect, Step};
use super::template;

/// Path prefix of the reference tenant's evidence endpoints.
pub(crate) const EVIDENCE_PREFIX: &str = "/__/tenant/";

/// The endpoint probed (`GET`) to learn whether a tenant has evidence: 404
/// is an opaque tenant.
pub(crate) const EVIDENCE_PROBE: &str = "/__/tenant/cp";

/// Fields of a tenant's successful answers that only the reference tenant
/// has (`error` is public in an error answer: `{"error": "not found"}`).
pub(crate) const REFERENCE_ONLY_FIELDS: &[&str] = &["instance_id", "error", "provision_runs"];

/// The variable a template is exactly: `${NAME}` → `NAME`.
pub(crate) fn whole_var(t: &str) -> Option<&str> {
    let name = t.strip_prefix("${")?.strip_suffix('}')?;
    template::valid_name(name).then_some(name)
}

/// The variable a URL template starts with: `${NAME}/path` → `NAME`.
pub(crate) fn leading_var(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("${")?;
    let name = &rest[..rest.find('}')?];
    template::valid_name(name).then_some(name)
}

/// The tenant base variable a URL starts with (one of
/// [`contract::seed_env::TENANT_BASES`]).
pub(crate) fn tenant_base(url: &str) -> Option<&str> {
    leading_var(url).filter(|v| contract::seed_env::TENANT_BASES.contains(v))
}

/// Whether a URL template reads an evidence endpoint.
pub(crate) fn reads_evidence(url: &str) -> bool {
    url.split('?')
        .next()
        .unwrap_or(url)
        .contains(EVIDENCE_PREFIX)
}

/// Why a path reads a field only the reference tenant answers, if it does.
/// `success_only`: the step accepts only 2xx answers (or sets no status),
/// so an `error` field is the workspace's, not an error answer's.
pub(crate) fn reference_only_field(path: &str, success_only: bool) -> Option<String> {
    let jp = JsonPath::parse(path).ok()?;
    let field = jp
        .keys()
        .find(|k| REFERENCE_ONLY_FIELDS.contains(k) && (*k != "error" || success_only))?;
    Some(format!(
        "reads `{field}`, which the real tenant's workspace JSON does not have"
    ))
}

/// Why a JSON assertion on a tenant's answer is reference-only, if it is:
/// a reference-only field, or a status the real tenant never reaches.
pub(crate) fn reference_only(j: &JsonExpect, success_only: bool) -> Option<String> {
    if let Some(why) = reference_only_field(j.path.get_ref(), success_only) {
        return Some(why);
    }
    let status = JsonPath::parse(j.path.get_ref())
        .ok()
        .is_some_and(|jp| jp.keys().last() == Some("status"));
    let is = |v: &Option<toml::Value>, s: &str| v.as_ref().and_then(toml::Value::as_str) == Some(s);
    if status && is(&j.equals, "running") {
        return Some("expects the status `running`, which the real tenant does not have (a provisioned workspace stays `provisioning`)".to_string());
    }
    if status && is(&j.not_equals, "provisioning") {
        return Some("waits for the status to leave `provisioning`, which a workspace the real tenant provisioned never does (its agent never registers with a stub CP)".to_string());
    }
    None
}

/// The variables a step needs to run: its request, expectations (their
/// `because` texts aside: those fall back to the text as written) and
/// capture paths.
pub(crate) fn step_vars(step: &Step) -> BTreeSet<String> {
    let mut texts: Vec<&str> = Vec::new();
    let mut values: Vec<&toml::Value> = Vec::new();
    if let Some(r) = &step.request {
        texts.push(r.url.get_ref());
        texts.extend(r.headers.values().map(|v| v.get_ref().as_str()));
        if let Some(b) = &r.body {
            texts.push(b.get_ref());
        }
        if let Some(j) = &r.json {
            values.push(j.get_ref());
        }
    }
    if let Some(e) = &step.evidence {
        texts.push(e.get_ref());
    }
    let e = &step.expect;
    texts.extend(e.body_contains.as_deref());
    for m in e.headers.values() {
        let m = m.get_ref();
        texts.extend(m.equals.as_deref());
        texts.extend(m.contains.as_deref());
    }
    for j in &e.json {
        let j = j.get_ref();
        texts.push(j.path.get_ref());
        values.extend(
            [&j.equals, &j.not_equals, &j.contains]
                .into_iter()
                .flatten(),
        );
    }
    for c in &e.counters {
        texts.extend(c.get_ref().org.as_deref());
    }
    texts.extend(step.capture.values().map(|p| p.get_ref().as_str()));
    let mut out = BTreeSet::new();
    while let Some(v) = values.pop() {
        match v {
            toml::Value::String(s) => texts.push(s),
            toml::Value::Array(a) => values.extend(a),
            toml::Value::Table(t) => values.extend(t.values()),
            _ => {}
        }
    }
    for t in texts {
        out.extend(template::refs(t).unwrap_or_default());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_of_urls_and_templates() {
        assert_eq!(whole_var("${BETA_BASE}"), Some("BETA_BASE"));
        assert_eq!(whole_var("${BETA_BASE}/x"), None);
        assert_eq!(whole_var("http://h"), None);
        assert_eq!(leading_var("${ALPHA_BASE}/workspaces"), Some("ALPHA_BASE"));
        assert_eq!(tenant_base("${ALPHA_BASE}/workspaces"), Some("ALPHA_BASE"));
        assert_eq!(tenant_base("${CP_STUB_BASE}/cp/x"), None);
        assert!(reads_evidence("${ALPHA_BASE}/__/tenant/cp"));
        assert!(!reads_evidence("${ALPHA_BASE}/w?next=/__/tenant/cp"));
    }

    #[test]
    fn reference_only_fields_and_statuses() {
        assert!(reference_only_field("$.instance_id", false).is_some());
        assert!(reference_only_field("/instance_id", false).is_some());
        assert!(reference_only_field("$.error", true).is_some());
        assert!(
            reference_only_field("$.error", false).is_none(),
            "an error answer's `error` is public"
        );
        assert!(reference_only_field("$.status", true).is_none());
        let j = |src: &str| -> JsonExpect { toml::from_str(src).unwrap() };
        assert!(reference_only(
            &j(r#"path = "$.status"
equals = "running""#),
            true
        )
        .is_some());
        assert!(reference_only(
            &j(r#"path = "$.status"
not_equals = "provisioning""#),
            true
        )
        .is_some());
        assert!(reference_only(
            &j(r#"path = "$.status"
equals = "provisioning""#),
            true
        )
        .is_none());
    }
}
