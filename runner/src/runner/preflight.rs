//! Preflight: every required variable is set (incident D5), and the stub
//! answers and speaks this runner's contract (incident D9).
//!
//! A failed preflight makes the replay ERROR, never PASS and never a panic,
//! with one message per problem naming the key or URL and the fix.

use std::collections::BTreeSet;
use std::time::Duration;

use super::stub::{StubClient, VersionError};
use super::vars::{Resolver, Scope};

/// Messages for every required variable that is unset or empty.
pub(crate) fn missing_vars(
    requires: &BTreeSet<String>,
    scope: &Scope<'_>,
    resolver: &Resolver,
) -> Vec<String> {
    requires
        .iter()
        .filter(|name| !scope.has(name))
        .map(|name| resolver.missing_message(name))
        .collect()
}

/// Check the stub at `stub.base()`: reachable, a cp-stub, same contract.
pub(crate) async fn check_stub(stub: &StubClient, var: &str) -> Result<(), String> {
    let base = stub.base();
    match stub.version(Duration::from_secs(5)).await {
        Ok(v) => {
            let ours = contract::fingerprint();
            if v.contract == ours {
                Ok(())
            } else {
                Err(format!(
                    "stale stub at {base}: it serves contract {} (cp-stub {} {}) but this runner speaks contract {ours}; rebuild the stub image (docker compose build cp-stub) or rebuild the runner from the same commit",
                    v.contract, v.version, v.git_sha
                ))
            }
        }
        Err(VersionError::Unreachable(reason)) => Err(format!(
            "cannot reach the stub at {base} ({var}): {reason}; start the stack (docker compose up, or replays gate) or fix {var}"
        )),
        Err(VersionError::Bad(reason)) => Err(format!(
            "{base}{}/version: {reason}; {var} does not point at a current cp-stub (a stub too old to have /__/stub/version must be rebuilt)",
            contract::admin::ADMIN_PREFIX
        )),
    }
}
