//! The boot config refresh as the real `ensureManagedTenantLLMEnv` runs it:
//! a managed tenant (org and admin token set) must end up with the four LLM
//! proxy keys, from its env or the refreshed config. A fetch that succeeded
//! without them is fatal at once (`MISSING_CP_LLM_ENV`); a failing fetch is
//! retried every second for `MOLECULE_CP_CONFIG_RETRY_WINDOW` (Go duration,
//! default 90 s), then boot fails with the fetch's last error.

use std::time::Duration;

use super::config_refresh::refresh_config;
use crate::state::Shared;
use crate::vars::go_duration;

/// The keys a managed tenant needs after the refresh (`requiredLLMEnvVars`).
pub(crate) const LLM_KEYS: [&str; 4] = [
    "MOLECULE_LLM_USAGE_TOKEN",
    "MOLECULE_LLM_USAGE_URL",
    "MOLECULE_LLM_BASE_URL",
    "MOLECULE_LLM_ANTHROPIC_BASE_URL",
];

/// The real default of `MOLECULE_CP_CONFIG_RETRY_WINDOW`.
const DEFAULT_WINDOW: Duration = Duration::from_secs(90);
/// The real `cpConfigRetryInterval`.
const RETRY_INTERVAL: Duration = Duration::from_secs(1);

/// `d` as Go's `Duration.String` prints the common cases (`90s`, `250ms`, `1m30s`).
pub(crate) fn go_format(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let secs = d.as_secs_f64();
    let trim = |x: f64| {
        let s = format!("{x:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    };
    if secs < 60.0 {
        return format!("{}s", trim(secs));
    }
    let total = d.as_secs();
    let (h, m) = (total / 3600, (total % 3600) / 60);
    let s = trim(secs - (h * 3600 + m * 60) as f64);
    if h > 0 {
        format!("{h}h{m}m{s}s")
    } else {
        format!("{m}m{s}s")
    }
}

/// The required keys still unset (empty counts as unset).
fn missing(shared: &Shared) -> Vec<&'static str> {
    let inner = shared.lock();
    LLM_KEYS
        .into_iter()
        .filter(|k| inner.env.value(k).is_none())
        .collect()
}

fn missing_error(missing: &[&str]) -> String {
    format!(
        "MISSING_CP_LLM_ENV: required LLM proxy keys not set after refreshEnvFromCP: [{}]",
        missing.join(" ")
    )
}

/// The retry window, honouring a valid override; an invalid or
/// non-positive one is logged and ignored, as the real tenant does.
fn window(shared: &Shared) -> Duration {
    let Some(raw) = shared.config.cp_config_retry_window.clone() else {
        return DEFAULT_WINDOW;
    };
    let reason = match go_duration(&raw) {
        Ok(d) if !d.is_zero() => return d,
        Ok(_) => "non-positive".to_string(),
        Err(e) => format!("invalid ({e})"),
    };
    let mut inner = shared.lock();
    shared.log(
        &mut inner,
        format!(
            "CP env refresh: ignoring {reason} MOLECULE_CP_CONFIG_RETRY_WINDOW={raw:?} — using default {}",
            go_format(DEFAULT_WINDOW)
        ),
    );
    DEFAULT_WINDOW
}

/// The boot refresh and the LLM-key check; the error is what the real
/// tenant's boot dies with (after `Managed tenant boot assertion: `).
pub(crate) async fn boot_env(shared: &Shared) -> Result<(), String> {
    let first = refresh_config(shared, "boot").await;
    let managed = !shared.config.org_id.is_empty() && !shared.config.admin_token.is_empty();
    let absent = missing(shared);
    if !managed || absent.is_empty() {
        return Ok(());
    }
    if first.ok {
        // The CP answered and the keys are still missing: CP-side drift that
        // retrying cannot fix.
        return Err(missing_error(&absent));
    }
    let window = window(shared);
    let mut last = first.error.unwrap_or_default();
    {
        let mut inner = shared.lock();
        shared.log(
            &mut inner,
            format!(
                "CP env refresh: first fetch failed ({last}) — retrying up to {}",
                go_format(window)
            ),
        );
    }
    let deadline = tokio::time::Instant::now() + window;
    loop {
        let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
        if remaining.is_zero() {
            break;
        }
        tokio::time::sleep(remaining.min(RETRY_INTERVAL)).await;
        let again = refresh_config(shared, "boot-retry").await;
        if !again.ok {
            last = again.error.unwrap_or_default();
            continue;
        }
        let absent = missing(shared);
        return if absent.is_empty() {
            Ok(())
        } else {
            Err(missing_error(&absent))
        };
    }
    Err(format!(
        "CP config fetch did not succeed within {}: {last}",
        go_format(window)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_as_go_prints_them() {
        assert_eq!(go_format(Duration::from_secs(90)), "1m30s");
        assert_eq!(go_format(Duration::from_millis(250)), "250ms");
        assert_eq!(go_format(Duration::from_millis(1500)), "1.5s");
        assert_eq!(go_format(Duration::from_secs(45)), "45s");
    }

    #[test]
    fn the_missing_message_is_the_real_one() {
        assert_eq!(
            missing_error(&LLM_KEYS[..2]),
            "MISSING_CP_LLM_ENV: required LLM proxy keys not set after refreshEnvFromCP: \
             [MOLECULE_LLM_USAGE_TOKEN MOLECULE_LLM_USAGE_URL]"
        );
    }
}
