//! The config refresh (on boot, and `POST /__/tenant/config/refresh`):
//! fetch `/cp/tenants/config`, decode it as the real client does (a flat
//! string map, incident D1) and overlay it on the effective env.

use std::collections::BTreeMap;

use contract::RouteId;

use super::bases::{resolve, CpClientKind};
use super::go_json::decode_string_map;
use super::http::{body_detail, error_chain};
use crate::report::{now_ms, ConfigRefresh};
use crate::state::Shared;

/// One refresh, recorded as the last one. Best effort: a failure is logged
/// and recorded, never fatal.
pub(crate) async fn refresh_config(shared: &Shared, trigger: &str) -> ConfigRefresh {
    let resolution = {
        let inner = shared.lock();
        resolve(&inner.env, CpClientKind::Config)
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
            let url = format!("{base}{}", RouteId::TenantsConfig.route().path);
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
            inner.env.apply(map);
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

/// Send the fetch and decode a 200; the status lands in `record`.
async fn fetch_config(
    req: reqwest::RequestBuilder,
    url: &str,
    record: &mut ConfigRefresh,
) -> Result<BTreeMap<String, String>, String> {
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
    if !RouteId::TenantsConfig.route().success.accepts(status) {
        return Err(format!(
            "cp returned {status}: GET {url} answered {status}: {}",
            body_detail(&body)
        ));
    }
    decode_config(&body)
}

/// Decode a config body as Go decodes it into `map[string]string` (incident
/// D1), keeping what the real client applies: non-empty keys, values up to
/// 4 KiB.
fn decode_config(body: &[u8]) -> Result<BTreeMap<String, String>, String> {
    const MAX_VALUE_BYTES: usize = 4 << 10;
    let mut map = decode_string_map(body).map_err(|e| format!("decode: {e}"))?;
    map.retain(|k, v| !k.is_empty() && v.len() <= MAX_VALUE_BYTES);
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_config_names_the_path() {
        let err = decode_config(br#"{"A":"1","runtimes":["hermes"]}"#).unwrap_err();
        assert!(
            err.starts_with("decode: json: cannot unmarshal array into Go value of type string"),
            "{err}"
        );
        assert!(
            err.contains("/runtimes: expected string, found array"),
            "{err}"
        );
        let ok = decode_config(br#"{"A":"1"}"#).unwrap();
        assert_eq!(ok.get("A").map(String::as_str), Some("1"));
    }
}
