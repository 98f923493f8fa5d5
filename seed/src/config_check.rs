//! Incident D1 from the stub's side: right after boot each tenant fetched
//! `GET /cp/tenants/config`, and the stub answered that call 200 with a
//! flat string map (`tenant_config`). Read from the journal under the
//! tenant's org, so it holds for an opaque tenant, which shows nothing of
//! its config.

use contract::admin::StubState;
use contract::{RouteId, SchemaId};

use crate::error::SeedError;
use crate::http::{excerpt, Http, Tenant};
use crate::journal;

/// What the journal holds of a tenant's boot config call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ConfigCall {
    /// Answered 200 with a valid flat map.
    Applied,
    /// No config call under the tenant's org: decided after provisioning,
    /// whose failure names the cause more precisely (D2, D4).
    Missing,
    /// None found, but the journal lost entries since the tenants booted
    /// (a reset, or a full journal): nothing to check.
    Unknown(String),
}

/// Check the last config call of each tenant under its org; `Err` (D1)
/// when the stub answered it with anything but 200 and a flat string map.
pub(crate) async fn check_config_calls(
    http: &Http,
    stub: &str,
    tenants: &[Tenant<'_>],
    before: &StubState,
) -> Result<Vec<ConfigCall>, SeedError> {
    let mut out = Vec::new();
    for t in tenants {
        let org = &t.target.org_id;
        let query = format!(
            "route={}&org={}",
            RouteId::TenantsConfig,
            journal::percent(org)
        );
        let page = journal::page(http, stub, &query).await?;
        let Some(last) = page.entries.last() else {
            out.push(if before.generation > 0 || page.dropped > 0 {
                ConfigCall::Unknown(format!(
                    "the stub's journal lost entries since the tenants booted ({} reset(s), {} dropped), so tenant {}'s boot config call cannot be checked",
                    before.generation, page.dropped, t.label
                ))
            } else {
                ConfigCall::Missing
            });
            continue;
        };
        let calls = page.entries.len();
        if last.status != 200 {
            return Err(d1(
                t,
                stub,
                format!(
                    "was answered {} (the last of {calls} call(s); body {})",
                    last.status,
                    last.response
                        .as_ref()
                        .map_or_else(|| "none".to_string(), |v| excerpt(&v.to_string()))
                ),
            ));
        }
        let problems: Vec<String> = match last.response.as_ref() {
            None => vec!["no JSON body".into()],
            Some(body) => match contract::validate(SchemaId::TenantConfig, body) {
                Ok(v) => v.iter().map(ToString::to_string).collect(),
                Err(e) => vec![e.to_string()],
            },
        };
        if !problems.is_empty() {
            return Err(d1(
                t,
                stub,
                format!(
                    "was answered 200 with a body the client cannot decode as its flat map[string]string ({})",
                    problems.join("; ")
                ),
            ));
        }
        out.push(ConfigCall::Applied);
    }
    Ok(out)
}

fn d1(t: &Tenant<'_>, stub: &str, detail: String) -> SeedError {
    SeedError::ConfigCall {
        tenant: t.label.into(),
        org: t.target.org_id.clone(),
        detail,
        incident: "incident D1",
        fix: format!(
            "the real client needs 200 with a flat string map (schema tenant_config): a nested value (runtimes / llm_endpoints / feature_flags) or another status breaks its config refresh; check the stub's programmed faults (GET {stub}/__/stub/faults), its tenant config and its version (GET {stub}/__/stub/version)"
        ),
    }
}

/// The error for a tenant whose config call never reached this stub,
/// once its provisions did (so its CP_PROVISION_URL is right).
pub(crate) fn missing(t: &Tenant<'_>, stub: &str) -> SeedError {
    SeedError::ConfigCall {
        tenant: t.label.into(),
        org: t.target.org_id.clone(),
        detail: format!("never reached this stub ({stub})"),
        incident: "incidents D1, D2",
        fix: format!(
            "its provisions did, so its MOLECULE_CP_URL does not point at this stub (the config client reads MOLECULE_CP_URL, else MOLECULE_CP_DEFAULT_URL; never CP_PROVISION_URL or CP_UPSTREAM_URL), or it fetched its config under another org than {}",
            t.target.org_id
        ),
    }
}
