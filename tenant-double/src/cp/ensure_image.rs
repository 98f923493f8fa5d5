//! The restart's pre-flight, `POST /cp/workspaces/ensure-image`, as the real
//! `EnsureImage` reads its answer: any 2xx is ready; 501, and a 404 while the
//! `/cp/workspaces/*` family still routes (a bare status probe that is not
//! 404), mean "unsupported" and the caller proceeds; other 4xx (408 and 429
//! aside) and a 404 with a dead route family are permanent refusals; the
//! rest are retried by the restart.

use contract::RouteId;
use serde_json::{json, Value};

use super::bases::{resolve, CpClientKind};
use super::go_json::{decode_struct, StringStruct};
use super::http::{body_detail, error_chain, provisioner_headers};
use super::status::status_call;
use crate::state::Shared;

/// The real client's ensure-image answer struct.
const ENSURE_IMAGE_RESULT: StringStruct = StringStruct {
    qualified: "provisioner.EnsureImageResult",
    name: "EnsureImageResult",
    fields: &["status", "image_ref", "error"],
};

/// What one ensure-image call means to the real restart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EnsureImage {
    /// Any 2xx: the image is there; stop may proceed.
    Ready,
    /// 404 (with a live route family) or 501: the CP has no such endpoint;
    /// the restart proceeds, as before the endpoint existed.
    Unsupported(u16),
    /// A refusal the CP meant: the restart declines at once.
    Permanent(String),
    /// Anything else (5xx, 408, 429, transport): retried.
    Transient(String),
}

/// 4xx other than 408 and 429 is permanent (`ensureImageStatusIsPermanent`).
fn permanent(status: u16) -> bool {
    status != 408 && status != 429 && (400..500).contains(&status)
}

/// One ensure-image call for workspace `ws_id`.
pub(crate) async fn ensure_image(shared: &Shared, ws_id: &str) -> EnsureImage {
    let prepared = {
        let inner = shared.lock();
        let resolution = resolve(&inner.env, CpClientKind::Provision);
        let secret = inner.env.shared_secret().map(|(s, _)| s);
        inner.workspaces.get(ws_id).map(|ws| {
            let mut body = json!({
                "org_id": shared.config.org_id,
                "workspace_id": ws.id,
                "runtime": ws.runtime,
            });
            if let Some(map) = body.as_object_mut() {
                for (key, value) in [
                    ("template", &ws.spec.template),
                    ("provider", &ws.spec.provider),
                ] {
                    if let Some(v) = value {
                        map.insert(key.into(), Value::from(v.clone()));
                    }
                }
            }
            (resolution, secret, body)
        })
    };
    let Some((resolution, secret, body)) = prepared else {
        return EnsureImage::Permanent(format!("workspace {ws_id} is gone"));
    };
    let Some(base) = resolution.base else {
        return EnsureImage::Permanent(resolution.error.unwrap_or_else(|| "no CP base".into()));
    };
    let url = format!("{base}{}", RouteId::EnsureImage.route().path);
    let req = provisioner_headers(
        shared.http.post(&url).json(&body),
        secret.as_deref(),
        &shared.config.admin_token,
    );
    let outcome = match req.send().await {
        Err(e) => EnsureImage::Transient(format!(
            "cp provisioner: ensure-image send: {}",
            error_chain(&e)
        )),
        Ok(resp) => {
            let status = resp.status().as_u16();
            let body = resp.bytes().await.unwrap_or_default();
            classify(shared, ws_id, &base, status, &body).await
        }
    };
    let mut inner = shared.lock();
    inner.totals.ensure_image_calls += 1;
    shared.log(&mut inner, format!("ensure-image {ws_id}: {outcome:?}"));
    outcome
}

async fn classify(
    shared: &Shared,
    ws_id: &str,
    base: &str,
    status: u16,
    body: &[u8],
) -> EnsureImage {
    let route = RouteId::EnsureImage.route();
    if route.success.accepts(status) {
        // Any 2xx, once its body decodes as Go decodes `EnsureImageResult`.
        return match decode_struct(body, ENSURE_IMAGE_RESULT) {
            Ok(_) => EnsureImage::Ready,
            Err(e) => EnsureImage::Transient(format!(
                "cp provisioner: ensure-image decode {status} response: {e}"
            )),
        };
    }
    if status == 404 {
        // A CP that predates the endpoint still routes /cp/workspaces/*.
        let live = matches!(status_call(shared, ws_id, None).await, Ok((s, _)) if s != 404);
        return if live {
            EnsureImage::Unsupported(404)
        } else {
            EnsureImage::Permanent(format!(
                "cp provisioner: ensure-image refused: ensure-image answered 404 and \
                 {base}/cp/workspaces/* does not route either — this is a misrouted or \
                 misconfigured control-plane URL, not a control plane that predates the endpoint"
            ))
        };
    }
    if route.unsupported.contains(&status) {
        return EnsureImage::Unsupported(status);
    }
    let detail = body_detail(body);
    if permanent(status) {
        EnsureImage::Permanent(format!(
            "cp provisioner: ensure-image refused ({status}): {detail}"
        ))
    } else {
        EnsureImage::Transient(format!(
            "cp provisioner: ensure-image failed ({status}): {detail}"
        ))
    }
}
