//! The CP client, as the real tenant's: base resolution (env order), the
//! provision call (headers, body, 201 rule, retries), the config refresh
//! and stop.

use serde_json::{json, Map, Value};
use std::sync::Arc;

use crate::config::PRODUCTION_CP_URL;
use crate::report::{BaseResolution, ConfigRefresh, ProvisionAttempt, StopCall};
use crate::state::{now_ms, Inner, Shared, FAILED, RUNNING};

/// Which of the tenant's two CP clients resolves a base.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CpClientKind {
    /// The provisioner (provision, stop): `CP_PROVISION_URL` first.
    Provision,
    /// The config fetch: never reads `CP_PROVISION_URL`.
    Config,
}

/// Variables the provisioner reads, in order.
pub(crate) const PROVISION_ORDER: &[&str] = &[
    "CP_PROVISION_URL",
    "MOLECULE_CP_URL",
    "MOLECULE_CP_DEFAULT_URL",
];
/// Variables the config fetch reads, in order.
pub(crate) const CONFIG_ORDER: &[&str] = &["MOLECULE_CP_URL", "MOLECULE_CP_DEFAULT_URL"];

/// Resolve a CP base from the effective env. Never falls back to production:
/// when nothing is set the resolution carries the reason instead (D2).
pub(crate) fn resolve(inner: &Inner, kind: CpClientKind) -> BaseResolution {
    let order = match kind {
        CpClientKind::Provision => PROVISION_ORDER,
        CpClientKind::Config => CONFIG_ORDER,
    };
    for name in order {
        if let Some((value, origin)) = inner.var(name) {
            return BaseResolution {
                base: Some(value.trim_end_matches('/').to_string()),
                source: Some((*name).to_string()),
                origin: Some(origin),
                order: order.iter().map(|s| s.to_string()).collect(),
                error: None,
            };
        }
    }
    let mut reason = match kind {
        CpClientKind::Provision => format!(
            "no CP base configured: CP_PROVISION_URL, MOLECULE_CP_URL and MOLECULE_CP_DEFAULT_URL \
             are all unset — the real tenant would call production ({PRODUCTION_CP_URL}) and stall \
             (incident D2); set CP_PROVISION_URL or MOLECULE_CP_URL to the stub"
        ),
        CpClientKind::Config => format!(
            "no CP base configured for the config fetch: MOLECULE_CP_URL and \
             MOLECULE_CP_DEFAULT_URL are both unset — the real tenant would call production \
             ({PRODUCTION_CP_URL}) and stall (incident D2); set MOLECULE_CP_URL to the stub"
        ),
    };
    if kind == CpClientKind::Config {
        if let Some(v) = inner.var_value("CP_PROVISION_URL") {
            reason.push_str(&format!(
                " (CP_PROVISION_URL is set to {v}, but the config fetch does not read it)"
            ));
        }
    }
    if let Some(v) = inner.var_value("CP_UPSTREAM_URL") {
        reason.push_str(&format!(
            " (CP_UPSTREAM_URL is set to {v}, but neither CP client reads it: it only feeds the \
             tenant's /cp/* reverse proxy)"
        ));
    }
    BaseResolution {
        base: None,
        source: None,
        origin: None,
        order: order.iter().map(|s| s.to_string()).collect(),
        error: Some(reason),
    }
}

/// What one provision answer means to the real client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    /// 201 with a non-empty `instance_id`.
    Provisioned { instance_id: String },
    /// A failure the client retries (408, 429, 500–527, transport errors).
    Retry(String),
    /// A failure it does not retry.
    Fail(String),
}

/// The real client's description of a body it does not echo (it may carry secrets).
fn body_detail(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| {
            v.get("error")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        })
        .unwrap_or_else(|| format!("<unstructured body, {} bytes>", body.len()))
}

