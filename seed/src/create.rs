//! Creating the four workspaces through the tenant API and waiting until
//! each is provisioned (has an `instance_id`), failing early with the
//! tenant's own reason when it marks one `failed` (incident D2), or with
//! the stub's answer when the tenant settled without an instance id (D3:
//! the real client accepts a 201 without one).

use serde_json::{json, Value};

use crate::config::Config;
use crate::error::SeedError;
use crate::http::{excerpt, Http, Tenant};
use crate::progress::Reporter;
use crate::stub_answer::check_provision_answer;

/// Create `<label>-parent` (tier 0) and `<label>-child` (tier 1, under the
/// parent) on each tenant, in order; the four wait for provisioning next.
pub(crate) async fn create_all<'a>(
    http: &Http,
    tenants: &'a [Tenant<'a>],
    reporter: &Reporter,
) -> Result<Vec<Pending<'a>>, SeedError> {
    let mut pending = Vec::new();
    for tenant in tenants {
        let parent_name = format!("{}-parent", tenant.label);
        let child_name = format!("{}-child", tenant.label);
        reporter.step(format!("creating {parent_name} on tenant {}", tenant.label));
        let parent = create(http, tenant, &parent_name, 0, None).await?;
        reporter.step(format!("creating {child_name} on tenant {}", tenant.label));
        let child = create(http, tenant, &child_name, 1, Some(&parent)).await?;
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
    /// Set once the tenant reports the CP's instance.
    pub(crate) instance_id: Option<String>,
    /// The tenant's last status for it.
    status: String,
    /// The tenant's last error for it.
    error: Option<String>,
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
        }
    }
}

/// Poll until every workspace has an instance id; fail on the first that
/// failed, or that settled without one (then the stub's journal since
/// `since_seq` says what it answered, D3).
pub(crate) async fn wait_provisioned(
    http: &Http,
    config: &Config,
    pending: &mut [Pending<'_>],
    reporter: &Reporter,
    stub: &str,
    since_seq: u64,
) -> Result<(), SeedError> {
    loop {
        for ws in pending.iter_mut().filter(|w| w.instance_id.is_none()) {
            reporter.step(format!("waiting for {} ({}) to provision", ws.name, ws.id));
            let path = format!("/workspaces/{}", ws.id);
            let url = format!("{}{path}", ws.tenant.base);
            let action = format!("reading {}", ws.name);
            let req = ws.tenant.request(http, reqwest::Method::GET, &path);
            let (status, text) =
                http.send(req)
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
            if let Some(instance_id) = v
                .get("instance_id")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
            {
                ws.instance_id = Some(instance_id.to_string());
                reporter.done(format!("{} provisioned as {instance_id}", ws.name));
            } else if ws.status == "failed" {
                let reason = ws
                    .error
                    .clone()
                    .unwrap_or_else(|| "the tenant gave no reason".into());
                return Err(SeedError::ProvisionFailed {
                    tenant: ws.tenant.label.into(),
                    name: ws.name.clone(),
                    id: ws.id.clone(),
                    fix: provision_fix(&reason),
                    reason,
                    tenant_url: ws.tenant.base.clone(),
                });
            } else if ws.status != "provisioning" {
                // Settled without an instance id: what did the stub answer?
                let stub_served = check_provision_answer(
                    http,
                    stub,
                    since_seq,
                    ws.tenant.label,
                    &ws.name,
                    &ws.id,
                )
                .await?;
                if stub_served {
                    return Err(SeedError::ProvisionFailed {
                        tenant: ws.tenant.label.into(),
                        name: ws.name.clone(),
                        id: ws.id.clone(),
                        reason: format!(
                            "the tenant reports status {} without an instance_id, although the stub answered its provision with one",
                            ws.status
                        ),
                        fix: "the tenant lost the CP's answer; see its logs".into(),
                        tenant_url: ws.tenant.base.clone(),
                    });
                }
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
    // A real tenant stays `provisioning` after an accepted 201: the stub's
    // answer may still be the cause.
    check_provision_answer(http, stub, since_seq, ws.tenant.label, &ws.name, &ws.id).await?;
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
        waited_s: http.waited_s(),
        tenant_url: ws.tenant.base.clone(),
    })
}

/// The fix for a tenant's provision failure, read from the real client's
/// message: a wrong answer from the CP is the stub's (or CP's) fault, not
/// the tenant's CP variables; only an unreachable or unset CP base is.
fn provision_fix(reason: &str) -> String {
    if let Some(status) = reason
        .split("provision failed (")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
    {
        return if status == "201" {
            "the CP answered 201 without a usable `instance_id`: the stub (or CP) behind the tenant's CP base serves a body the client cannot decode (incident D3); check its version (GET /__/stub/version), its programmed faults (GET /__/stub/faults) and the contract's provision_response schema, then re-run seed".into()
        } else {
            format!("the CP answered {status} where the real client needs 201 with `instance_id` (incident D3): the CP settings are fine, the stub (or CP) behind them is not; check its programmed faults (GET /__/stub/faults) and its version (GET /__/stub/version), then re-run seed")
        };
    }
    "fix the tenant's CP settings (CP_PROVISION_URL or MOLECULE_CP_URL must point at the stub, reachable from the tenant) and re-run seed".into()
}

#[cfg(test)]
mod tests {
    use super::provision_fix;

    #[test]
    fn a_wrong_status_blames_the_cp_not_the_variables() {
        let fix = provision_fix("cp provisioner: provision failed (200): {\"id\":\"x\"}");
        assert!(
            fix.contains("answered 200 where the real client needs 201"),
            "{fix}"
        );
        assert!(!fix.contains("CP_PROVISION_URL"), "{fix}");
        let fix = provision_fix(
            "cp provisioner: provision failed (201): the response has no instance_id",
        );
        assert!(fix.contains("without a usable `instance_id`"), "{fix}");
    }

    #[test]
    fn a_missing_base_names_the_variables() {
        let fix = provision_fix("no CP base configured: CP_PROVISION_URL, MOLECULE_CP_URL and MOLECULE_CP_DEFAULT_URL are all unset");
        assert!(fix.contains("CP_PROVISION_URL or MOLECULE_CP_URL"), "{fix}");
    }
}
