//! Per-scope counts: one bounded map per [`ScopeKind`] (replay id, org,
//! workspace), each entry the same counts as the whole stub's.
//!
//! A map at its bound evicts the entry created first and remembers the
//! sequence number of that eviction; every entry remembers the sequence
//! number of the call that created it. A reader comparing two reads can so
//! tell an exact delta (same entry in both, or no eviction in between) from
//! one whose data was lost.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::hash::{Hash, Hasher};

use contract::admin::{Counts, ScopeBound, ScopeCounts, ScopeKind};
use contract::ROUTES;

use crate::query;
use crate::record::Record;

const ROUTE_COUNT: usize = ROUTES.len();

/// Counts of one scope (or the whole stub).
#[derive(Debug, Clone, Default)]
pub(crate) struct Tally {
    pub(crate) routes: [u64; ROUTE_COUNT],
    pub(crate) total: u64,
    /// (status, n); a scope sees few distinct statuses.
    statuses: Vec<(u16, u64)>,
    pub(crate) unmatched: u64,
    pub(crate) violations: u64,
}

impl Tally {
    /// Count one call.
    pub(crate) fn add(&mut self, rec: &Record) {
        self.total += 1;
        match self.statuses.iter_mut().find(|(s, _)| *s == rec.status) {
            Some((_, n)) => *n += 1,
            None => self.statuses.push((rec.status, 1)),
        }
        match rec.route {
            // The route table is in `RouteId` order.
            Some(route) => {
                self.routes[route.id as usize] += 1;
                self.violations += rec.violations.len() as u64;
            }
            None => self.unmatched += 1,
        }
    }

    pub(crate) fn render(&self) -> Counts {
        let mut statuses: Vec<_> = self.statuses.clone();
        statuses.sort_unstable();
        Counts {
            total_requests: self.total,
            routes: ROUTES
                .iter()
                .zip(self.routes)
                .filter(|(_, n)| *n > 0)
                .map(|(r, n)| (r.id.to_string(), n))
                .collect(),
            statuses: statuses
                .into_iter()
                .map(|(s, n)| (s.to_string(), n))
                .collect(),
            unmatched: self.unmatched,
            violations: self.violations,
        }
    }
}

#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) tally: Tally,
    created_seq: u64,
    /// This scope's journal entries dropped by the journal's bounds.
    pub(crate) journal_dropped: u64,
    /// The key was evicted before (or may have been: the map forgot which
    /// keys it evicted), so journal entries of its earlier life may have
    /// been dropped uncounted.
    pub(crate) earlier_life: bool,
}

/// One bounded scope map.
#[derive(Debug)]
pub(crate) struct ScopeMap {
    kind: ScopeKind,
    cap: usize,
    entries: HashMap<String, Entry>,
    /// Keys in creation order, with their `created_seq` (an item whose
    /// entry was since reset or recreated is stale and skipped).
    order: VecDeque<(String, u64)>,
    evicted: u64,
    evicted_at_seq: Option<u64>,
    /// Hashes of evicted keys, the latest `cap` of them.
    evicted_keys: HashSet<u64>,
    evicted_order: VecDeque<u64>,
    /// More keys were evicted than `evicted_keys` holds.
    forgot_evicted: bool,
}

fn key_hash(key: &str) -> u64 {
    let mut h = DefaultHasher::new();
    key.hash(&mut h);
    h.finish()
}

impl ScopeMap {
    pub(crate) fn new(kind: ScopeKind, cap: usize) -> Self {
        ScopeMap {
            kind,
            cap: cap.max(1),
            entries: HashMap::new(),
            order: VecDeque::new(),
            evicted: 0,
            evicted_at_seq: None,
            evicted_keys: HashSet::new(),
            evicted_order: VecDeque::new(),
            forgot_evicted: false,
        }
    }

    fn remember_evicted(&mut self, key: &str) {
        let h = key_hash(key);
        if self.evicted_keys.insert(h) {
            self.evicted_order.push_back(h);
        }
        if self.evicted_order.len() > self.cap {
            if let Some(old) = self.evicted_order.pop_front() {
                self.evicted_keys.remove(&old);
            }
            self.forgot_evicted = true;
        }
    }