/// Classify a provision answer: exactly 201 with a non-empty `instance_id`
/// is a success; any other status fails with the real client's message
/// (incident D3); 408, 429 and 500–527 are retried.
pub(crate) fn classify(status: u16, body: &[u8]) -> Answer {
    if status != 201 {
        let message = format!(
            "cp provisioner: provision failed ({status}): {}",
            body_detail(body)
        );
        return if contract::PROVISION_RETRIED.contains(&status) {
            Answer::Retry(message)
        } else {
            Answer::Fail(message)
        };
    }
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return Answer::Fail(format!(
            "cp provisioner: provision failed (201): the response is not JSON \
             (<unstructured body, {} bytes>)",
            body.len()
        ));
    };
    match value.get("instance_id").and_then(Value::as_str) {
        Some(id) if !id.is_empty() => Answer::Provisioned {
            instance_id: id.to_string(),
        },
        _ => {
            let detail = match contract::validate(contract::SchemaId::ProvisionResponse, &value) {
                Ok(violations) => violations
                    .iter()
                    .filter(|v| v.path == "/instance_id" || v.path.is_empty())
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join("; "),
                Err(e) => e.to_string(),
            };
            let detail = if detail.is_empty() {
                "/instance_id: expected a non-empty string".to_string()
            } else {
                detail
            };
            Answer::Fail(format!(
                "cp provisioner: provision failed (201): the response has no instance_id ({detail})"
            ))
        }
    }
}

/// A transport error with its causes, on one line.
pub(crate) fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}

/// Add the provisioner's headers: the shared secret as bearer and the admin
/// token, each only when non-empty.
fn provisioner_headers(
    mut req: reqwest::RequestBuilder,
    secret: Option<&str>,
    admin_token: &str,
) -> reqwest::RequestBuilder {
    if let Some(secret) = secret.filter(|s| !s.is_empty()) {
        req = req.header("Authorization", format!("Bearer {secret}"));
    }
    if !admin_token.is_empty() {
        req = req.header("X-Molecule-Admin-Token", admin_token);
    }
    req
}

