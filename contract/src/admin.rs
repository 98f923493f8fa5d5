//! Wire types of the stub's admin API under [`ADMIN_PREFIX`], shared by
//! cp-stub (which serves them) and the replay runner (which reads them).
//!
//! | method | path | answer |
//! |---|---|---|
//! | GET | `/__/stub/state` (and legacy `/__stub/state`) | [`StubState`] |
//! | GET | `/__/stub/counts?replay=&org=&workspace=` (each repeatable) | [`ScopedCounts`]: the whole stub's and each named scope's counts, under one lock |
//! | POST | `/__/stub/reset` | 200 `{"reset": true, "generation": n}`; clears counters, journal, violations, unmatched, scope maps and faults of everyone (not the workspace → org map that attributes stop, status and console): owns the whole stub |
//! | POST | `/__/stub/reset?replay=R` (or `org=`, `workspace=`) | 200 `{"reset": true, "scope": "replay=R", "generation": n, "journal_forgotten": k, "faults_cleared": f}`: forgets only that scope's counts, journal entries and faults |
//! | POST | `/__/stub/snapshot` | [`StubState`] taken and reset in one atomic step (owns the whole stub) |
//! | POST | `/__/stub/snapshot?replay=R` (or `org=`, `workspace=`) | [`ScopedCounts`] of that scope, then the scope reset, in one atomic step |
//! | GET | `/__/stub/requests?route=&org=&replay=&workspace=&method=&status=&since_seq=&since_ms=&until_ms=&unmatched=&limit=` | [`JournalPage`], at most about [`JOURNAL_PAGE_BYTES`]; continue with `since_seq=` its `next_since_seq` |
//! | GET / POST / DELETE | `/__/stub/faults` | list [`Fault`]s / add one from a [`FaultSpec`] (201) / clear all; `?replay=R`, `?org=` or `?workspace=` lists or clears only the faults of that scope |
//! | GET / DELETE | `/__/stub/faults/{id}` | one fault / remove it (404 if unknown) |
//! | GET | `/__/stub/version` | [`VersionInfo`] |
//! | GET | `/__/stub/contract` | the route table ([`crate::ROUTES`]) |
//! | GET | `/__/stub/openapi.json` | [`crate::openapi()`] |

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

pub use crate::admin_scopes::{
    Counts, JournalLost, ScopeBound, ScopeCounts, ScopeKind, ScopedCounts,
    DEFAULT_MAX_REPLAY_SCOPES, DEFAULT_MAX_WORKSPACE_SCOPES,
};
use crate::routes::RouteId;
use crate::schema::Violation;

/// Prefix of every admin endpoint.
pub const ADMIN_PREFIX: &str = "/__/stub";
/// The old stub's state path, still served.
pub const LEGACY_STATE_PATH: &str = "/__stub/state";
/// Default journal capacity (entries kept; older ones are dropped first).
pub const DEFAULT_JOURNAL_CAPACITY: usize = 1_000;
/// Default journal byte budget: entries are dropped oldest first once the
/// kept ones hold more (whichever of this and the capacity is reached first).
pub const DEFAULT_JOURNAL_BYTES: usize = 16 * 1024 * 1024;
/// Default cap on distinct org keys in [`StubState::orgs`].
pub const DEFAULT_ORGS_CAP: usize = 1_000;
/// The org key that counts the calls of every org past the cap.
pub const OTHER_ORG: &str = "<other>";
/// Largest `GET /__/stub/requests` answer body, about: a page stops before
/// the entry that would pass it ([`JournalPage::next_since_seq`] continues).
pub const JOURNAL_PAGE_BYTES: usize = 1024 * 1024;
/// Header values never stored or logged in clear.
pub const REDACTED_HEADERS: &[&str] = &[
    "authorization",
    "x-molecule-admin-token",
    "cookie",
    "proxy-authorization",
];
pub use crate::redact::REDACTED;

