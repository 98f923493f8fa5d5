//! In-memory state: the effective env, the workspaces and the evidence.

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use tokio::task::JoinSet;

use crate::config::{Config, PRODUCTION_CP_URL};
use crate::cp::{self, CpClientKind};
use crate::report::{
    BootResolution, ConfigRefresh, CpReport, Credentials, Origin, Totals, WorkspaceReport,
};

/// Log lines kept for `/__/tenant/cp`.
const LOG_KEEP: usize = 200;

/// Status names.
pub(crate) const PROVISIONING: &str = "provisioning";
pub(crate) const RUNNING: &str = "running";
pub(crate) const FAILED: &str = "failed";
pub(crate) const DELETED: &str = "deleted";

/// A workspace as the tenant keeps it.
#[derive(Debug, Clone)]
pub(crate) struct Workspace {
    pub id: String,
    pub name: String,
    pub tier: i64,
    pub parent_id: Option<String>,
    pub runtime: String,
    pub model: Option<String>,
    pub created_ms: u64,
    pub updated_ms: u64,
    /// A provision run is in flight (restarts coalesce into it).
    pub in_flight: bool,
    pub report: WorkspaceReport,
}

impl Workspace {
    pub fn deleted(&self) -> bool {
        self.report.status == DELETED
    }

    /// The tenant API view.
    pub fn view(&self, org_id: &str) -> Value {
        json!({
            "id": self.id,
            "org_id": org_id,
            "name": self.name,
            "tier": self.tier,
            "parent_id": self.parent_id,
            "runtime": self.runtime,
            "model": self.model,
            "status": self.report.status,
            "instance_id": self.report.instance_id,
            "error": self.report.error,
            "provision_runs": self.report.runs.len(),
            "created_at_ms": self.created_ms,
            "updated_at_ms": self.updated_ms,
        })
    }
}

/// Mutable state behind one lock (never held across an await).
#[derive(Debug, Default)]
pub(crate) struct Inner {
    /// CP-related variables from the start environment.
    pub env: BTreeMap<String, String>,
    /// Values applied by config refreshes (an empty value unsets).
    pub overlay: BTreeMap<String, String>,
    pub workspaces: BTreeMap<String, Workspace>,
    /// Workspace ids in creation order.
    pub order: Vec<String>,
    pub totals: Totals,
    pub last_refresh: Option<ConfigRefresh>,
    pub log: VecDeque<String>,
}

impl Inner {
    /// A variable of the effective env; empty counts as unset.
    pub fn var(&self, name: &str) -> Option<(String, Origin)> {
        if let Some(v) = self.overlay.get(name) {
            return (!v.is_empty()).then(|| (v.clone(), Origin::ConfigRefresh));
        }
        self.env
            .get(name)
            .filter(|v| !v.is_empty())
            .map(|v| (v.clone(), Origin::Env))
    }

    pub fn var_value(&self, name: &str) -> Option<String> {
        self.var(name).map(|(v, _)| v)
    }

    /// The provision bearer and the variable it came from.
    pub fn shared_secret(&self) -> Option<(String, &'static str)> {
        ["MOLECULE_CP_SHARED_SECRET", "PROVISION_SHARED_SECRET"]
            .into_iter()
            .find_map(|name| self.var_value(name).map(|v| (v, name)))
    }
}

/// Everything the server and the background tasks share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub config: Config,
    pub base_url: String,
    pub http: reqwest::Client,
    pub boot: BootResolution,
    inner: Mutex<Inner>,
    tasks: Mutex<JoinSet<()>>,
}

impl Shared {
    pub fn new(config: Config, base_url: String, http: reqwest::Client) -> Shared {
        let inner = Inner {
            env: config.cp_env(),
            ..Inner::default()
        };
        let boot = BootResolution {
            provision: cp::resolve(&inner, CpClientKind::Provision),
            config: cp::resolve(&inner, CpClientKind::Config),
        };
        Shared {
            config,
            base_url,
            http,
            boot,
            inner: Mutex::new(inner),
            tasks: Mutex::new(JoinSet::new()),
        }
    }

    /// Lock the state; a poisoned lock is recovered (the state stays usable).
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Run a background task; aborted by [`Shared::abort_tasks`].
    pub fn spawn<F>(&self, fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
        while tasks.try_join_next().is_some() {}
        tasks.spawn(fut);
    }

    pub fn abort_tasks(&self) {
        let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
        tasks.abort_all();
    }

    /// Record a log line (kept for the report; printed when logging is on).
    pub fn log(&self, inner: &mut Inner, line: String) {
        if self.config.log {
            eprintln!("tenant-double[{}]: {line}", self.config.org_id);
        }
        if inner.log.len() == LOG_KEEP {
            inner.log.pop_front();
        }
        inner.log.push_back(line);
    }

    /// The evidence report.
    pub fn report(&self) -> CpReport {
        let inner = self.lock();
        let mut ignored = BTreeMap::new();
        if let Some(v) = inner.var_value("CP_UPSTREAM_URL") {
            ignored.insert("CP_UPSTREAM_URL".to_string(), v);
        }
        CpReport {
            org_id: self.config.org_id.clone(),
            production_default: PRODUCTION_CP_URL.to_string(),
            provision: cp::resolve(&inner, CpClientKind::Provision),
            config: cp::resolve(&inner, CpClientKind::Config),
            boot: self.boot.clone(),
            ignored,
            credentials: Credentials {
                shared_secret_from: inner.shared_secret().map(|(_, n)| n.to_string()),
                admin_token_set: !self.config.admin_token.is_empty(),
            },
            config_refresh: inner.last_refresh.clone(),
            workspaces: inner
                .workspaces
                .iter()
                .map(|(id, ws)| (id.clone(), ws.report.clone()))
                .collect(),
            totals: inner.totals.clone(),
            log: inner.log.iter().cloned().collect(),
        }
    }
}

/// Unix time in milliseconds.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// A random UUID (version 4 layout) for workspace ids.
pub(crate) fn new_uuid() -> String {
    use std::hash::{BuildHasher, Hasher, RandomState};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut words = [0u64; 2];
    for word in &mut words {
        let mut h = RandomState::new().build_hasher();
        h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        h.write_u64(now_ms());
        h.write_u32(std::process::id());
        *word = h.finish();
    }
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&words[0].to_be_bytes());
    b[8..].copy_from_slice(&words[1].to_be_bytes());
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_unique_and_v4() {
        let a = new_uuid();
        let b = new_uuid();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
    }

    #[test]
    fn overlay_wins_and_empty_unsets() {
        let mut inner = Inner::default();
        inner
            .env
            .insert("MOLECULE_CP_URL".into(), "http://a".into());
        assert_eq!(
            inner.var("MOLECULE_CP_URL"),
            Some(("http://a".into(), Origin::Env))
        );
        inner
            .overlay
            .insert("MOLECULE_CP_URL".into(), "http://b".into());
        assert_eq!(
            inner.var("MOLECULE_CP_URL"),
            Some(("http://b".into(), Origin::ConfigRefresh))
        );
        inner
            .overlay
            .insert("MOLECULE_CP_URL".into(), String::new());
        assert_eq!(inner.var("MOLECULE_CP_URL"), None);
    }
}