/// One provision run of workspace `ws_id` (run number `run`), from base
/// resolution to the workspace's final status.
pub(crate) async fn provision_run(shared: Arc<Shared>, ws_id: String, run: u32) {
    let policy = shared.config.retry;
    let attempts = policy.attempts.max(1);
    // Resolve everything under the lock, then call without it.
    let prepared = {
        let mut inner = shared.lock();
        let resolution = resolve(&inner, CpClientKind::Provision);
        let secret = inner.shared_secret().map(|(s, _)| s);
        let platform_url = inner
            .var_value("PLATFORM_URL")
            .unwrap_or_else(|| shared.base_url.clone());
        let Some(ws) = inner.workspaces.get_mut(&ws_id) else {
            return;
        };
        let mut env = Map::new();
        env.insert(
            "MOLECULE_WORKSPACE_NAME".into(),
            Value::from(ws.name.clone()),
        );
        if let Some(model) = &ws.model {
            env.insert(
                "MOLECULE_LLM_DEFAULT_MODEL".into(),
                Value::from(model.clone()),
            );
        }
        let body = json!({
            "org_id": shared.config.org_id,
            "workspace_id": ws.id,
            "runtime": ws.runtime,
            "tier": ws.tier,
            "platform_url": platform_url,
            "env": env,
            "idempotency_key": format!("{}:{run}", ws.id),
        });
        if let Some(r) = ws.report.runs.iter_mut().find(|r| r.run == run) {
            r.base = resolution.base.clone();
            r.source = resolution.source.clone();
        }
        match resolution.base {
            Some(base) => Ok((base, secret, body)),
            None => Err(resolution
                .error
                .unwrap_or_else(|| "no CP base configured".to_string())),
        }
    };
    let (base, secret, body) = match prepared {
        Ok(p) => p,
        Err(reason) => {
            finish_run(&shared, &ws_id, run, Err(reason));
            return;
        }
    };
    let url = format!("{base}/cp/workspaces/provision");
    let mut last = String::new();
    for attempt in 1..=attempts {
        let at_ms = now_ms();
        let req = provisioner_headers(
            shared.http.post(&url).json(&body),
            secret.as_deref(),
            &shared.config.admin_token,
        );
        let (status, answer) = match req.send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                match resp.bytes().await {
                    Ok(bytes) => (Some(status), classify(status, &bytes)),
                    Err(e) => (
                        Some(status),
                        Answer::Retry(format!(
                            "cp provisioner: provision failed ({status}): reading the body: {}",
                            error_chain(&e)
                        )),
                    ),
                }
            }
            Err(e) => (
                None,
                Answer::Retry(format!(
                    "cp provisioner: provision request to {url} failed: {}",
                    error_chain(&e)
                )),
            ),
        };
        let (error, retry_in) = match &answer {
            Answer::Provisioned { .. } => (None, None),
            Answer::Fail(m) => (Some(m.clone()), None),
            Answer::Retry(m) => (
                Some(m.clone()),
                (attempt < attempts).then(|| policy.delay_after(attempt)),
            ),
        };
        {
            let mut inner = shared.lock();
            inner.totals.provision_attempts += 1;
            let line = match (&error, retry_in) {
                (None, _) => format!(
                    "provision {ws_id}: attempt {attempt}: {}",
                    status.unwrap_or(0)
                ),
                (Some(e), Some(wait)) => format!(
                    "provision {ws_id}: attempt {attempt}/{attempts}: {e}; retrying in {} ms",
                    wait.as_millis()
                ),
                (Some(e), None) => format!("provision {ws_id}: attempt {attempt}/{attempts}: {e}"),
            };
            shared.log(&mut inner, line);
            if let Some(r) = inner
                .workspaces
                .get_mut(&ws_id)
                .and_then(|ws| ws.report.runs.iter_mut().find(|r| r.run == run))
            {
                r.attempts.push(ProvisionAttempt {
                    attempt,
                    at_ms,
                    url: url.clone(),
                    status,
                    error: error.clone(),
                    retry_in_ms: retry_in.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
                });
            }
        }
        match answer {
            Answer::Provisioned { instance_id } => {
                finish_run(&shared, &ws_id, run, Ok(instance_id));
                return;
            }
            Answer::Fail(m) => {
                finish_run(&shared, &ws_id, run, Err(m));
                return;
            }
            Answer::Retry(m) => {
                last = m;
                if let Some(wait) = retry_in {
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }
    finish_run(
        &shared,
        &ws_id,
        run,
        Err(format!("{last} (gave up after {attempts} attempts)")),
    );
}

/// Record the end of a run and the workspace's new status.
fn finish_run(shared: &Arc<Shared>, ws_id: &str, run: u32, result: Result<String, String>) {
    let mut stop_after = None;
    {
        let mut inner = shared.lock();
        match &result {
            Ok(_) => inner.totals.provisioned += 1,
            Err(_) => inner.totals.failed += 1,
        }
        let line = match &result {
            Ok(id) => format!("provision {ws_id}: provisioned as {id}"),
            Err(e) => format!("provision {ws_id}: failed: {e}"),
        };
        shared.log(&mut inner, line);
        let Some(ws) = inner.workspaces.get_mut(ws_id) else {
            return;
        };
        ws.in_flight = false;
        ws.updated_ms = now_ms();
        if let Some(r) = ws.report.runs.iter_mut().find(|r| r.run == run) {
            r.finished_ms = Some(now_ms());
            match &result {
                Ok(id) => {
                    r.outcome = "ok".into();
                    r.instance_id = Some(id.clone());
                }
                Err(e) => {
                    r.outcome = "failed".into();
                    r.error = Some(e.clone());
                }
            }
        }
        if ws.deleted() {
            // Deleted while provisioning: release what the CP just created.
            if let Ok(id) = &result {
                stop_after = Some(id.clone());
            }
        } else {
            match result {
                Ok(id) => {
                    ws.report.status = RUNNING.into();
                    ws.report.instance_id = Some(id);
                    ws.report.error = None;
                }
                Err(e) => {
                    ws.report.status = FAILED.into();
                    ws.report.error = Some(e);
                }
            }
        }
    }
    if let Some(instance_id) = stop_after {
        let shared2 = Arc::clone(shared);
        let ws_id = ws_id.to_string();
        shared.spawn(async move {
            let _ = stop(&shared2, &ws_id, &instance_id).await;
        });
    }
}

/// Percent-encode a query value.
fn encode_query(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Stop a workspace's compute at the CP (`DELETE /cp/workspaces/{id}`); any
/// 2xx is a success. Returns the status or the failure message.
pub(crate) async fn stop(shared: &Shared, ws_id: &str, instance_id: &str) -> Result<u16, String> {
    let (resolution, secret) = {
        let inner = shared.lock();
        (
            resolve(&inner, CpClientKind::Provision),
            inner.shared_secret().map(|(s, _)| s),
        )
    };
    let at_ms = now_ms();
    let (url, result) = match resolution.base {
        None => (
            String::new(),
            Err(resolution.error.unwrap_or_else(|| "no CP base".into())),
        ),
        Some(base) => {
            let url = format!(
                "{base}/cp/workspaces/{}?instance_id={}",
                encode_query(ws_id),
                encode_query(instance_id)
            );
            let req = provisioner_headers(
                shared.http.delete(&url),
                secret.as_deref(),
                &shared.config.admin_token,
            );
            let result = match req.send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let body = resp.bytes().await.unwrap_or_default();
                    if (200..300).contains(&status) {
                        Ok(status)
                    } else {
                        Err(format!(
                            "cp provisioner: stop failed ({status}): {}",
                            body_detail(&body)
                        ))
                    }
                }
                Err(e) => Err(format!(
                    "cp provisioner: stop request to {url} failed: {}",
                    error_chain(&e)
                )),
            };
            (url, result)
        }
    };
    let mut inner = shared.lock();
    let line = match &result {
        Ok(status) => format!("stop {ws_id}: {status}"),
        Err(e) => format!("stop {ws_id}: {e}"),
    };
    shared.log(&mut inner, line);
    if let Some(ws) = inner.workspaces.get_mut(ws_id) {
        ws.report.stops.push(StopCall {
            at_ms,
            url,
            status: result.as_ref().ok().copied(),
            error: result.as_ref().err().cloned(),
        });
    }
    result
}

