//! Reference-only evidence at run time (see [`crate::format::evidence`]):
//! whether a tenant has evidence, asked once per run, and what that makes
//! of a step — run it, skip it, skip its reference-only assertions, or (when
//! the run requires evidence) fail it.

use std::collections::BTreeMap;

use crate::format::evidence::{leading_var, whole_var, EVIDENCE_PROBE};
use crate::format::model::Step;

use super::ctx::Ctx;
use super::vars::Scope;

/// What `GET <base>/__/tenant/cp` said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TenantEvidence {
    /// 2xx: the reference tenant.
    Present,
    /// 404: an opaque tenant (the real one has no evidence endpoint).
    Absent,
    /// Anything else (unreachable, 5xx, 401): the steps run as written and
    /// their own checks say what is wrong. Not cached.
    Unknown,
}

/// Ask a tenant whether it has evidence.
pub(crate) async fn probe(ctx: &Ctx, base: &str) -> TenantEvidence {
    let url = format!("{}{EVIDENCE_PROBE}", base.trim_end_matches('/'));
    match ctx.client.get(&url).timeout(ctx.step_timeout).send().await {
        Ok(r) if r.status().is_success() => TenantEvidence::Present,
        Ok(r) if r.status() == reqwest::StatusCode::NOT_FOUND => TenantEvidence::Absent,
        _ => TenantEvidence::Unknown,
    }
}

/// What to do with one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Run it; `Some(reason)`: its `evidence = true` assertions are skipped.
    Run(Option<String>),
    /// Do not run it (SKIP, the replay goes on).
    Skip(String),
    /// The run requires evidence and the tenant has none: the step fails.
    Fail(String),
}

/// Why a tenant's reference-only parts are not checked.
fn no_evidence(var: &str, base: &str, what: &str) -> String {
    format!(
        "tenant {var}={base} has no evidence (GET {EVIDENCE_PROBE} answered 404: an opaque tenant); reference-only {what} skipped"
    )
}

/// The failure when the run requires evidence ([`Ctx::require_evidence`]).
fn required(var: &str, base: &str) -> String {
    format!(
        "tenant {var}={base} has no evidence (GET {EVIDENCE_PROBE} answered 404), but this run requires it (the reference tenant, tenant-double without --no-evidence): point {var} at a reference tenant, or run without --require-evidence to skip reference-only steps"
    )
}

/// Decide for a step: first the variables it needs that a skipped step
/// would have captured (`withheld`: variable → why), then its own
/// `evidence`, then its `evidence = true` assertions.
pub(crate) async fn decide(
    ctx: &Ctx,
    step: &Step,
    uses: &std::collections::BTreeSet<String>,
    scope: &Scope<'_>,
    withheld: &BTreeMap<String, String>,
) -> Decision {
    if let Some((var, why)) = uses.iter().find_map(|v| withheld.get(v).map(|w| (v, w))) {
        return Decision::Skip(format!("uses `${{{var}}}`, {why}"));
    }
    let tenant = match &step.evidence {
        Some(e) => whole_var(e.get_ref()),
        None if step.expect.json.iter().any(|j| j.get_ref().evidence) => step
            .request
            .as_ref()
            .and_then(|r| leading_var(r.url.get_ref())),
        None => None,
    };
    let Some(var) = tenant else {
        return Decision::Run(None);
    };
    // `check` made sure the variable is required, so preflight set it.
    let Some(base) = scope.get(var) else {
        return Decision::Run(None);
    };
    if ctx.tenant_evidence(&base).await != TenantEvidence::Absent {
        return Decision::Run(None);
    }
    if ctx.require_evidence {
        return Decision::Fail(required(var, &base));
    }
    if step.evidence.is_some() {
        Decision::Skip(no_evidence(var, &base, "step"))
    } else {
        Decision::Run(Some(no_evidence(var, &base, "check")))
    }
}

/// Why a variable captured by a skipped step has no value.
pub(crate) fn withheld_reason(step: &str, reason: &str) -> String {
    format!("which step `{step}` would have captured (skipped: {reason})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_name_the_tenant_and_the_endpoint() {
        let r = no_evidence("BETA_BASE", "http://127.0.0.1:8081", "step");
        assert_eq!(
            r,
            "tenant BETA_BASE=http://127.0.0.1:8081 has no evidence (GET /__/tenant/cp answered 404: an opaque tenant); reference-only step skipped"
        );
        let f = required("ALPHA_BASE", "http://h");
        assert!(
            f.contains("ALPHA_BASE=http://h") && f.contains("requires it"),
            "{f}"
        );
    }
}
