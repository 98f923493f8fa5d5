//! Creating the four workspaces through the tenant API and waiting until
//! each is provisioned — decided from the stub's journal (a 201 with a
//! usable `mol-ws-` body under the tenant's org), never from tenant-only
//! fields, so it holds for the real tenant, which stays `provisioning` and
//! shows no instance id. It fails early when the stub's answer is
//! unusable (D3, D10), when the tenant reports `failed` (with what the
//! stub saw, and the tenant's reason when it gives one), or when the
//! provision never reached the stub (D2, D4).

use std::time::{Duration, Instant};

use contract::admin::JournalEntry;
use contract::RouteId;
use serde_json::{json, Value};

use crate::config::Config;
use crate::error::SeedError;
use crate::http::{excerpt, Http, Tenant};
use crate::journal::{self, names_workspace};
use crate::progress::Reporter;
use crate::stub_answer::accepted_answer;

/// Create `<label>-parent` (tier 0) and `<label>-child` (tier 1, under the
/// parent) on each tenant, in order; the four wait for provisioning next.
pub(crate) async fn create_all<'a>(
    http: &Http,
    tenants: &'a [Tenant<'a>],
    reporter: &Reporter,
    config_missing: &[&str],
) -> Result<Vec<Pending<'a>>, SeedError> {
    let mut pending = Vec::new();
    for tenant in tenants {
        let parent_name = format!("{}-parent", tenant.label);
        let child_name = format!("{}-child", tenant.label);
        reporter.step(format!("creating {parent_name} on tenant {}", tenant.label));
        let missing = config_missing.contains(&tenant.label);
        let parent = create(http, tenant, &parent_name, 0, None, missing).await?;
        reporter.step(format!("creating {child_name} on tenant {}", tenant.label));
        let child = create(http, tenant, &child_name, 1, Some(&parent), missing).await?;
        reporter.done(format!(
            "created {parent_name} ({parent}) and {child_name} ({child})"
        ));
        for (name, id) in [(parent_name, parent), (child_name, child)] {
            pending.push(Pending::new(tenant, name, id));
        }
    }
    Ok(pending)
}

/// Create one workspace; returns its id.
async fn create(
    http: &Http,
    tenant: &Tenant<'_>,
    name: &str,
    tier: i64,
    parent: Option<&str>,
    config_missing: bool,
) -> Result<String, SeedError> {
    let mut body = json!({"name": name, "tier": tier});
    if let Some(parent) = parent {
        body["parent_id"] = Value::from(parent);
    }
    let url = format!("{}/workspaces", tenant.base);
    let action = format!("creating {name}");
    let req = tenant
        .request(http, reqwest::Method::POST, "/workspaces")
        .json(&body);
    let (status, text) = http
        .send(req)
        .await
        .map_err(|reason| SeedError::TenantRequest {
            tenant: tenant.label.into(),
            action: action.clone(),
            method: "POST",
            url: url.clone(),
            reason,
        })?;
    if !(200..300).contains(&status) {
        let hint = match status {
            400 => format!("the tenant refused the request; check {} and the tenant's API", tenant.var("ORG_ID")),
            401 | 403 => format!("check {} (the tenant's ADMIN_TOKEN)", tenant.var("ADMIN_TOKEN")),
            404 if config_missing => format!(
                "the tenant answers 404 for another org or token, and the stub saw no boot config call from it under {}: the tenant's MOLECULE_ORG_ID is not {} (incident D4); set {} (and {}) to the tenant's MOLECULE_ORG_ID (and ADMIN_TOKEN), or fix the tenant's",
                tenant.target.org_id,
                tenant.target.org_id,
                tenant.var("ORG_ID"),
                tenant.var("ADMIN_TOKEN")
            ),
            404 => format!(
                "the tenant answers 404 for another org or token: check {} and {} match the tenant's MOLECULE_ORG_ID and ADMIN_TOKEN",
                tenant.var("ORG_ID"),
                tenant.var("ADMIN_TOKEN")
            ),
            _ => "see the tenant's logs".to_string(),
        };
        return Err(SeedError::TenantStatus {
            tenant: tenant.label.into(),
            action,
            method: "POST",
            url,
            status,
            body: excerpt(&text),
            hint,
        });
    }
    let id = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| v.get("id").and_then(Value::as_str).map(str::to_string))
        .filter(|id| !id.trim().is_empty());
    id.ok_or_else(|| SeedError::NoId {
        tenant: tenant.label.into(),
        name: name.into(),
        url,
        status,
        body: excerpt(&text),
    })
}

