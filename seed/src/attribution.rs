//! Attribution at the stub (incident D4): each tenant's own provision calls
//! must have reached this stub under the tenant's org, so a tenant whose
//! `CP_PROVISION_URL` points at some other CP, or which sends another org,
//! cannot pass.

use contract::admin::{JournalEntry, JournalPage, StubState, ADMIN_PREFIX};
use contract::RouteId;
use serde_json::Value;

use crate::create::Pending;
use crate::error::SeedError;
use crate::http::{excerpt, Http};
use crate::journal::{self, names_workspace};

/// How the stub attribution was verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attribution {
    /// Every workspace's 201 provision call found in the journal under its org.
    Journal,
    /// The journal was not available; per-org provision counters rose enough.
    Counters,
}

async fn stub_get(http: &Http, url: &str) -> Result<(u16, String), SeedError> {
    http.send(http.client.get(url))
        .await
        .map_err(|reason| SeedError::Stub {
            url: url.to_string(),
            reason: format!("request failed: {reason}"),
        })
}

/// The stub's state: its journal position and per-org counters, read
/// before the creates so attribution looks only at this run's calls.
pub(crate) async fn stub_state(http: &Http, stub: &str) -> Result<StubState, SeedError> {
    let url = format!("{stub}{ADMIN_PREFIX}/state");
    let (status, text) = stub_get(http, &url).await?;
    if status != 200 {
        return Err(SeedError::Stub {
            url,
            reason: format!("answered {status}: {}", excerpt(&text)),
        });
    }
    serde_json::from_str(&text).map_err(|e| SeedError::Stub {
        url,
        reason: format!("the state does not decode ({e}); is this a cp-stub of this repo?"),
    })
}