/// Fetch `/cp/tenants/config`, decode it as the real client does (a flat
/// string map, incident D1) and apply it to the effective env. Best effort:
/// a failure is logged and recorded, never fatal.
pub(crate) async fn refresh_config(shared: &Shared, trigger: &str) -> ConfigRefresh {
    let resolution = {
        let inner = shared.lock();
        resolve(&inner, CpClientKind::Config)
    };
    let mut record = ConfigRefresh {
        trigger: trigger.to_string(),
        ok: false,
        at_ms: now_ms(),
        url: None,
        source: resolution.source.clone(),
        status: None,
        applied: 0,
        keys: Vec::new(),
        error: None,
    };
    let outcome = match resolution.base {
        None => Err(resolution
            .error
            .unwrap_or_else(|| "no CP base configured".into())),
        Some(base) => {
            let url = format!("{base}/cp/tenants/config");
            record.url = Some(url.clone());
            let mut req = shared
                .http
                .get(&url)
                .header("X-Molecule-Org-Id", &shared.config.org_id);
            if !shared.config.admin_token.is_empty() {
                req = req.header(
                    "Authorization",
                    format!("Bearer {}", shared.config.admin_token),
                );
            }
            fetch_config(req, &url, &mut record).await
        }
    };
    let mut inner = shared.lock();
    inner.totals.config_refreshes += 1;
    match outcome {
        Ok(map) => {
            record.ok = true;
            record.applied = map.len();
            record.keys = map.keys().cloned().collect();
            let line = format!("CP env refresh: applied {} values", map.len());
            inner.overlay.extend(map);
            shared.log(&mut inner, line);
        }
        Err(e) => {
            let line = format!("CP env refresh failed: {e}");
            record.error = Some(e);
            shared.log(&mut inner, line);
        }
    }
    inner.last_refresh = Some(record.clone());
    record
}