    /// Count call `rec` (sequence `seq`) under `key`.
    pub(crate) fn add(&mut self, key: &str, seq: u64, rec: &Record) {
        if let Some(e) = self.entries.get_mut(key) {
            e.tally.add(rec);
            return;
        }
        while self.entries.len() >= self.cap {
            let Some((old, created)) = self.order.pop_front() else {
                break;
            };
            if self
                .entries
                .get(&old)
                .is_some_and(|e| e.created_seq == created)
            {
                self.entries.remove(&old);
                self.evicted += 1;
                self.evicted_at_seq = Some(seq);
                self.remember_evicted(&old);
            }
        }
        let mut tally = Tally::default();
        tally.add(rec);
        self.entries.insert(
            key.to_string(),
            Entry {
                tally,
                created_seq: seq,
                journal_dropped: 0,
                earlier_life: self.forgot_evicted || self.evicted_keys.contains(&key_hash(key)),
            },
        );
        self.order.push_back((key.to_string(), seq));
        // Stale items (scoped resets) never outnumber the live ones for long.
        if self.order.len() > 2 * self.cap + 16 {
            let entries = &self.entries;
            self.order
                .retain(|(k, c)| entries.get(k).is_some_and(|e| e.created_seq == *c));
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.get(key)
    }

    /// Whether the map evicted anything (so an untracked key may have had calls).
    pub(crate) fn has_evicted(&self) -> bool {
        self.evicted > 0
    }

    /// Forget one scope; true if it was tracked.
    pub(crate) fn forget(&mut self, key: &str) -> bool {
        self.entries.remove(key).is_some()
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.order.clear();
        self.evicted = 0;
        self.evicted_at_seq = None;
        self.evicted_keys.clear();
        self.evicted_order.clear();
        self.forgot_evicted = false;
    }

    /// The counts of `key` as answered (zeros and no `created_seq` when untracked).
    pub(crate) fn counts(&self, key: &str) -> ScopeCounts {
        match self.entries.get(key) {
            Some(e) => ScopeCounts {
                created_seq: Some(e.created_seq),
                counts: e.tally.render(),
            },
            None => ScopeCounts::default(),
        }
    }

    pub(crate) fn bound(&self) -> ScopeBound {
        ScopeBound {
            setting: self.kind.setting().to_string(),
            env: self.kind.env().to_string(),
            cap: self.cap as u64,
            entries: self.entries.len() as u64,
            evicted: self.evicted,
            evicted_at_seq: self.evicted_at_seq,
        }
    }
}

/// The scope a call belongs to for one kind.
pub(crate) fn key_of(rec: &Record, kind: ScopeKind) -> Option<&str> {
    match kind {
        ScopeKind::Replay => rec.replay(),
        ScopeKind::Org => rec.org(),
        ScopeKind::Workspace => rec.workspace(),
    }
}

/// Scopes named in a query string (`replay=R&org=O&workspace=W`, each
/// repeatable); other parameters are the caller's to check.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Selection(pub(crate) Vec<(ScopeKind, String)>);

impl Selection {
    /// Parse the scope parameters of `query`; with `only_scopes`, any other
    /// parameter is an error naming it.
    pub(crate) fn parse(query: Option<&str>, only_scopes: bool) -> Result<Selection, String> {
        let mut out = Vec::new();
        for (k, v) in query.map(query::pairs).into_iter().flatten() {
            match k.parse::<ScopeKind>() {
                Ok(kind) if v.is_empty() => {
                    return Err(format!(
                        "query parameter `{kind}` is empty: name the {kind} (e.g. `{kind}=<id>`)"
                    ))
                }
                Ok(kind) => out.push((kind, v.into_owned())),
                Err(_) if only_scopes => {
                    return Err(format!(
                        "unknown query parameter `{k}`; scopes: replay, org, workspace (each repeatable)"
                    ))
                }
                Err(_) => {}
            }
        }
        Ok(Selection(out))
    }

