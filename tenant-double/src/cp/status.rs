//! The CP status route (`GET /cp/workspaces/{id}/status`) as the real
//! client calls it: `IsRunning` (query `instance_id`, `provider` when known)
//! from the health sweep, and the bare probe (no query) that tells an
//! ensure-image 404 "unsupported" from "misrouted".

use std::sync::Arc;

use contract::RouteId;
use serde_json::Value;

use super::bases::{resolve, CpClientKind};
use super::http::{error_chain, provisioner_headers};
use super::stop::{query_value, route_path};
use crate::state::Shared;
use crate::workspace::RUNNING;

/// Call the status route; `instance` is `(instance_id, provider)`, `None`
/// for the bare probe. Returns the status and the body.
pub(crate) async fn status_call(
    shared: &Shared,
    ws_id: &str,
    instance: Option<(&str, Option<&str>)>,
) -> Result<(u16, bytes::Bytes), String> {
    let (resolution, secret) = {
        let inner = shared.lock();
        (
            resolve(&inner.env, CpClientKind::Provision),
            inner.env.shared_secret().map(|(s, _)| s),
        )
    };
    let base = resolution
        .base
        .ok_or_else(|| resolution.error.unwrap_or_else(|| "no CP base".into()))?;
    let mut url = format!("{base}{}", route_path(RouteId::Status, ws_id));
    if let Some((instance_id, provider)) = instance {
        url.push_str(&format!("?instance_id={}", query_value(instance_id)));
        if let Some(p) = provider {
            url.push_str(&format!("&provider={}", query_value(p)));
        }
    }
    let req = provisioner_headers(
        shared.http.get(&url),
        secret.as_deref(),
        &shared.config.admin_token,
    );
    let resp = req
        .send()
        .await
        .map_err(|e| format!("cp provisioner: status: {}", error_chain(&e)))?;
    let status = resp.status().as_u16();
    let body = resp.bytes().await.unwrap_or_default();
    Ok((status, body))
}

/// `IsRunning` for one workspace: `Ok(state == "running")`, or the error the
/// real client returns (the sweep skips those).
async fn is_running(
    shared: &Shared,
    ws_id: &str,
    instance_id: &str,
    provider: Option<&str>,
) -> Result<bool, String> {
    let (status, body) = status_call(shared, ws_id, Some((instance_id, provider))).await?;
    if !RouteId::Status.route().success.accepts(status) {
        return Err(format!("cp provisioner: status: unexpected {status}"));
    }
    let state = serde_json::from_slice::<Value>(&body)
        .map_err(|e| format!("cp provisioner: status decode: {e}"))?;
    Ok(state.get("state").and_then(Value::as_str) == Some("running"))
}

/// One sweep: `IsRunning` for every live workspace (running, with a
/// non-empty instance id), as the real `StartHealthSweep` does.
pub(crate) async fn sweep_once(shared: &Shared) {
    let live: Vec<(String, String, Option<String>)> = {
        let inner = shared.lock();
        inner
            .workspaces
            .values()
            .filter(|ws| ws.report.status == RUNNING)
            .filter_map(|ws| {
                let id = ws.report.instance_id.clone().filter(|i| !i.is_empty())?;
                Some((ws.id.clone(), id, ws.spec.provider.clone()))
            })
            .collect()
    };
    for (ws_id, instance_id, provider) in live {
        let result = is_running(shared, &ws_id, &instance_id, provider.as_deref()).await;
        let mut inner = shared.lock();
        inner.totals.status_checks += 1;
        let line = match result {
            Ok(true) => format!("health sweep {ws_id}: running"),
            Ok(false) => format!("health sweep {ws_id}: not running at the CP"),
            Err(e) => format!("health sweep {ws_id}: skipped: {e}"),
        };
        shared.log(&mut inner, line);
    }
}

/// The health sweep loop: every `interval` (the first after one interval,
/// like Go's ticker) until the tenant shuts down.
pub(crate) async fn health_sweep(shared: Arc<Shared>) {
    let interval = shared.config.health_sweep_interval;
    if interval.is_zero() {
        return;
    }
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        sweep_once(&shared).await;
    }
}