async fn fetch_config(
    req: reqwest::RequestBuilder,
    url: &str,
    record: &mut ConfigRefresh,
) -> Result<std::collections::BTreeMap<String, String>, String> {
    let resp = req
        .send()
        .await
        .map_err(|e| format!("GET {url} failed: {}", error_chain(&e)))?;
    let status = resp.status().as_u16();
    record.status = Some(status);
    let body = resp
        .bytes()
        .await
        .map_err(|e| format!("GET {url}: reading the body: {}", error_chain(&e)))?;
    if status != 200 {
        return Err(format!(
            "GET {url} answered {status}: {}",
            body_detail(&body)
        ));
    }
    decode_config(&body)
}

/// Decode a config body as a flat `map[string]string`, naming every path
/// that breaks the decode.
pub(crate) fn decode_config(
    body: &[u8],
) -> Result<std::collections::BTreeMap<String, String>, String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        format!(
            "decoding /cp/tenants/config: not JSON ({e}; <unstructured body, {} bytes>)",
            body.len()
        )
    })?;
    let violations =
        contract::validate(contract::SchemaId::TenantConfig, &value).map_err(|e| e.to_string())?;
    if !violations.is_empty() {
        let list: Vec<String> = violations.iter().map(|v| v.to_string()).collect();
        return Err(format!(
            "decoding /cp/tenants/config as a flat string map (incident D1): {}",
            list.join("; ")
        ));
    }
    let Value::Object(map) = value else {
        return Err("decoding /cp/tenants/config: expected a JSON object".into());
    };
    map.into_iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k, s)),
            other => Err(format!(
                "decoding /cp/tenants/config: /{k}: expected string, found {}",
                contract::json_type(&other)
            )),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_201_with_instance_id_succeeds() {
        assert_eq!(
            classify(201, br#"{"instance_id":"mol-ws-1","state":"running"}"#),
            Answer::Provisioned {
                instance_id: "mol-ws-1".into()
            }
        );
        let old = br#"{"workspace_id":"w","status":"ok","phase":"done","url":"http://x"}"#;
        assert_eq!(
            classify(200, old),
            Answer::Fail(format!(
                "cp provisioner: provision failed (200): <unstructured body, {} bytes>",
                old.len()
            ))
        );
        match classify(201, br#"{"state":"running"}"#) {
            Answer::Fail(m) => assert!(m.contains("no instance_id (/instance_id:"), "{m}"),
            other => panic!("{other:?}"),
        }
        match classify(201, br#"{"instance_id":"","state":"running"}"#) {
            Answer::Fail(m) => assert!(m.contains("no instance_id"), "{m}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            classify(503, br#"{"error":"busy"}"#),
            Answer::Retry("cp provisioner: provision failed (503): busy".into())
        );
        assert!(matches!(classify(400, b"secret-token"), Answer::Fail(m) if !m.contains("secret")));
        assert!(matches!(classify(408, b""), Answer::Retry(_)));
        assert!(matches!(classify(429, b""), Answer::Retry(_)));
        assert!(matches!(classify(527, b""), Answer::Retry(_)));
        assert!(matches!(classify(528, b""), Answer::Fail(_)));
    }

    #[test]
    fn nested_config_names_the_path() {
        let err = decode_config(br#"{"A":"1","runtimes":["hermes"]}"#).unwrap_err();
        assert!(
            err.contains("/runtimes: expected string, found array"),
            "{err}"
        );
        let ok = decode_config(br#"{"A":"1"}"#).unwrap();
        assert_eq!(ok.get("A").map(String::as_str), Some("1"));
    }
}