/// Check at the stub that each tenant's own provision calls arrived under
/// its org (D4): the journal since `before` must hold a 201 provision call
/// for every workspace, with the tenant's org.
pub(crate) async fn verify_attribution(
    http: &Http,
    stub: &str,
    before: &StubState,
    pending: &[Pending<'_>],
) -> Result<Attribution, SeedError> {
    let url = format!(
        "{stub}{ADMIN_PREFIX}/requests?route={}&since_seq={}",
        RouteId::Provision,
        before.journal_seq
    );
    let (status, text) = stub_get(http, &url).await?;
    let page = (status == 200)
        .then(|| serde_json::from_str::<JournalPage>(&text).ok())
        .flatten();
    let Some(page) = page else {
        // No journal: fall back to the per-org counters.
        let after = stub_state(http, stub).await?;
        for ws in pending {
            let org = &ws.tenant.target.org_id;
            let expected = u64::try_from(
                pending
                    .iter()
                    .filter(|w| w.tenant.target.org_id == *org)
                    .count(),
            )
            .unwrap_or(u64::MAX);
            let delta = after
                .org_calls(org, RouteId::Provision)
                .saturating_sub(before.org_calls(org, RouteId::Provision));
            if delta < expected {
                return Err(SeedError::Attribution {
                    tenant: ws.tenant.label.into(),
                    org: org.clone(),
                    tenant_url: ws.tenant.base.clone(),
                    stub: stub.to_string(),
                    detail: format!(
                        "the stub counted {delta} provision call(s) under {org} during seeding, expected at least {expected}"
                    ),
                    incident: "incident D4",
                });
            }
        }
        return Ok(Attribution::Counters);
    };
    // A provision the real client accepts (201), as the contract says.
    let accepted = |status: u16| contract::route(RouteId::Provision).success.accepts(status);
    for ws in pending {
        let org = &ws.tenant.target.org_id;
        let calls: Vec<_> = page
            .entries
            .iter()
            .filter(|e| {
                e.body
                    .as_ref()
                    .and_then(|b| b.get("workspace_id"))
                    .and_then(Value::as_str)
                    == Some(ws.id.as_str())
            })
            .collect();
        if calls
            .iter()
            .any(|e| accepted(e.status) && e.org.as_deref() == Some(org.as_str()))
        {
            continue;
        }
        let detail = match calls.iter().find(|e| accepted(e.status)) {
            Some(e) => format!(
                "the provision call for {} ({}) reached the stub under org {}, not {org}",
                ws.name,
                ws.id,
                e.org.as_deref().unwrap_or("<none>")
            ),
            None if !calls.is_empty() => format!(
                "the stub answered the provision calls for {} ({}) with {}, never 201, yet the tenant reports instance {}",
                ws.name,
                ws.id,
                calls.iter().map(|e| e.status.to_string()).collect::<Vec<_>>().join(", "),
                ws.instance_id.as_deref().unwrap_or("?")
            ),
            None => format!(
                "the tenant reports {} ({}) provisioned as {}, but the stub never received its provision call under {org}",
                ws.name,
                ws.id,
                ws.instance_id.as_deref().unwrap_or("?")
            ),
        };
        return Err(SeedError::Attribution {
            tenant: ws.tenant.label.into(),
            org: org.clone(),
            tenant_url: ws.tenant.base.clone(),
            stub: stub.to_string(),
            detail,
            incident: "incident D4",
        });
    }
    Ok(Attribution::Journal)
}

/// Incident D4 the other way round: nothing about a tenant's workspaces
/// (provision, stop, status, console) reached the stub under the *other*
/// tenant's org since `before`.
pub(crate) async fn verify_no_cross_org(
    http: &Http,
    stub: &str,
    before: &StubState,
    pending: &[Pending<'_>],
) -> Result<(), SeedError> {
    let orgs: Vec<&str> = {
        let mut o: Vec<&str> = pending
            .iter()
            .map(|p| p.tenant.target.org_id.as_str())
            .collect();
        o.dedup();
        o
    };
    for other in orgs {
        let query = format!(
            "since_seq={}&org={}",
            before.journal_seq,
            journal::percent(other)
        );
        let page = journal::page(http, stub, &query).await?;
        if let Some((ws, e)) = cross_org(&page.entries, pending, other) {
            return Err(SeedError::Attribution {
                tenant: ws.tenant.label.into(),
                org: ws.tenant.target.org_id.clone(),
                tenant_url: ws.tenant.base.clone(),
                stub: stub.to_string(),
                detail: format!(
                    "a call about its workspace {} ({}) reached the stub under the other tenant's org {other}: {} {} answered {}",
                    ws.name, ws.id, e.method, e.path, e.status
                ),
                incident: "incident D4",
            });
        }
    }
    Ok(())
}

/// The first entry journaled under `org` that names a workspace of a
/// tenant of another org.
fn cross_org<'p, 'e>(
    entries: &'e [JournalEntry],
    pending: &'p [Pending<'p>],
    org: &str,
) -> Option<(&'p Pending<'p>, &'e JournalEntry)> {
    pending
        .iter()
        .filter(|ws| ws.tenant.target.org_id != org)
        .find_map(|ws| {
            entries
                .iter()
                .find(|e| names_workspace(e, &ws.id))
                .map(|e| (ws, e))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TenantTarget;
    use crate::http::Tenant;
    use serde_json::json;

    fn entry(org: &str, path: &str, body: Option<Value>) -> JournalEntry {
        serde_json::from_value(json!({
            "seq": 1, "at_ms": 0, "method": "POST", "path": path, "org": org, "status": 201,
            "duration_us": 0, "headers": {}, "auth": [], "violations": [], "body": body
        }))
        .unwrap()
    }

    #[test]
    fn d4_a_workspace_named_under_the_other_org_is_found() {
        let (a, b) = (TenantTarget::alpha(), TenantTarget::beta());
        let tenants = [Tenant::new("alpha", &a), Tenant::new("beta", &b)];
        let pending = [
            Pending::new(&tenants[0], "alpha-parent".into(), "wa".into()),
            Pending::new(&tenants[1], "beta-parent".into(), "wb".into()),
        ];
        let own = [
            entry(
                "org-beta",
                "/cp/workspaces/provision",
                Some(json!({"workspace_id": "wb"})),
            ),
            entry("org-beta", "/cp/workspaces/wb/status", None),
        ];
        assert!(cross_org(&own, &pending, "org-beta").is_none());
        let leaked = [entry("org-beta", "/cp/workspaces/wa/status", None)];
        let (ws, e) = cross_org(&leaked, &pending, "org-beta").unwrap();
        assert_eq!(
            (ws.name.as_str(), e.path.as_str()),
            ("alpha-parent", "/cp/workspaces/wa/status")
        );
    }
}