/// Everything the stub has counted since its start or the last reset.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StubState {
    /// Legacy flat counters, one per route (`provision_calls`,
    /// `tenants_config_calls`, `redeploy_fleet_calls`, ...). Like the old
    /// stub they count only calls with the route's own method, whatever the
    /// status (a 405 is not a provision call; a fault-injected 503 is).
    #[serde(flatten)]
    pub counters: BTreeMap<String, u64>,
    /// Every request the stub answered, admin endpoints excluded.
    pub total_requests: u64,
    /// Calls per route id (same rule as the flat counters).
    pub routes: BTreeMap<String, u64>,
    /// Answers per HTTP status (`"201"`, `"405"`, ...), admin endpoints excluded.
    pub statuses: BTreeMap<String, u64>,
    /// Calls per caller org, then per route id. The org comes from
    /// `X-Molecule-Org-Id`, else the JSON body's `org_id`, else the org bound
    /// to the presented admin token (`ORG=TOKEN`), else the org that
    /// provisioned the workspace named in the path (the real client's stop,
    /// status and console carry no org); calls with none are under `"-"`.
    /// At most [`StubState::orgs_cap`] keys: the calls of later orgs are
    /// counted under [`OTHER_ORG`] (see [`StubState::orgs_overflowed`]).
    pub orgs: BTreeMap<String, BTreeMap<String, u64>>,
    /// The cap on distinct keys of `orgs`.
    #[serde(default)]
    pub orgs_cap: u64,
    /// Calls counted under [`OTHER_ORG`] because `orgs` was full; non-zero
    /// means a per-org count of an org not listed is unknown, not zero.
    #[serde(default)]
    pub orgs_overflowed: u64,
    /// Request log lines dropped because the log writer lagged (a stdout
    /// nobody reads): logging never holds up an answer.
    #[serde(default)]
    pub log_lines_dropped: u64,
    /// Requests no route served (501 for `/cp/*`, 404 elsewhere) and wrong methods (405).
    pub unmatched: Vec<Unmatched>,
    /// Contract violations seen in requests, oldest first (bounded; see `violations_total`).
    pub violations: Vec<RecordedViolation>,
    /// Violations seen in all, including any no longer listed.
    pub violations_total: u64,
    /// Sequence number of the newest journal entry (0 before any request).
    pub journal_seq: u64,
    /// Bumped by every reset and snapshot.
    pub generation: u64,
    /// Unix time in ms of the start or the last reset.
    pub since_ms: u64,
}

impl StubState {
    /// Calls of route `route` made under `org`.
    pub fn org_calls(&self, org: &str, route: RouteId) -> u64 {
        self.orgs
            .get(org)
            .and_then(|m| m.get(route.as_str()))
            .copied()
            .unwrap_or(0)
    }
}

/// A method and path no route served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unmatched {
    /// Request method.
    pub method: String,
    /// Request path, without the query.
    pub path: String,
    /// Status answered (501, 404 or 405).
    pub status: u16,
    /// How many times.
    pub count: u64,
}

/// A contract violation found in a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedViolation {
    /// Journal sequence number of the request.
    pub seq: u64,
    /// Route id.
    pub route: RouteId,
    /// Caller org, if known.
    pub org: Option<String>,
    /// The violation.
    #[serde(flatten)]
    pub violation: Violation,
}

/// One journaled request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// Monotonic sequence number, unique for the stub's lifetime (not reset).
    pub seq: u64,
    /// Unix time in ms when the request arrived.
    pub at_ms: u64,
    /// Request method.
    pub method: String,
    /// Request path.
    pub path: String,
    /// Raw query string, if any.
    pub query: Option<String>,
    /// Route id when a route served the request.
    pub route: Option<RouteId>,
    /// Caller org: `X-Molecule-Org-Id`, else the body's `org_id`, else the
    /// org bound to the presented admin token, else the org that provisioned
    /// the workspace named in the path.
    pub org: Option<String>,
    /// The replay execution that sent it: its `X-Replay-Id` header (at
    /// most 128 bytes; a longer one is not attributed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay_id: Option<String>,
    /// The workspace the call is about: the body's `workspace_id`
    /// (provision, ensure-image), else the path's `{id}` (stop, status,
    /// console).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<String>,
    /// Status answered (0 when a fault dropped the connection).
    pub status: u16,
    /// Time to answer, in microseconds.
    pub duration_us: u64,
    /// Request headers, the value of every secret-named one
    /// ([`crate::redact::is_secret_name`]) replaced by [`REDACTED`]; at most
    /// 8 KiB in all (see `headers_truncated`).
    pub headers: BTreeMap<String, String>,
    /// Which credential headers arrived (lower-case names from
    /// [`REDACTED_HEADERS`], e.g. `authorization`, `x-molecule-admin-token`),
    /// present or not, never their values. Lets a replay assert that the
    /// tenant sent its credentials without the journal holding them.
    #[serde(default)]
    pub auth: Vec<String>,
    /// Request body, secrets masked: JSON when it parsed (and its redacted
    /// form is under 16 KiB), else a redacted text excerpt of at most 16 KiB
    /// ending `… (N bytes, truncated)` when cut.
    pub body: Option<Value>,
    /// Response body, as `body`.
    pub response: Option<Value>,
    /// Request header bytes left out: each entry keeps at most 8 KiB of
    /// headers (values cut, later headers dropped).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub headers_truncated: usize,
    /// Contract violations of this request.
    pub violations: Vec<Violation>,
    /// Id of the fault that answered, if any.
    pub fault: Option<u64>,
}

