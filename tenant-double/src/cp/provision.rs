//! One provision run of a workspace, as the real client makes it: base
//! resolution, the body, up to [`crate::RetryPolicy`] attempts, then the
//! workspace's final status (and a stop when it was deleted meanwhile).

use std::sync::Arc;

use contract::RouteId;
use serde_json::{json, Map, Value};

use super::answer::{classify, Answer};
use super::bases::{resolve, CpClientKind};
use super::http::{error_chain, provisioner_headers};
use super::stop::stop;
use crate::report::{now_ms, ProvisionAttempt};
use crate::state::Shared;
use crate::workspace::{Workspace, FAILED, RUNNING};

/// A provision idempotency key as the real client mints one per Start:
/// `cpprov-` + 32 lowercase hex (128 random bits), reused on that Start's
/// retries and never across Starts.
pub(crate) fn idempotency_key() -> String {
    let mut b = [0u8; 16];
    fastrand::fill(&mut b);
    format!("cpprov-{:032x}", u128::from_be_bytes(b))
}

/// The real client's `cpProvisionRequest` for `ws`: `org_id`,
/// `workspace_id`, `idempotency_key`, `runtime`, `tier`, `display` (always),
/// `platform_url`, `env`, and the optional fields when set.
fn provision_body(
    org_id: &str,
    ws: &Workspace,
    platform_url: &str,
    env: Map<String, Value>,
) -> Value {
    let spec = &ws.spec;
    let mut body = json!({
        "org_id": org_id,
        "workspace_id": ws.id,
        "idempotency_key": idempotency_key(),
        "runtime": ws.runtime,
        "tier": ws.tier,
        "display": spec.display,
        "platform_url": platform_url,
        "env": env,
    });
    let Some(map) = body.as_object_mut() else {
        return body;
    };
    let strings = [
        ("template", &spec.template),
        ("instance_type", &spec.instance_type),
        ("provider", &spec.provider),
        ("data_persistence", &spec.data_persistence),
    ];
    for (key, value) in strings {
        if let Some(v) = value {
            map.insert(key.into(), Value::from(v.clone()));
        }
    }
    if let Some(n) = spec.disk_gb {
        map.insert("disk_gb".into(), Value::from(n));
    }
    // Only the concierge's kind is forwarded (core#2498).
    if spec.kind.as_deref() == Some("platform") {
        map.insert("kind".into(), Value::from("platform"));
    }
    for (key, files) in [
        ("config_files", &spec.config_files),
        ("template_assets", &spec.template_assets),
    ] {
        if !files.is_empty() {
            map.insert(key.into(), Value::Object(files.clone()));
        }
    }
    body
}

/// Provision workspace `ws_id` (run number `run`), from base resolution to
/// the workspace's final status: one Start of the real client, one
/// idempotency key for all its attempts.
pub(crate) async fn provision_run(shared: Arc<Shared>, ws_id: String, run: u32) {
    let policy = shared.config.retry;
    let attempts = policy.attempts();
    // Resolve everything under the lock, then call without it.
    let prepared = {
        let mut inner = shared.lock();
        let resolution = resolve(&inner.env, CpClientKind::Provision);
        let secret = inner.env.shared_secret().map(|(s, _)| s);
        let platform_url = inner
            .env
            .value("PLATFORM_URL")
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
        let body = provision_body(&shared.config.org_id, ws, &platform_url, env);
        if let Some(r) = ws.run_mut(run) {
            r.idempotency_key = body["idempotency_key"].as_str().map(str::to_string);
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
    let url = format!("{base}{}", RouteId::Provision.route().path);
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
                .and_then(|ws| ws.run_mut(run))
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
            Answer::Provisioned { instance_id, state } => {
                {
                    let mut inner = shared.lock();
                    shared.log(
                        &mut inner,
                        format!(
                            "CP provisioner: workspace {ws_id} → provider instance {instance_id} ({state})"
                        ),
                    );
                }
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
        if let Some(r) = ws.run_mut(run) {
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
            if let Some(id) = result.as_ref().ok().filter(|id| !id.is_empty()) {
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
            let _ = stop(&shared2, &ws_id, &instance_id, false).await;
        });
    }
}
