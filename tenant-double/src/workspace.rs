//! A workspace as the tenant keeps it, its statuses and its tenant API view.

use serde_json::{json, Value};

use crate::report::{now_ms, ProvisionRun, WorkspaceReport};

/// Status names (as served in `status` and the evidence).
pub(crate) const PROVISIONING: &str = "provisioning";
pub(crate) const RUNNING: &str = "running";
pub(crate) const FAILED: &str = "failed";
pub(crate) const DELETED: &str = "deleted";

/// A workspace as the tenant keeps it.
#[derive(Debug, Clone)]
pub(crate) struct Workspace {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) tier: i64,
    pub(crate) parent_id: Option<String>,
    pub(crate) runtime: String,
    pub(crate) model: Option<String>,
    pub(crate) created_ms: u64,
    pub(crate) updated_ms: u64,
    /// A provision run is in flight (restarts coalesce into it).
    pub(crate) in_flight: bool,
    /// Its evidence, which also holds its status, instance id and error.
    pub(crate) report: WorkspaceReport,
}

impl Workspace {
    pub(crate) fn deleted(&self) -> bool {
        self.report.status == DELETED
    }

    /// The tenant API view.
    pub(crate) fn view(&self, org_id: &str) -> Value {
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

    /// The run numbered `run`.
    pub(crate) fn run_mut(&mut self, run: u32) -> Option<&mut ProvisionRun> {
        self.report.runs.iter_mut().find(|r| r.run == run)
    }
}

/// A provision run that starts now.
pub(crate) fn new_run(run: u32, trigger: &str) -> ProvisionRun {
    ProvisionRun {
        run,
        trigger: trigger.to_string(),
        base: None,
        source: None,
        outcome: "in_progress".into(),
        instance_id: None,
        error: None,
        coalesced_restarts: 0,
        started_ms: now_ms(),
        finished_ms: None,
        attempts: Vec::new(),
    }
}

/// A random UUID (version 4) for a workspace id.
pub(crate) fn new_id() -> String {
    let mut b = [0u8; 16];
    fastrand::fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex = format!("{:032x}", u128::from_be_bytes(b));
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
    fn ids_are_unique_and_v4() {
        let a = new_id();
        let b = new_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "{a}");
    }
}