/// A workspace being waited for.
pub(crate) struct Pending<'a> {
    pub(crate) tenant: &'a Tenant<'a>,
    /// `alpha-parent`, `alpha-child`, `beta-parent` or `beta-child`.
    pub(crate) name: String,
    pub(crate) id: String,
    /// Set once the stub answered its provision 201 under the tenant's org
    /// with a usable body: the instance id of that answer.
    pub(crate) instance_id: Option<String>,
    /// The tenant's last status for it.
    status: String,
    /// The tenant's last error for it (only the reference tenant has one).
    error: Option<String>,
    /// When it was created: its first provision call must reach the stub
    /// within [`ARRIVAL`].
    created: Instant,
    /// When the tenant first reported a status other than `provisioning`.
    settled: Option<Instant>,
}

impl<'a> Pending<'a> {
    /// A workspace just created, not provisioned yet.
    pub(crate) fn new(tenant: &'a Tenant<'a>, name: String, id: String) -> Pending<'a> {
        Pending {
            tenant,
            name,
            id,
            instance_id: None,
            status: "provisioning".into(),
            error: None,
            created: Instant::now(),
            settled: None,
        }
    }
}

/// How long after its create a workspace's first provision call must have
/// reached the stub (any answer). The tenant sends it at once; a tenant
/// that provisions through another CP stays `provisioning` (the real one)
/// and would otherwise only time out (incidents D2, D4).
pub(crate) const ARRIVAL: Duration = Duration::from_secs(10);

/// How long a workspace the tenant reports done (`running`, `online`) may
/// be missing from the journal before that is a finding.
const SETTLE_GRACE: Duration = Duration::from_secs(1);

/// The journaled provision calls since the run started that name `ws`.
fn calls_for<'e>(entries: &'e [JournalEntry], ws: &Pending<'_>) -> Vec<&'e JournalEntry> {
    entries
        .iter()
        .filter(|e| names_workspace(e, &ws.id))
        .collect()
}

/// What the stub saw of a workspace's provision calls, for messages.
fn at_stub(calls: &[&JournalEntry], org: &str, config_missing: bool) -> String {
    let own: Vec<&&JournalEntry> = calls
        .iter()
        .filter(|e| e.org.as_deref() == Some(org))
        .collect();
    let mut text = if own.is_empty() {
        format!("the stub received no provision call for it under {org} (incident D2)")
    } else {
        format!(
            "the stub answered its {} provision call(s) under {org} with {}, never 201 with a usable body",
            own.len(),
            own.iter().map(|e| e.status.to_string()).collect::<Vec<_>>().join(", ")
        )
    };
    if config_missing {
        text.push_str(&format!(
            "; its boot config call did not reach this stub under {org} either"
        ));
    }
    text
}

/// The last status the stub answered a workspace's own provision with.
fn last_status(calls: &[&JournalEntry], org: &str) -> Option<u16> {
    calls
        .iter()
        .rev()
        .find(|e| e.org.as_deref() == Some(org))
        .map(|e| e.status)
}

