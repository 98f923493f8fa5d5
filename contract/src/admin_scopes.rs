//! Scopes of the stub's admin API: the replay, org or workspace a call is
//! attributed to, and the answer of `GET /__/stub/counts` ([`ScopedCounts`])
//! that reads the counts of several scopes in one atomic step.
//!
//! A scope map is bounded ([`ScopeBound`]): when it is full the entry
//! created first is evicted and the map remembers the sequence number of
//! its latest eviction, so a reader can tell an exact delta from one whose
//! data was lost (and name the bound to raise).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a scope is keyed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScopeKind {
    /// The replay execution that sent the call (`X-Replay-Id`).
    Replay,
    /// The caller's org (as attributed by the stub).
    Org,
    /// The workspace the call is about (body `workspace_id`, else path `{id}`).
    Workspace,
}

impl ScopeKind {
    /// Every kind, in the order answers list them.
    pub const ALL: [ScopeKind; 3] = [ScopeKind::Replay, ScopeKind::Org, ScopeKind::Workspace];

    /// The query parameter that names a scope of this kind (`replay`, `org`, `workspace`).
    pub fn param(self) -> &'static str {
        match self {
            ScopeKind::Replay => "replay",
            ScopeKind::Org => "org",
            ScopeKind::Workspace => "workspace",
        }
    }

    /// The stub setting that bounds this kind's map.
    pub fn setting(self) -> &'static str {
        match self {
            ScopeKind::Replay => "max_replay_scopes",
            ScopeKind::Org => "orgs_cap",
            ScopeKind::Workspace => "max_workspace_scopes",
        }
    }

    /// The environment variable of [`ScopeKind::setting`].
    pub fn env(self) -> &'static str {
        match self {
            ScopeKind::Replay => "CP_STUB_MAX_REPLAY_SCOPES",
            ScopeKind::Org => "CP_STUB_ORGS_CAP",
            ScopeKind::Workspace => "CP_STUB_MAX_WORKSPACE_SCOPES",
        }
    }

    /// How the map is named in messages (`replay-scope map`).
    pub fn map_name(self) -> &'static str {
        match self {
            ScopeKind::Replay => "replay-scope map",
            ScopeKind::Org => "org-scope map",
            ScopeKind::Workspace => "workspace-scope map",
        }
    }
}

impl fmt::Display for ScopeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.param())
    }
}

impl FromStr for ScopeKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ScopeKind::ALL
            .into_iter()
            .find(|k| k.param() == s)
            .ok_or_else(|| format!("unknown scope `{s}`; use replay, org or workspace"))
    }
}

/// Default bound of the replay-scope map.
pub const DEFAULT_MAX_REPLAY_SCOPES: usize = 4_096;
/// Default bound of the workspace-scope map.
pub const DEFAULT_MAX_WORKSPACE_SCOPES: usize = 16_384;

/// The counts of one scope (or of the whole stub).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Requests answered (admin endpoints excluded).
    pub total_requests: u64,
    /// Calls per route id (with the route's own method).
    pub routes: BTreeMap<String, u64>,
    /// Answers per HTTP status.
    pub statuses: BTreeMap<String, u64>,
    /// Requests no route served (404, 405, 501).
    pub unmatched: u64,
    /// Contract violations seen in requests.
    pub violations: u64,
}

/// One scope's counts in a [`ScopedCounts`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeCounts {
    /// Stub sequence number of the call that created the entry; `None` when
    /// the scope is not tracked (never seen, reset, or evicted: see the
    /// map's [`ScopeBound::evicted_at_seq`]). Its counts are then 0.
    pub created_seq: Option<u64>,
    /// The counts.
    #[serde(flatten)]
    pub counts: Counts,
}

/// The bound of one scope map and its evictions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeBound {
    /// Setting name (`max_replay_scopes`, `orgs_cap`, `max_workspace_scopes`).
    pub setting: String,
    /// Its environment variable.
    pub env: String,
    /// Entries kept at most.
    pub cap: u64,
    /// Entries now.
    pub entries: u64,
    /// Entries evicted since the start or the last reset.
    pub evicted: u64,
    /// Stub sequence number of the latest eviction (`None`: none yet).
    pub evicted_at_seq: Option<u64>,
}

/// Answer of `GET /__/stub/counts?replay=&org=&workspace=` (each repeatable),
/// read under one lock; also what a scoped `POST /__/stub/snapshot` returns.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopedCounts {
    /// Sequence number of the newest call.
    pub seq: u64,
    /// Bumped by every unscoped reset and snapshot.
    pub generation: u64,
    /// The whole stub's counts.
    pub all: Counts,
    /// Requested replay scopes.
    #[serde(default)]
    pub replays: BTreeMap<String, ScopeCounts>,
    /// Requested org scopes.
    #[serde(default)]
    pub orgs: BTreeMap<String, ScopeCounts>,
    /// Requested workspace scopes.
    #[serde(default)]
    pub workspaces: BTreeMap<String, ScopeCounts>,
    /// Each map's bound, keyed `replay`, `org`, `workspace`.
    pub bounds: BTreeMap<ScopeKind, ScopeBound>,
}

impl ScopedCounts {
    /// The scopes of one kind.
    pub fn of(&self, kind: ScopeKind) -> &BTreeMap<String, ScopeCounts> {
        match kind {
            ScopeKind::Replay => &self.replays,
            ScopeKind::Org => &self.orgs,
            ScopeKind::Workspace => &self.workspaces,
        }
    }

    /// The scopes of one kind, to fill.
    pub fn of_mut(&mut self, kind: ScopeKind) -> &mut BTreeMap<String, ScopeCounts> {
        match kind {
            ScopeKind::Replay => &mut self.replays,
            ScopeKind::Org => &mut self.orgs,
            ScopeKind::Workspace => &mut self.workspaces,
        }
    }
}

/// Set on a scoped journal page that may be missing entries of its scope:
/// the journal's bounds dropped some, or the scope map evicted the scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalLost {
    /// The scope, e.g. `workspace=ws-1`.
    pub scope: String,
    /// Entries of the scope dropped (`None`: unknown, the scope was evicted).
    pub count: Option<u64>,
    /// What dropped them, naming the bound and its environment variable.
    pub message: String,
}
