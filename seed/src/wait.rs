//! Waiting for the stack: both tenants (`GET /health`) and the stub
//! (`GET /healthz`) must answer 2xx with an ok body, so a proxy's 200 error
//! page does not count.

use serde_json::Value;

use crate::config::{trim_base, Config};
use crate::error::SeedError;
use crate::http::{excerpt, Http, Tenant};
use crate::progress::Reporter;

/// A health body that says ok: `{"status":"ok"}`, `{"ok":true}` or `ok`.
fn body_ok(body: &str) -> bool {
    if body.trim().eq_ignore_ascii_case("ok") {
        return true;
    }
    serde_json::from_str::<Value>(body).is_ok_and(|v| {
        v.get("status").and_then(Value::as_str) == Some("ok")
            || v.get("ok").and_then(Value::as_bool) == Some(true)
    })
}

/// Wait until both tenants and the stub answer their health checks.
pub(crate) async fn wait_ready(
    http: &Http,
    config: &Config,
    tenants: &[Tenant<'_>],
    reporter: &Reporter,
) -> Result<(), SeedError> {
    struct Probe {
        what: String,
        url: String,
        host: Option<String>,
        hint: String,
        last: Option<Result<(u16, String), String>>,
        ok: bool,
    }
    let stub = trim_base(&config.cp_stub_base);
    let mut probes: Vec<Probe> = tenants
        .iter()
        .map(|t| Probe {
            what: format!("tenant {}", t.label),
            url: format!("{}/health", t.base),
            host: t.host().map(str::to_string),
            hint: format!(
                "start the stack (`docker compose up -d`, or let `replays gate` start the embedded one) or point {} at tenant {}",
                t.var("BASE"),
                t.label
            ),
            last: None,
            ok: false,
        })
        .collect();
    probes.push(Probe {
        what: "cp-stub".into(),
        url: format!("{stub}/healthz"),
        host: None,
        hint: "start the stack or set CP_STUB_BASE to the stub's URL".into(),
        last: None,
        ok: false,
    });
    loop {
        for probe in probes.iter_mut().filter(|p| !p.ok) {
            reporter.step(format!("waiting for {} at {}", probe.what, probe.url));
            let mut req = http.client.get(&probe.url);
            if let Some(host) = &probe.host {
                req = req.header("Host", host);
            }
            let result = http.send(req).await;
            probe.ok = matches!(&result, Ok((s, b)) if (200..300).contains(s) && body_ok(b));
            if probe.ok {
                reporter.done(format!("{} is up at {}", probe.what, probe.url));
            }
            probe.last = Some(result);
        }
        if probes.iter().all(|p| p.ok) {
            return Ok(());
        }
        if http.expired() {
            break;
        }
        http.pause(config.poll_interval).await;
    }
    let Some(probe) = probes.into_iter().find(|p| !p.ok) else {
        return Ok(());
    };
    Err(match probe.last {
        Some(Ok((status, body))) => SeedError::Unhealthy {
            what: probe.what,
            url: probe.url,
            status,
            body: excerpt(&body),
            hint: format!(
                "{} (the health answer must be 2xx with {{\"status\":\"ok\"}})",
                probe.hint
            ),
            waited_s: http.waited_s(),
        },
        Some(Err(reason)) => SeedError::Unreachable {
            what: probe.what,
            url: probe.url,
            reason,
            hint: probe.hint,
            waited_s: http.waited_s(),
        },
        None => SeedError::Unreachable {
            what: probe.what,
            url: probe.url,
            reason: "never probed (timeout too short)".into(),
            hint: "raise --timeout".into(),
            waited_s: http.waited_s(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_bodies() {
        assert!(body_ok(r#"{"status":"ok"}"#));
        assert!(body_ok("ok\n"));
        assert!(body_ok(r#"{"ok":true}"#));
        assert!(!body_ok(r#"{"status":"starting"}"#));
        assert!(!body_ok("<html>proxy</html>"));
    }
}
