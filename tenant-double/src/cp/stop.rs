//! Stopping a workspace's compute at the CP (`DELETE /cp/workspaces/{id}`,
//! query `instance_id`, `provider` when known, `prune=true` for the
//! permanent delete with erase); any 2xx is a success.

use contract::RouteId;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::bases::{resolve, CpClientKind};
use super::http::{body_detail, error_chain, provisioner_headers};
use crate::report::{now_ms, StopCall};
use crate::state::Shared;

/// What a path segment or query value keeps unencoded: RFC 3986's unreserved characters.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// `value` encoded as a query value.
pub(crate) fn query_value(value: &str) -> String {
    utf8_percent_encode(value, UNRESERVED).to_string()
}

/// `/cp/workspaces/{id}…` for `route`, the id encoded as a path segment.
pub(crate) fn route_path(route: RouteId, ws_id: &str) -> String {
    contract::fill_path(route.route().path, &query_value(ws_id))
}

/// Stop workspace `ws_id`'s instance (`prune`: erase its data volume too, as
/// the real `StopAndPrune`); records the call in its evidence. Returns the
/// status or the failure message.
pub(crate) async fn stop(
    shared: &Shared,
    ws_id: &str,
    instance_id: &str,
    prune: bool,
) -> Result<u16, String> {
    let (resolution, secret, provider) = {
        let inner = shared.lock();
        (
            resolve(&inner.env, CpClientKind::Provision),
            inner.env.shared_secret().map(|(s, _)| s),
            inner
                .workspaces
                .get(ws_id)
                .and_then(|ws| ws.spec.provider.clone()),
        )
    };
    let route = RouteId::Stop.route();
    let at_ms = now_ms();
    let (url, result) = match resolution.base {
        None => (
            String::new(),
            Err(resolution.error.unwrap_or_else(|| "no CP base".into())),
        ),
        Some(base) => {
            let mut url = format!(
                "{base}{}?instance_id={}",
                route_path(RouteId::Stop, ws_id),
                query_value(instance_id)
            );
            if let Some(p) = &provider {
                url.push_str(&format!("&provider={}", query_value(p)));
            }
            if prune {
                url.push_str("&prune=true");
            }
            let req = provisioner_headers(
                shared.http.delete(&url),
                secret.as_deref(),
                &shared.config.admin_token,
            );
            let result = match req.send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let body = resp.bytes().await.unwrap_or_default();
                    if route.success.accepts(status) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreserved_characters_stay_and_the_rest_is_encoded() {
        assert_eq!(
            utf8_percent_encode("mol-ws_1.a~b c/d?é", UNRESERVED).to_string(),
            "mol-ws_1.a~b%20c%2Fd%3F%C3%A9"
        );
    }
}
