//! Which org provisioned which workspace: the last step of finding the
//! caller's org. The real client's stop, status and console carry no org
//! header and no body, so without this they could only land under `-`.
//!
//! Bounded ([`WORKSPACE_ORGS_KEPT`] workspaces, the least recently
//! provisioned forgotten first) and kept across `reset` and `snapshot`:
//! a test that resets between provision and stop still sees the stop under
//! its org.

use std::collections::{HashMap, VecDeque};

/// Workspaces remembered.
pub(crate) const WORKSPACE_ORGS_KEPT: usize = 10_000;

/// Workspace id → org, least recently provisioned evicted first.
#[derive(Debug)]
pub(crate) struct WorkspaceOrgs {
    capacity: usize,
    /// Workspace → (org, stamp of its latest provision).
    orgs: HashMap<String, (String, u64)>,
    /// Provisions in order; an entry whose stamp is no longer the
    /// workspace's is stale (it was provisioned again since) and skipped.
    order: VecDeque<(String, u64)>,
    next_stamp: u64,
}

impl WorkspaceOrgs {
    pub(crate) fn new(capacity: usize) -> Self {
        WorkspaceOrgs {
            capacity,
            orgs: HashMap::new(),
            order: VecDeque::new(),
            next_stamp: 0,
        }
    }

    /// The org that last provisioned `workspace`, if remembered.
    pub(crate) fn get(&self, workspace: &str) -> Option<&str> {
        self.orgs.get(workspace).map(|(org, _)| org.as_str())
    }

    /// Remember that `org` provisioned `workspace`.
    pub(crate) fn insert(&mut self, workspace: &str, org: &str) {
        if self.capacity == 0 {
            return;
        }
        let stamp = self.next_stamp;
        self.next_stamp += 1;
        self.orgs
            .insert(workspace.to_string(), (org.to_string(), stamp));
        self.order.push_back((workspace.to_string(), stamp));
        while self.orgs.len() > self.capacity {
            let Some((ws, stamp)) = self.order.pop_front() else {
                break;
            };
            if self.orgs.get(&ws).is_some_and(|(_, s)| *s == stamp) {
                self.orgs.remove(&ws);
            }
        }
        // Re-provisions leave stale entries behind: drop them before the
        // queue outgrows twice the bound.
        if self.order.len() > 2 * self.capacity {
            let orgs = &self.orgs;
            self.order
                .retain(|(ws, stamp)| orgs.get(ws).is_some_and(|(_, s)| s == stamp));
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.orgs.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_provisioned_workspace_is_evicted_first() {
        let mut m = WorkspaceOrgs::new(3);
        m.insert("ws-1", "org-a");
        m.insert("ws-2", "org-b");
        m.insert("ws-3", "org-a");
        // ws-1 provisioned again (by another org): now the most recent.
        m.insert("ws-1", "org-c");
        m.insert("ws-4", "org-d");
        assert_eq!(m.len(), 3);
        assert_eq!(m.get("ws-2"), None, "the oldest is gone");
        assert_eq!(m.get("ws-1"), Some("org-c"));
        assert_eq!(m.get("ws-3"), Some("org-a"));
        assert_eq!(m.get("ws-4"), Some("org-d"));
    }

    #[test]
    fn the_bound_holds_under_many_provisions_and_reprovisions() {
        let mut m = WorkspaceOrgs::new(100);
        for i in 0..10_000 {
            m.insert(&format!("ws-{}", i % 150), "org");
            m.insert("ws-hot", "org-hot");
            assert!(m.len() <= 100);
            assert!(m.order.len() <= 200 + 1);
        }
        assert_eq!(m.get("ws-hot"), Some("org-hot"));
        // The 99 most recent others are kept, older ones are not.
        assert_eq!(m.get(&format!("ws-{}", 9_999 % 150)), Some("org"));
        assert_eq!(m.get(&format!("ws-{}", (9_999 - 120) % 150)), None);
    }

    #[test]
    fn capacity_zero_remembers_nothing() {
        let mut m = WorkspaceOrgs::new(0);
        m.insert("ws", "org");
        assert_eq!(m.get("ws"), None);
    }
}