/// Answer of `GET /__/stub/requests`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JournalPage {
    /// Matching entries, oldest first.
    pub entries: Vec<JournalEntry>,
    /// Entries dropped from the journal because it was full, since the last reset.
    pub dropped: u64,
    /// Journal capacity.
    pub capacity: usize,
    /// Sequence number of the newest entry overall.
    pub last_seq: u64,
    /// Set when more entries match than fit in one page
    /// ([`JOURNAL_PAGE_BYTES`] or `limit`): ask again with `since_seq=` it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_since_seq: Option<u64>,
    /// The journal's byte budget (its entries' stored size).
    #[serde(default)]
    pub byte_budget: usize,
    /// Bytes the kept entries hold now.
    #[serde(default)]
    pub bytes: usize,
    /// Set when the query names a scope (`replay=`, `org=`, `workspace=`)
    /// some of whose entries the journal's bounds dropped: the page may miss
    /// entries of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost: Option<JournalLost>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// A programmed misbehaviour, as posted to `POST /__/stub/faults`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// Route id (see [`crate::ROUTES`]), or `*` for every CP route.
    pub route: FaultRoute,
    /// Only calls from this org.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    /// Only calls of this replay execution (`X-Replay-Id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay: Option<String>,
    /// Only calls about this workspace (body `workspace_id`, else path `{id}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<String>,
    /// Status to answer instead of the route's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Body to answer (a JSON string is sent as text). Defaults to
    /// `{"error": "cp-stub: injected fault"}` when `status` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// Extra response headers.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Wait this long before answering (or dropping).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// Close the connection without an answer.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub drop_connection: bool,
    /// Apply to this many calls, then disarm; absent = until cleared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u64>,
}

/// The routes a fault applies to: written `*` (every CP route; admin,
/// health and unmatched paths never) or a route id.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum FaultRoute {
    /// `*`: every CP route.
    #[default]
    All,
    /// One route.
    Route(RouteId),
}

impl FaultRoute {
    /// Whether a call of `route` is one this fault applies to.
    pub fn matches(self, route: RouteId) -> bool {
        match self {
            FaultRoute::All => true,
            FaultRoute::Route(id) => id == route,
        }
    }
}

impl From<RouteId> for FaultRoute {
    fn from(id: RouteId) -> Self {
        FaultRoute::Route(id)
    }
}

impl fmt::Display for FaultRoute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultRoute::All => f.write_str("*"),
            FaultRoute::Route(id) => f.write_str(id.as_str()),
        }
    }
}

/// A fault's `route` that is neither `*` nor a route id; the message lists
/// the ids.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("route: unknown route id `{0}`; use one of {known} or `*`", known = RouteId::ALL.map(RouteId::as_str).join(", "))]
pub struct UnknownFaultRoute(pub String);

impl FromStr for FaultRoute {
    type Err = UnknownFaultRoute;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "*" {
            return Ok(FaultRoute::All);
        }
        s.parse()
            .map(FaultRoute::Route)
            .map_err(|_| UnknownFaultRoute(s.to_string()))
    }
}

impl Serialize for FaultRoute {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for FaultRoute {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A fault as listed by `GET /__/stub/faults`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fault {
    /// Fault id.
    pub id: u64,
    /// What it does.
    #[serde(flatten)]
    pub spec: FaultSpec,
    /// Calls left (absent = until cleared).
    pub remaining: Option<u64>,
    /// Calls it has answered.
    pub hits: u64,
}

/// Answer of `GET /__/stub/version`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionInfo {
    /// Always `cp-stub`.
    pub name: String,
    /// Crate version.
    pub version: String,
    /// Git commit the binary was built from (`unknown` outside a checkout).
    pub git_sha: String,
    /// [`crate::fingerprint()`] of the contract compiled in; a runner with a
    /// different fingerprint is talking to a stale stub (incident D9).
    pub contract: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_routes_are_star_or_a_route_id_on_the_wire() {
        for (text, route) in [
            ("*", FaultRoute::All),
            ("provision", FaultRoute::Route(RouteId::Provision)),
            ("tenants_config", FaultRoute::Route(RouteId::TenantsConfig)),
        ] {
            let json = serde_json::to_string(&route).unwrap();
            assert_eq!(json, format!("\"{text}\""));
            assert_eq!(serde_json::from_str::<FaultRoute>(&json).unwrap(), route);
        }
        let err = serde_json::from_str::<FaultSpec>(r#"{"route":"provisoin","status":500}"#)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("route: unknown route id `provisoin`; use one of provision, "),
            "{err}"
        );
        assert!(FaultRoute::All.matches(RouteId::Stop));
        assert!(!FaultRoute::Route(RouteId::Provision).matches(RouteId::Stop));
    }
}