/// Poll until the stub has answered every workspace's provision 201 under
/// its tenant's org with a usable body (from the stub's journal since
/// `since_seq`: an opaque tenant shows neither `running` nor an instance
/// id). Fail on the first workspace whose answer is unusable (D3, D10),
/// that reached the stub under another org (D4), that the tenant reports
/// `failed`, that the tenant considers done while the stub never saw it,
/// or whose provision did not reach the stub within [`ARRIVAL`] (D2, D4).
/// `config_missing` names the tenants whose boot config call never
/// reached the stub, for the messages.
pub(crate) async fn wait_provisioned(
    http: &Http,
    config: &Config,
    pending: &mut [Pending<'_>],
    reporter: &Reporter,
    stub: &str,
    since_seq: u64,
    config_missing: &[&str],
) -> Result<(), SeedError> {
    let accepted = |s: u16| contract::route(RouteId::Provision).success.accepts(s);
    let query = format!("route={}&since_seq={since_seq}", RouteId::Provision);
    let mut entries: Vec<JournalEntry>;
    loop {
        // The tenant first, then the stub: a provision the tenant has seen
        // answered is in the journal read after it.
        for ws in pending.iter_mut().filter(|w| w.instance_id.is_none()) {
            reporter.step(format!("waiting for {} ({}) to provision", ws.name, ws.id));
            read_status(http, ws).await?;
            if ws.status != "provisioning" && ws.settled.is_none() {
                ws.settled = Some(Instant::now());
            }
        }
        entries = journal::page(http, stub, &query).await?.entries;
        for ws in pending.iter_mut().filter(|w| w.instance_id.is_none()) {
            let org = ws.tenant.target.org_id.as_str();
            let calls = calls_for(&entries, ws);
            if let Some(e) = calls
                .iter()
                .rev()
                .find(|e| accepted(e.status) && e.org.as_deref() == Some(org))
            {
                let instance_id = accepted_answer(e, stub, ws.tenant.label, &ws.name, &ws.id)?;
                reporter.done(format!(
                    "{} provisioned as {instance_id} (the stub answered 201 under {org})",
                    ws.name
                ));
                ws.instance_id = Some(instance_id);
                continue;
            }
            if let Some(e) = calls.iter().find(|e| accepted(e.status)) {
                return Err(SeedError::Attribution {
                    tenant: ws.tenant.label.into(),
                    org: org.to_string(),
                    tenant_url: ws.tenant.base.clone(),
                    stub: stub.to_string(),
                    detail: format!(
                        "the provision call for {} ({}) reached the stub under org {}, not {org}",
                        ws.name,
                        ws.id,
                        e.org.as_deref().unwrap_or("<none>")
                    ),
                    incident: "incident D4",
                });
            }
            let config_missing = config_missing.contains(&ws.tenant.label);
            if ws.status == "failed" {
                let stub_side = at_stub(&calls, org, config_missing);
                let reason = match &ws.error {
                    Some(e) => format!("{e}; {stub_side}"),
                    None => format!("the tenant reports it failed; {stub_side}"),
                };
                let status = last_status(&calls, org).or_else(|| status_in(ws.error.as_deref()));
                return Err(SeedError::ProvisionFailed {
                    tenant: ws.tenant.label.into(),
                    name: ws.name.clone(),
                    id: ws.id.clone(),
                    fix: provision_fix(status),
                    reason,
                    tenant_url: ws.tenant.base.clone(),
                });
            }
            // Settled for a moment (a journal write may trail the answer).
            let done = ws.settled.is_some_and(|t| t.elapsed() >= SETTLE_GRACE);
            if calls.is_empty() && (done || ws.created.elapsed() >= ARRIVAL) {
                let detail = if done {
                    format!(
                        "the tenant reports {} ({}) {}, but the stub never received its provision call under {org}",
                        ws.name, ws.id, ws.status
                    )
                } else {
                    format!(
                        "the stub never received its provision call under {org} for {} ({}) within {} s of its creation, while the tenant reports it {}",
                        ws.name,
                        ws.id,
                        ARRIVAL.as_secs(),
                        ws.status
                    )
                };
                let detail = if config_missing {
                    format!("{detail}; its boot config call did not reach this stub either")
                } else {
                    detail
                };
                return Err(SeedError::Attribution {
                    tenant: ws.tenant.label.into(),
                    org: org.to_string(),
                    tenant_url: ws.tenant.base.clone(),
                    stub: stub.to_string(),
                    detail,
                    // Provisioned by some CP, not this one: misrouted (D4);
                    // never sent anywhere seen: misrouted or unwired (D2).
                    incident: if done {
                        "incident D4"
                    } else {
                        "incident D4, or D2"
                    },
                });
            }
        }
        if pending.iter().all(|w| w.instance_id.is_some()) {
            return Ok(());
        }
        if http.expired() {
            break;
        }
        http.pause(config.poll_interval).await;
    }
    let Some(ws) = pending.iter().find(|w| w.instance_id.is_none()) else {
        return Ok(());
    };
    let org = ws.tenant.target.org_id.as_str();
    let calls = calls_for(&entries, ws);
    Err(SeedError::ProvisionTimeout {
        tenant: ws.tenant.label.into(),
        name: ws.name.clone(),
        id: ws.id.clone(),
        status: ws.status.clone(),
        reason: ws
            .error
            .as_ref()
            .map(|e| format!("; error: {e}"))
            .unwrap_or_default(),
        at_stub: at_stub(&calls, org, config_missing.contains(&ws.tenant.label)),
        waited_s: http.waited_s(),
        tenant_url: ws.tenant.base.clone(),
    })
}

/// `GET /workspaces/{id}`: the tenant's status (and its error, when it
/// has that field) into `ws`.
async fn read_status(http: &Http, ws: &mut Pending<'_>) -> Result<(), SeedError> {
    let path = format!("/workspaces/{}", ws.id);
    let url = format!("{}{path}", ws.tenant.base);
    let action = format!("reading {}", ws.name);
    let req = ws.tenant.request(http, reqwest::Method::GET, &path);
    let (status, text) = http
        .send(req)
        .await
        .map_err(|reason| SeedError::TenantRequest {
            tenant: ws.tenant.label.into(),
            action: action.clone(),
            method: "GET",
            url: url.clone(),
            reason,
        })?;
    if status != 200 {
        return Err(SeedError::TenantStatus {
            tenant: ws.tenant.label.into(),
            action,
            method: "GET",
            url,
            status,
            body: excerpt(&text),
            hint: "the tenant lost a workspace it just created; was it restarted?".into(),
        });
    }
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    ws.status = v
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or("unknown")
        .to_string();
    ws.error = v
        .get("error")
        .and_then(Value::as_str)
        .filter(|e| !e.is_empty())
        .map(str::to_string);
    Ok(())
}

/// The status in a real client's failure message (`provision failed (200)`).
fn status_in(reason: Option<&str>) -> Option<u16> {
    reason?
        .split("provision failed (")
        .nth(1)?
        .split(')')
        .next()?
        .parse()
        .ok()
}

/// The fix for a provision failure, from the status the stub (or CP)
/// answered: a wrong answer is the stub's fault, not the tenant's CP
/// variables; only a provision that never arrived is those.
fn provision_fix(status: Option<u16>) -> String {
    match status {
        Some(201) => "the CP answered 201 without a usable `instance_id`: the stub (or CP) behind the tenant's CP base serves a body the client cannot decode (incident D3); check its version (GET /__/stub/version), its programmed faults (GET /__/stub/faults) and the contract's provision_response schema, then re-run seed".into(),
        Some(status) => format!("the CP answered {status} where the real client needs 201 with `instance_id` (incident D3): the CP settings are fine, the stub (or CP) behind them is not; check its programmed faults (GET /__/stub/faults) and its version (GET /__/stub/version), then re-run seed"),
        None => "fix the tenant's CP settings (CP_PROVISION_URL or MOLECULE_CP_URL must point at the stub, reachable from the tenant; CP_UPSTREAM_URL is read by neither CP client, incident D2) and re-run seed".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::{provision_fix, status_in};

    #[test]
    fn a_wrong_status_blames_the_cp_not_the_variables() {
        let status = status_in(Some(
            "cp provisioner: provision failed (200): {\"id\":\"x\"}",
        ));
        assert_eq!(status, Some(200));
        let fix = provision_fix(status);
        assert!(
            fix.contains("answered 200 where the real client needs 201"),
            "{fix}"
        );
        assert!(!fix.contains("CP_PROVISION_URL"), "{fix}");
        let fix = provision_fix(status_in(Some(
            "cp provisioner: provision failed (201): the response has no instance_id",
        )));
        assert!(fix.contains("without a usable `instance_id`"), "{fix}");
    }

    #[test]
    fn a_provision_that_never_arrived_names_the_variables() {
        assert_eq!(status_in(Some("no CP base configured")), None);
        let fix = provision_fix(None);
        assert!(fix.contains("CP_PROVISION_URL or MOLECULE_CP_URL"), "{fix}");
        assert!(
            fix.contains("CP_UPSTREAM_URL") && fix.contains("D2"),
            "{fix}"
        );
    }
}
