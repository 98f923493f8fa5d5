//! What every replay of a run shares: the HTTP client, the variables, the
//! timeouts, the run lock, the stub checks already made, and the ids and
//! rerun command of its executions.

use std::collections::{BTreeMap, HashMap};
use std::sync::PoisonError;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::{Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::evidence::{probe, TenantEvidence};
use super::mask::Secrets;
use super::preflight;
use super::stub::StubClient;
use super::vars::Resolver;

/// State shared by every replay of a run.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub(crate) client: reqwest::Client,
    pub(crate) resolver: Resolver,
    pub(crate) replay_timeout: Duration,
    pub(crate) step_timeout: Duration,
    /// A tenant without evidence fails reference-only steps instead of
    /// skipping them (`--require-evidence`).
    pub(crate) require_evidence: bool,
    run_id: String,
    lock: RwLock<()>,
    stub_checks: Mutex<HashMap<String, Result<(), String>>>,
    /// What each tenant base said to the evidence probe, asked once per run.
    evidence: Mutex<HashMap<String, TenantEvidence>>,
    /// `replays run …` for this run's folder and env file.
    rerun: String,
    /// Every secret value the run has seen so far: the variables' and each
    /// replay's `[vars]` and captures.
    secrets: std::sync::Mutex<Secrets>,
}

/// Either half of the run lock, held (never read) until the replay ends.
#[derive(Debug)]
#[allow(dead_code)]
pub(crate) enum Guard<'a> {
    /// Shared with other non-exclusive replays.
    Shared(RwLockReadGuard<'a, ()>),
    /// Alone.
    Exclusive(RwLockWriteGuard<'a, ()>),
}

impl Ctx {
    /// The context of a new run, with a fresh run id.
    pub(crate) fn new(
        client: reqwest::Client,
        resolver: Resolver,
        replay_timeout: Duration,
        step_timeout: Duration,
        require_evidence: bool,
        rerun: String,
    ) -> Ctx {
        let secrets = std::sync::Mutex::new(resolver.secrets().clone());
        Ctx {
            secrets,
            client,
            resolver,
            replay_timeout,
            step_timeout,
            require_evidence,
            run_id: run_id(),
            lock: RwLock::new(()),
            stub_checks: Mutex::new(HashMap::new()),
            evidence: Mutex::new(HashMap::new()),
            rerun,
        }
    }

    /// The id of the run's `n`th replay execution (`${REPLAY_ID}`).
    pub(crate) fn replay_id(&self, n: usize) -> String {
        format!("rp-{}-{n}", self.run_id)
    }

    /// The command that runs one replay of this run again on its own.
    pub(crate) fn rerun(&self, name: &str) -> String {
        format!("{} --filter {}", self.rerun, shell_quote(name))
    }

    /// Built-in variables of one replay execution.
    pub(crate) fn builtins(&self, name: &str, replay_id: &str) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("REPLAY_NAME".to_string(), name.to_string()),
            ("REPLAY_ID".to_string(), replay_id.to_string()),
            ("RUN_ID".to_string(), self.run_id.clone()),
        ])
    }

    /// Take the run lock: exclusive for replays that assert counters or
    /// touch shared stub state, shared for the others.
    pub(crate) async fn lock(&self, exclusive: bool) -> Guard<'_> {
        if exclusive {
            Guard::Exclusive(self.lock.write().await)
        } else {
            Guard::Shared(self.lock.read().await)
        }
    }

    /// Add secret values a replay knows (its `[vars]`, its captures).
    pub(crate) fn learn(&self, more: &Secrets) {
        self.secrets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(more);
    }

    /// The secret values known to the run so far.
    pub(crate) fn secrets(&self) -> Secrets {
        self.secrets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Version preflight of a stub, once per base URL per run.
    pub(crate) async fn check_stub(&self, stub: &StubClient, var: &str) -> Result<(), String> {
        let mut cache = self.stub_checks.lock().await;
        if let Some(r) = cache.get(stub.base()) {
            return r.clone();
        }
        let r = preflight::check_stub(stub, var).await;
        cache.insert(stub.base().to_string(), r.clone());
        r
    }
}

impl Ctx {
    /// Whether the tenant at `base` has evidence: probed once per run (an
    /// [`TenantEvidence::Unknown`] answer is asked again next time).
    pub(crate) async fn tenant_evidence(&self, base: &str) -> TenantEvidence {
        let mut cache = self.evidence.lock().await;
        if let Some(e) = cache.get(base) {
            return e.clone();
        }
        let e = probe(self, base).await;
        if e != TenantEvidence::Unknown {
            cache.insert(base.to_string(), e.clone());
        }
        e
    }
}

/// A word of the rerun line, quoted for a POSIX shell when it needs it.
pub(crate) fn shell_quote(s: &str) -> String {
    // `try_quote` refuses only NUL, which no shell word can hold.
    shlex::try_quote(&s.replace('\0', ""))
        .map(std::borrow::Cow::into_owned)
        .unwrap_or_default()
}

/// Unix time in ms.
pub(crate) fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn run_id() -> String {
    let ms = unix_ms();
    format!(
        "{:08x}",
        (ms ^ (u64::from(std::process::id()) << 20)) & 0xffff_ffff
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rerun_words_are_quoted_only_when_needed() {
        assert_eq!(shell_quote("replays/cases"), "replays/cases");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r#""it's""#);
        assert_eq!(shell_quote("nul\0"), "nul");
    }
}