    /// `replay=R`, for messages.
    #[cfg(test)]
    fn describe(&self) -> String {
        let parts: Vec<String> = self.0.iter().map(|(k, v)| format!("{k}={v}")).collect();
        parts.join("&")
    }
}

/// Where `kind`'s map is in [`Scopes::maps`] (the order of [`Scopes::new`]).
fn index(kind: ScopeKind) -> usize {
    match kind {
        ScopeKind::Replay => 0,
        ScopeKind::Org => 1,
        ScopeKind::Workspace => 2,
    }
}

/// The three maps.
#[derive(Debug)]
pub(crate) struct Scopes {
    maps: [ScopeMap; 3],
}

impl Scopes {
    pub(crate) fn new(caps: [usize; 3]) -> Self {
        let [r, o, w] = caps;
        Scopes {
            maps: [
                ScopeMap::new(ScopeKind::Replay, r),
                ScopeMap::new(ScopeKind::Org, o),
                ScopeMap::new(ScopeKind::Workspace, w),
            ],
        }
    }

    pub(crate) fn map(&self, kind: ScopeKind) -> &ScopeMap {
        &self.maps[index(kind)]
    }

    pub(crate) fn map_mut(&mut self, kind: ScopeKind) -> &mut ScopeMap {
        &mut self.maps[index(kind)]
    }

    /// Count one call in each scope it belongs to.
    pub(crate) fn add(&mut self, seq: u64, rec: &Record) {
        for map in &mut self.maps {
            if let Some(key) = key_of(rec, map.kind) {
                map.add(key, seq, rec);
            }
        }
    }

    /// One journal entry dropped by the journal's bounds.
    pub(crate) fn journal_dropped(&mut self, rec: &Record) {
        for map in &mut self.maps {
            if let Some(e) = key_of(rec, map.kind).and_then(|k| map.entries.get_mut(k)) {
                // An entry created after the record is a later life of the scope.
                if e.created_seq <= rec.seq {
                    e.journal_dropped += 1;
                }
            }
        }
    }

    pub(crate) fn clear(&mut self) {
        self.maps.iter_mut().for_each(ScopeMap::clear);
    }

    pub(crate) fn bounds(&self) -> BTreeMap<ScopeKind, ScopeBound> {
        self.maps.iter().map(|m| (m.kind, m.bound())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(replay: &str) -> Record {
        let mut h = http::HeaderMap::new();
        h.insert("x-replay-id", replay.parse().unwrap());
        let mut r = Record::new(&http::Method::GET, &"/cp/x".parse().unwrap(), None, &h, 0);
        r.status = 501;
        r
    }

    #[test]
    fn a_full_map_evicts_the_oldest_created_and_says_when() {
        let mut m = ScopeMap::new(ScopeKind::Replay, 2);
        m.add("a", 1, &rec("a"));
        m.add("b", 2, &rec("b"));
        m.add("a", 3, &rec("a"));
        assert_eq!(m.bound().evicted_at_seq, None);
        m.add("c", 4, &rec("c"));
        assert!(m.get("a").is_none(), "a was created first");
        assert_eq!(m.counts("b").created_seq, Some(2));
        assert_eq!(m.bound().evicted_at_seq, Some(4));
        assert_eq!(m.bound().evicted, 1);
        // A forgotten key leaves a stale order item that is skipped.
        assert!(m.forget("b"));
        m.add("d", 5, &rec("d"));
        assert_eq!(m.bound().evicted, 1, "room was made by the reset");
        m.add("e", 6, &rec("e"));
        assert!(m.get("c").is_none() && m.get("d").is_some());
        assert!(!m.get("d").unwrap().earlier_life);
        let c = m.counts("d").counts;
        assert_eq!((c.total_requests, c.unmatched), (1, 1));
        assert_eq!(c.statuses.get("501"), Some(&1));
        m.add("a", 7, &rec("a"));
        assert!(m.get("a").unwrap().earlier_life, "a was evicted before");
    }

    #[test]
    fn selections_name_their_scopes() {
        let s = Selection::parse(Some("replay=r1&workspace=w%201&limit=3"), false).unwrap();
        assert_eq!(s.describe(), "replay=r1&workspace=w 1");
        assert!(Selection::parse(Some("limit=3"), true)
            .unwrap_err()
            .contains("unknown query parameter `limit`"));
        assert!(Selection::parse(Some("org="), true)
            .unwrap_err()
            .contains("`org` is empty"));
    }
}
