//! A workspace as the tenant keeps it, its statuses and its tenant API view.

use serde_json::{json, Map, Value};

use crate::report::{now_ms, ProvisionRun, WorkspaceReport};

/// Status names (as served in `status` and the evidence).
pub(crate) const PROVISIONING: &str = "provisioning";
pub(crate) const RUNNING: &str = "running";
pub(crate) const FAILED: &str = "failed";
pub(crate) const DELETED: &str = "deleted";

/// The optional fields of the real client's `WorkspaceConfig` that
/// `POST /workspaces` takes and the provision body carries when set (the
/// real request struct's `omitempty` ones). `display` is always sent (`{}`
/// when empty: Go's `omitempty` does not omit a struct).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Spec {
    pub(crate) template: Option<String>,
    pub(crate) instance_type: Option<String>,
    pub(crate) disk_gb: Option<i64>,
    pub(crate) provider: Option<String>,
    pub(crate) data_persistence: Option<String>,
    /// Forwarded only when `platform`, as the real client does.
    pub(crate) kind: Option<String>,
    /// `mode`, `width`, `height`, `protocol` (empty ones left out).
    pub(crate) display: Map<String, Value>,
    /// File name → base64 content, as given.
    pub(crate) config_files: Map<String, Value>,
    /// File name → base64 content, as given.
    pub(crate) template_assets: Map<String, Value>,
}

impl Spec {
    /// Read the optional fields of a `POST /workspaces` body; the error
    /// names the field of a wrong type.
    pub(crate) fn from_body(body: &Value) -> Result<Spec, String> {
        let string = |key: &str| -> Result<Option<String>, String> {
            match body.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if s.is_empty() => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(format!("{key} must be a string")),
            }
        };
        let string_map = |key: &str| -> Result<Map<String, Value>, String> {
            match body.get(key) {
                None | Some(Value::Null) => Ok(Map::new()),
                Some(Value::Object(m)) if m.values().all(Value::is_string) => Ok(m.clone()),
                Some(_) => Err(format!(
                    "{key} must be an object of strings (file name to base64 content)"
                )),
            }
        };
        let disk_gb = match body.get("disk_gb") {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_i64() {
                Some(0) => None,
                Some(n) if (0..=i64::from(i32::MAX)).contains(&n) => Some(n),
                _ => return Err("disk_gb must be a non-negative integer".into()),
            },
        };
        let mut display = Map::new();
        match body.get("display") {
            None | Some(Value::Null) => {}
            Some(Value::Object(d)) => {
                for key in ["mode", "protocol"] {
                    match d.get(key) {
                        None | Some(Value::Null) => {}
                        Some(Value::String(s)) if s.is_empty() => {}
                        Some(Value::String(s)) => {
                            display.insert(key.into(), Value::from(s.clone()));
                        }
                        Some(_) => return Err(format!("display.{key} must be a string")),
                    }
                }
                for key in ["width", "height"] {
                    match d.get(key) {
                        None | Some(Value::Null) => {}
                        Some(v) => match v.as_i64() {
                            Some(0) => {}
                            Some(n) => {
                                display.insert(key.into(), Value::from(n));
                            }
                            None => return Err(format!("display.{key} must be an integer")),
                        },
                    }
                }
            }
            Some(_) => return Err("display must be an object".into()),
        }
        Ok(Spec {
            template: string("template")?,
            instance_type: string("instance_type")?,
            disk_gb,
            provider: string("provider")?,
            data_persistence: string("data_persistence")?,
            kind: string("kind")?,
            display,
            config_files: string_map("config_files")?,
            template_assets: string_map("template_assets")?,
        })
    }
}

/// A workspace as the tenant keeps it.
#[derive(Debug, Clone)]
pub(crate) struct Workspace {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) tier: i64,
    pub(crate) parent_id: Option<String>,
    pub(crate) runtime: String,
    pub(crate) model: Option<String>,
    /// The optional WorkspaceConfig fields forwarded to the CP.
    pub(crate) spec: Spec,
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

    /// The tenant API view; `opaque` is the real tenant's (see
    /// [`Workspace::opaque_status`], no `instance_id`, `error` or
    /// `provision_runs`).
    pub(crate) fn view(&self, org_id: &str, opaque: bool) -> Value {
        if opaque {
            return json!({
                "id": self.id,
                "org_id": org_id,
                "name": self.name,
                "tier": self.tier,
                "parent_id": self.parent_id,
                "runtime": self.runtime,
                "model": self.model,
                "template": self.spec.template,
                "provider": self.spec.provider,
                "status": self.opaque_status(),
                "created_at_ms": self.created_ms,
                "updated_at_ms": self.updated_ms,
            });
        }
        json!({
            "id": self.id,
            "org_id": org_id,
            "name": self.name,
            "tier": self.tier,
            "parent_id": self.parent_id,
            "runtime": self.runtime,
            "model": self.model,
            "template": self.spec.template,
            "provider": self.spec.provider,
            "status": self.report.status,
            "instance_id": self.report.instance_id,
            "error": self.report.error,
            "provision_runs": self.report.runs.len(),
            "created_at_ms": self.created_ms,
            "updated_at_ms": self.updated_ms,
        })
    }

    /// The status the real tenant serves: a workspace the CP provisioned
    /// stays `provisioning` (its agent never registers with a stub CP), a
    /// CP failure is `failed`; there is no `running`.
    pub(crate) fn opaque_status(&self) -> &str {
        match self.report.status.as_str() {
            RUNNING => PROVISIONING,
            other => other,
        }
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
        idempotency_key: None,
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
