//! The CP console route (`GET /cp/admin/workspaces/{id}/console`) as the
//! real `GetConsoleOutput` calls it: no query, the admin routes' bearer.

use contract::RouteId;
use serde_json::Value;

use super::bases::{resolve, CpClientKind};
use super::http::{admin_headers, error_chain};
use super::stop::route_path;
use crate::state::Shared;

/// The workspace's console output, or the real client's error.
pub(crate) async fn console_output(shared: &Shared, ws_id: &str) -> Result<String, String> {
    let (resolution, secret, admin_api) = {
        let inner = shared.lock();
        (
            resolve(&inner.env, CpClientKind::Provision),
            inner.env.shared_secret().map(|(s, _)| s),
            inner.env.value("CP_ADMIN_API_TOKEN"),
        )
    };
    let base = resolution
        .base
        .ok_or_else(|| resolution.error.unwrap_or_else(|| "no CP base".into()))?;
    let url = format!("{base}{}", route_path(RouteId::Console, ws_id));
    let req = admin_headers(
        shared.http.get(&url),
        admin_api.as_deref(),
        secret.as_deref(),
        &shared.config.admin_token,
    );
    let result = async {
        let resp = req
            .send()
            .await
            .map_err(|e| format!("cp provisioner: console: {}", error_chain(&e)))?;
        let status = resp.status().as_u16();
        if !RouteId::Console.route().success.accepts(status) {
            return Err(format!("cp provisioner: console: unexpected {status}"));
        }
        let body = resp.bytes().await.unwrap_or_default();
        let value: Value = serde_json::from_slice(&body)
            .map_err(|e| format!("cp provisioner: console decode: {e}"))?;
        match value.get("output") {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(format!(
                "cp provisioner: console decode: json: cannot unmarshal {} into Go struct field .output of type string",
                contract::json_type(other)
            )),
        }
    }
    .await;
    let mut inner = shared.lock();
    inner.totals.console_calls += 1;
    let line = match &result {
        Ok(out) => format!("console {ws_id}: {} bytes", out.len()),
        Err(e) => format!("console {ws_id}: {e}"),
    };
    shared.log(&mut inner, line);
    result
}
