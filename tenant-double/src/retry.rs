//! How the CP calls are retried: the real client's provision policy and the
//! real restart's ensure-image and stop legs, with their backoffs.

use std::time::Duration;

use serde::Serialize;

use crate::vars;

/// How the CP calls are retried: provision as the real client (6 attempts,
/// 2 s doubling, cap 10 s, on what `contract::Route::retries` names), a
/// restart's ensure-image and stop as the real restart (3 attempts each,
/// 1 s doubling).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::Args, Serialize)]
pub struct RetryPolicy {
    /// Provision attempts in all, the first included (the real client: 6; 0 counts as 1).
    #[arg(
        long = "retry-attempts",
        env = "TENANT_DOUBLE_RETRY_ATTEMPTS",
        default_value_t = 6,
        value_name = "N"
    )]
    pub attempts: u32,
    /// First wait between provision attempts, in ms, doubled each retry (real: 2000).
    #[arg(
        long = "retry-initial-ms",
        env = "TENANT_DOUBLE_RETRY_INITIAL_MS",
        default_value = "2000",
        value_name = "MS",
        value_parser = vars::millis
    )]
    pub initial: Duration,
    /// Longest wait between provision attempts, in ms (real: 10000).
    #[arg(
        long = "retry-cap-ms",
        env = "TENANT_DOUBLE_RETRY_CAP_MS",
        default_value = "10000",
        value_name = "MS",
        value_parser = vars::millis
    )]
    pub cap: Duration,
    /// First wait between a restart's ensure-image attempts and between its
    /// stop attempts, in ms, doubled each retry; 3 attempts each (real: 1000).
    #[arg(
        long = "restart-retry-initial-ms",
        env = "TENANT_DOUBLE_RESTART_RETRY_INITIAL_MS",
        default_value = "1000",
        value_name = "MS",
        value_parser = vars::millis
    )]
    pub restart_initial: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        vars::defaults()
    }
}

impl RetryPolicy {
    /// A policy with the real attempt count and millisecond waits, for tests.
    pub fn fast() -> Self {
        RetryPolicy {
            attempts: 6,
            initial: Duration::from_millis(5),
            cap: Duration::from_millis(20),
            restart_initial: Duration::from_millis(5),
        }
    }

    /// Attempts in all (at least 1).
    pub(crate) fn attempts(&self) -> u32 {
        self.attempts.max(1)
    }

    /// Attempts of a restart's ensure-image and of its stop (the real
    /// `cpStopRetryAttempts`).
    pub(crate) const RESTART_ATTEMPTS: u32 = 3;

    /// The wait after failed restart-leg attempt `attempt` (1-based).
    pub(crate) fn restart_delay_after(&self, attempt: u32) -> Duration {
        self.restart_initial
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
    }

    /// The wait after failed attempt `attempt` (1-based).
    pub fn delay_after(&self, attempt: u32) -> Duration {
        let factor = 1u32 << attempt.saturating_sub(1).min(20);
        self.initial.saturating_mul(factor).min(self.cap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_the_real_clients_and_backoff_doubles_and_caps() {
        let p = RetryPolicy::default();
        assert_eq!(p.attempts, 6);
        let waits: Vec<u64> = (1..6).map(|n| p.delay_after(n).as_secs()).collect();
        assert_eq!(waits, vec![2, 4, 8, 10, 10]);
    }
}
