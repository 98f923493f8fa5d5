//! A restart as the real one runs it (`workspace_restart.go`): ensure-image
//! first ("pull before stop", up to 3 attempts; a permanent refusal or
//! exhausted attempts decline the restart and leave the workspace as it
//! was), then stop when there is an instance (up to 3 attempts; the
//! provision follows even when they all fail), then one provision run.

use std::sync::Arc;

use super::ensure_image::{ensure_image, EnsureImage};
use super::provision::provision_run;
use super::stop::stop;
use crate::report::now_ms;
use crate::retry::RetryPolicy;
use crate::state::Shared;

/// Run restart `run` of workspace `ws_id`, whose status before the restart
/// was `prior_status` (restored when the restart is declined).
pub(crate) async fn restart_run(
    shared: Arc<Shared>,
    ws_id: String,
    run: u32,
    prior_status: String,
) {
    let policy = shared.config.retry;
    let mut declined = None;
    for attempt in 1..=RetryPolicy::RESTART_ATTEMPTS {
        match ensure_image(&shared, &ws_id).await {
            EnsureImage::Ready | EnsureImage::Unsupported(_) => {
                declined = None;
                break;
            }
            EnsureImage::Permanent(m) => {
                declined = Some(m);
                break;
            }
            EnsureImage::Transient(m) => {
                declined = Some(m);
                if attempt < RetryPolicy::RESTART_ATTEMPTS {
                    tokio::time::sleep(policy.restart_delay_after(attempt)).await;
                }
            }
        }
    }
    if let Some(reason) = declined {
        decline(&shared, &ws_id, run, &prior_status, &reason);
        return;
    }
    let instance_id = {
        let inner = shared.lock();
        inner
            .workspaces
            .get(&ws_id)
            .and_then(|ws| ws.report.instance_id.clone())
            .filter(|id| !id.is_empty())
    };
    if let Some(instance_id) = instance_id {
        for attempt in 1..=RetryPolicy::RESTART_ATTEMPTS {
            if stop(&shared, &ws_id, &instance_id, false).await.is_ok() {
                break;
            }
            if attempt == RetryPolicy::RESTART_ATTEMPTS {
                let mut inner = shared.lock();
                shared.log(
                    &mut inner,
                    format!(
                        "LEAK-SUSPECT restart {ws_id}: stop of {instance_id} failed {attempt} times; reprovisioning anyway"
                    ),
                );
            } else {
                tokio::time::sleep(policy.restart_delay_after(attempt)).await;
            }
        }
    }
    provision_run(shared, ws_id, run).await;
}

/// End a declined restart: nothing was stopped, the workspace keeps its
/// status and instance.
fn decline(shared: &Shared, ws_id: &str, run: u32, prior_status: &str, reason: &str) {
    let mut inner = shared.lock();
    shared.log(
        &mut inner,
        format!(
            "IMAGE-PREWARM-DECLINED restart workspace_id={ws_id} err={reason:?} — the workspace was NOT stopped"
        ),
    );
    let Some(ws) = inner.workspaces.get_mut(ws_id) else {
        return;
    };
    ws.in_flight = false;
    ws.updated_ms = now_ms();
    if !ws.deleted() {
        ws.report.status = prior_status.to_string();
    }
    if let Some(r) = ws.run_mut(run) {
        r.outcome = "declined".into();
        r.error = Some(format!("restart declined before stop: {reason}"));
        r.finished_ms = Some(now_ms());
    }
}
