//! What the server and the background tasks share: the settings, the HTTP
//! client, and behind one lock the effective env, the workspaces, the
//! totals and the log.

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::sync::{Mutex, MutexGuard};

use tokio::task::JoinSet;

use crate::config::Config;
use crate::env::EffectiveEnv;
use crate::report::{BootResolution, ConfigRefresh, Totals};
use crate::workspace::Workspace;

/// Log lines kept for `/__/tenant/cp`.
const LOG_KEEP: usize = 200;

/// Mutable state behind one lock (never held across an await).
#[derive(Debug, Default)]
pub(crate) struct Inner {
    pub(crate) env: EffectiveEnv,
    pub(crate) workspaces: BTreeMap<String, Workspace>,
    /// Workspace ids in creation order.
    pub(crate) order: Vec<String>,
    pub(crate) totals: Totals,
    pub(crate) last_refresh: Option<ConfigRefresh>,
    pub(crate) log: VecDeque<String>,
}

/// Everything the server and the background tasks share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) base_url: String,
    pub(crate) http: reqwest::Client,
    /// The bases resolved from the start environment, before any refresh.
    pub(crate) boot: BootResolution,
    inner: Mutex<Inner>,
    tasks: Mutex<JoinSet<()>>,
}

impl Shared {
    pub(crate) fn new(
        config: Config,
        base_url: String,
        http: reqwest::Client,
        env: EffectiveEnv,
        boot: BootResolution,
    ) -> Shared {
        Shared {
            config,
            base_url,
            http,
            boot,
            inner: Mutex::new(Inner {
                env,
                ..Inner::default()
            }),
            tasks: Mutex::new(JoinSet::new()),
        }
    }

    /// Lock the state; a poisoned lock is recovered (the state stays usable).
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Run a background task; aborted by [`Shared::abort_tasks`].
    pub(crate) fn spawn<F>(&self, fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
        while tasks.try_join_next().is_some() {}
        tasks.spawn(fut);
    }

    pub(crate) fn abort_tasks(&self) {
        let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
        tasks.abort_all();
    }

    /// Record a log line (kept for the report; printed when logging is on),
    /// with any URL credentials, secret query values and `name=value`
    /// secrets (a CP's error body) masked.
    pub(crate) fn log(&self, inner: &mut Inner, line: String) {
        let line = contract::redact::text(&contract::redact::url(&line)).into_owned();
        if self.config.log {
            eprintln!("tenant-double[{}]: {line}", self.config.org_id);
        }
        if inner.log.len() == LOG_KEEP {
            inner.log.pop_front();
        }
        inner.log.push_back(line);
    }
}
