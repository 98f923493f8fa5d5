//! Counters, journal, violations and faults: everything the admin API
//! reads, behind one mutex so a snapshot is atomic.
//!
//! The hot path takes the lock once per request ([`Shared::record`]), plus
//! once more only while faults are programmed. Records are stored raw (the
//! request headers already redacted) and rendered to
//! [`contract::admin::JournalEntry`] only when someone asks.
//!
//! The scope maps ([`Scopes`]: counts per replay id, org and workspace)
//! are counted under the same lock, so `GET /__/stub/counts` reads any
//! number of scopes atomically.
//!
//! The workspace → org map ([`WorkspaceOrgs`]) lives under the same lock,
//! filled by successful provisions, and is the one thing `reset` and
//! `snapshot` keep.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use contract::admin::{
    Fault, FaultSpec, JournalLost, JournalPage, RecordedViolation, ScopeKind, ScopedCounts,
    StubState, Unmatched, JOURNAL_PAGE_BYTES, OTHER_ORG,
};
use contract::{Route, ROUTES};

use crate::clock::now_ms;
use crate::journal_query::JournalQuery;
use crate::record::Record;
use crate::scopes::{key_of, Scopes, Selection, Tally};
use crate::workspace_orgs::{WorkspaceOrgs, WORKSPACE_ORGS_KEPT};

const ROUTE_COUNT: usize = ROUTES.len();
/// Violations kept in `state.violations` (the total is counted apart).
const VIOLATIONS_KEPT: usize = 500;
/// Distinct unmatched method + path pairs kept.
const UNMATCHED_KEPT: usize = 256;

#[derive(Debug)]
struct ArmedFault {
    fault: Fault,
}

/// What a programmed fault tells the handler to do.
#[derive(Debug, Clone)]
pub(crate) struct FaultAction {
    pub(crate) id: u64,
    pub(crate) spec: FaultSpec,
}

#[derive(Debug)]
struct Inner {
    orgs: HashMap<String, [u64; ROUTE_COUNT]>,
    unmatched: Vec<Unmatched>,
    violations: VecDeque<RecordedViolation>,
    journal: VecDeque<Arc<Record>>,
    /// What the journal's entries hold ([`Record::cost`]).
    journal_bytes: usize,
    dropped: u64,
    /// Calls counted under [`OTHER_ORG`] because `orgs` was full.
    orgs_overflowed: u64,
    seq: u64,
    generation: u64,
    since_ms: u64,
    faults: Vec<ArmedFault>,
    next_fault: u64,
    /// Not cleared by `reset`: a workspace keeps its org across test phases.
    workspace_orgs: WorkspaceOrgs,
    /// The whole stub's counts (`/state` and `/counts` both read them),
    /// in the scope maps' shape.
    all: Tally,
    scopes: Scopes,
}

impl Inner {
    fn new(scope_caps: [usize; 3]) -> Self {
        Inner {
            orgs: HashMap::new(),
            unmatched: Vec::new(),
            violations: VecDeque::new(),
            journal: VecDeque::new(),
            journal_bytes: 0,
            dropped: 0,
            orgs_overflowed: 0,
            seq: 0,
            generation: 0,
            since_ms: now_ms(),
            faults: Vec::new(),
            next_fault: 1,
            workspace_orgs: WorkspaceOrgs::new(WORKSPACE_ORGS_KEPT),
            all: Tally::default(),
            scopes: Scopes::new(scope_caps),
        }
    }

    fn reset(&mut self) {
        self.orgs.clear();
        self.unmatched.clear();
        self.violations.clear();
        self.journal.clear();
        self.journal_bytes = 0;
        self.dropped = 0;
        self.orgs_overflowed = 0;
        self.faults.clear();
        self.all = Tally::default();
        self.scopes.clear();
        // `workspace_orgs` stays: see the module docs.
        self.generation += 1;
        self.since_ms = now_ms();
    }

    fn state(&self, orgs_cap: usize) -> StubState {
        // The whole stub's counts are one tally, the same kind as a scope's.
        let mut counters = BTreeMap::new();
        let mut routes = BTreeMap::new();
        for (i, r) in ROUTES.iter().enumerate() {
            counters.insert(r.counter.to_string(), self.all.routes[i]);
            routes.insert(r.id.to_string(), self.all.routes[i]);
        }
        let all = self.all.render();
        let orgs = self
            .orgs
            .iter()
            .map(|(org, counts)| {
                let per: BTreeMap<String, u64> = ROUTES
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| counts[*i] > 0)
                    .map(|(i, r)| (r.id.to_string(), counts[i]))
                    .collect();
                (org.clone(), per)
            })
            .collect();
        StubState {
            counters,
            total_requests: self.all.total,
            routes,
            statuses: all.statuses,
            orgs,
            orgs_cap: orgs_cap as u64,
            orgs_overflowed: self.orgs_overflowed,
            log_lines_dropped: 0,
            unmatched: self.unmatched.clone(),
            violations: self.violations.iter().cloned().collect(),
            violations_total: self.all.violations,
            journal_seq: self.seq,
            generation: self.generation,
            since_ms: self.since_ms,
        }
    }
}

/// The shared, locked state of one stub.
#[derive(Debug)]
pub(crate) struct Shared {
    inner: Mutex<Inner>,
    /// True while at least one fault is armed: lets the hot path skip the
    /// fault lookup (and its lock) when none is.
    faults_armed: AtomicBool,
    capacity: usize,
    byte_budget: usize,
    orgs_cap: usize,
}

/// The bounds of a [`Shared`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bounds {
    /// Journal entries kept.
    pub(crate) capacity: usize,
    /// Journal bytes kept.
    pub(crate) byte_budget: usize,
    /// Distinct org keys (state and org scopes).
    pub(crate) orgs_cap: usize,
    /// Replay scopes kept.
    pub(crate) replay_scopes: usize,
    /// Workspace scopes kept.
    pub(crate) workspace_scopes: usize,
}

impl Shared {
    /// Keep at most `capacity` journal entries holding at most
    /// `byte_budget` bytes, `orgs_cap` distinct org keys, and the scope maps
    /// to their bounds.
    pub(crate) fn new(b: Bounds) -> Self {
        let Bounds {
            capacity,
            byte_budget,
            orgs_cap,
            replay_scopes,
            workspace_scopes,
        } = b;
        Shared {
            inner: Mutex::new(Inner::new([replay_scopes, orgs_cap, workspace_scopes])),
            faults_armed: AtomicBool::new(false),
            capacity,
            byte_budget,
            orgs_cap,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Count and journal one answered (or dropped) request (per-org counts
    /// under `"-"` when the org is unknown).
    pub(crate) fn record(&self, mut rec: Record) {
        let cost = rec.cost();
        if self.capacity == 0 || cost > self.byte_budget {
            let mut st = self.lock();
            self.count(&mut st, &mut rec);
            st.dropped += 1;
            st.scopes.journal_dropped(&rec);
            return;
        }
        // Allocate the journal entry before taking the lock and free the
        // ones it replaces after: the critical section only counts and
        // moves pointers.
        let mut entry = Arc::new(rec);
        let mut evicted = Vec::new();
        {
            let mut st = self.lock();
            if let Some(rec) = Arc::get_mut(&mut entry) {
                self.count(&mut st, rec);
            }
            while !st.journal.is_empty()
                && (st.journal.len() >= self.capacity || st.journal_bytes + cost > self.byte_budget)
            {
                if let Some(old) = st.journal.pop_front() {
                    st.journal_bytes -= old.cost();
                    st.dropped += 1;
                    st.scopes.journal_dropped(&old);
                    evicted.push(old);
                }
            }
            st.journal_bytes += cost;
            st.journal.push_back(entry);
        }
        drop(evicted);
    }

    /// Counters, per-org counts, unmatched calls and violations of one call;
    /// gives it its sequence number.
    fn count(&self, st: &mut Inner, rec: &mut Record) {
        st.seq += 1;
        rec.seq = st.seq;
        if let (Some(ws), Some(org)) = (rec.provisioned(), rec.org()) {
            st.workspace_orgs.insert(ws, org);
        }
        st.all.add(rec);
        st.scopes.add(rec.seq, rec);
        match rec.route {
            Some(route) => {
                // The route table is in `RouteId` order.
                let i = route.id as usize;
                let mut org = rec.org().unwrap_or("-");
                if !st.orgs.contains_key(org) && st.orgs.len() >= self.orgs_cap {
                    // Full: this org's calls go under one key, said so in the state.
                    org = OTHER_ORG;
                    st.orgs_overflowed += 1;
                }
                match st.orgs.get_mut(org) {
                    Some(counts) => counts[i] += 1,
                    None => {
                        let mut counts = [0; ROUTE_COUNT];
                        counts[i] = 1;
                        st.orgs.insert(org.to_string(), counts);
                    }
                }
            }
            None => {
                let method = rec.method.as_str();
                if let Some(u) = st
                    .unmatched
                    .iter_mut()
                    .find(|u| u.method == method && u.path == rec.path() && u.status == rec.status)
                {
                    u.count += 1;
                } else if st.unmatched.len() < UNMATCHED_KEPT {
                    st.unmatched.push(Unmatched {
                        method: method.to_string(),
                        path: rec.path().to_string(),
                        status: rec.status,
                        count: 1,
                    });
                }
            }
        }
        // Only a route has a request schema, so only a routed call has violations.
        if let Some(route) = rec.route {
            for v in &rec.violations {
                if st.violations.len() >= VIOLATIONS_KEPT {
                    st.violations.pop_front();
                }
                let recorded = RecordedViolation {
                    seq: rec.seq,
                    route: route.id,
                    org: rec.org().map(str::to_string),
                    violation: v.clone(),
                };
                st.violations.push_back(recorded);
            }
        }
    }

    pub(crate) fn state(&self) -> StubState {
        self.lock().state(self.orgs_cap)
    }

    /// Reset; returns the new generation.
    pub(crate) fn reset(&self) -> u64 {
        let mut st = self.lock();
        st.reset();
        self.faults_armed.store(false, Ordering::Release);
        st.generation
    }

    /// The state and a reset under one lock: no request is lost or counted twice.
    pub(crate) fn snapshot(&self) -> StubState {
        let mut st = self.lock();
        let out = st.state(self.orgs_cap);
        st.reset();
        self.faults_armed.store(false, Ordering::Release);
        out
    }

    /// One page of matching entries, oldest first: at most `q.limit`
    /// entries and about [`JOURNAL_PAGE_BYTES`] of JSON (always at least
    /// one entry); `next_since_seq` says where the next page starts.
    pub(crate) fn journal(&self, q: &JournalQuery) -> JournalPage {
        let (picked, dropped, last_seq, bytes, lost) = {
            let st = self.lock();
            let picked: Vec<Arc<Record>> = st
                .journal
                .iter()
                .filter(|r| q.matches(r))
                .cloned()
                .collect();
            // Entries matching several scopes are entries of each: the page
            // is complete when one of its scopes lost nothing.
            let mut lost = None;
            for (kind, key) in q.scopes() {
                match self.lost(&st, kind, key) {
                    None => {
                        lost = None;
                        break;
                    }
                    Some(l) => {
                        lost.get_or_insert(l);
                    }
                }
            }
            (picked, st.dropped, st.seq, st.journal_bytes, lost)
        };
        let limit = q.limit.unwrap_or(usize::MAX);
        let mut entries = Vec::new();
        let mut size = 0;
        let mut next_since_seq = None;
        for (n, r) in picked.iter().enumerate() {
            let entry = r.render();
            let entry_size = serde_json::to_vec(&entry).map_or(0, |v| v.len());
            if n >= limit || (n > 0 && size + entry_size > JOURNAL_PAGE_BYTES) {
                next_since_seq = entries
                    .last()
                    .map(|e: &contract::admin::JournalEntry| e.seq);
                break;
            }
            size += entry_size + 1;
            entries.push(entry);
        }
        JournalPage {
            entries,
            dropped,
            capacity: self.capacity,
            last_seq,
            next_since_seq,
            byte_budget: self.byte_budget,
            bytes,
            lost,
        }
    }

    /// Why a journal page of scope `kind=key` may miss entries, if it may.
    fn lost(&self, st: &Inner, kind: ScopeKind, key: &str) -> Option<JournalLost> {
        let map = st.scopes.map(kind);
        let scope = format!("{kind}={key}");
        match map.get(key) {
            Some(e) if e.journal_dropped > 0 => Some(JournalLost {
                message: format!(
                    "the journal's bounds (journal_capacity: CP_STUB_JOURNAL_CAPACITY={}, journal_bytes: CP_STUB_JOURNAL_BYTES={}) dropped {} entries of {scope}; the page may miss some of them — raise the bound, or query sooner",
                    self.capacity, self.byte_budget, e.journal_dropped
                ),
                scope,
                count: Some(e.journal_dropped),
            }),
            Some(e) if e.earlier_life => Some(JournalLost {
                message: format!(
                    "the stub's {} ({}={}) evicted {scope} before; entries of its earlier life the journal dropped are not counted, so the page may miss some — raise the bound",
                    kind.map_name(),
                    kind.env(),
                    map.bound().cap
                ),
                scope,
                count: None,
            }),
            Some(_) => None,
            None if map.has_evicted() => Some(JournalLost {
                message: format!(
                    "the stub's {} ({}={}) evicted entries, and {scope} is not tracked: whether the journal's bounds dropped entries of it is unknown — raise the bound",
                    kind.map_name(),
                    kind.env(),
                    map.bound().cap
                ),
                scope,
                count: None,
            }),
            None => None,
        }
    }

    /// The whole stub's counts and each selected scope's, under one lock.
    pub(crate) fn counts(&self, sel: &Selection) -> ScopedCounts {
        Self::counts_of(&self.lock(), sel)
    }

    fn counts_of(st: &Inner, sel: &Selection) -> ScopedCounts {
        let mut out = ScopedCounts {
            seq: st.seq,
            generation: st.generation,
            all: st.all.render(),
            bounds: st.scopes.bounds(),
            ..ScopedCounts::default()
        };
        for (kind, key) in &sel.0 {
            let counts = st.scopes.map(*kind).counts(key);
            out.of_mut(*kind).insert(key.clone(), counts);
        }
        out
    }

    /// Forget one scope: its counts, journal entries and faults. Returns
    /// (journal entries forgotten, faults cleared).
    pub(crate) fn reset_scope(&self, kind: ScopeKind, key: &str) -> (usize, usize) {
        let mut st = self.lock();
        Self::reset_scope_locked(&mut st, kind, key, self)
    }

    fn reset_scope_locked(
        st: &mut Inner,
        kind: ScopeKind,
        key: &str,
        me: &Shared,
    ) -> (usize, usize) {
        st.scopes.map_mut(kind).forget(key);
        let before = st.journal.len();
        let mut freed = 0;
        st.journal.retain(|r| {
            let mine = key_of(r, kind) == Some(key);
            if mine {
                freed += r.cost();
            }
            !mine
        });
        st.journal_bytes -= freed;
        let forgotten = before - st.journal.len();
        let faults = st.faults.len();
        st.faults
            .retain(|f| fault_scope(&f.fault.spec, kind) != Some(key));
        let cleared = faults - st.faults.len();
        me.update_armed(st);
        (forgotten, cleared)
    }

    /// One scope's counts, then the scope reset, under one lock.
    pub(crate) fn snapshot_scope(&self, kind: ScopeKind, key: &str) -> ScopedCounts {
        let mut st = self.lock();
        let sel = Selection(vec![(kind, key.to_string())]);
        let out = Self::counts_of(&st, &sel);
        Self::reset_scope_locked(&mut st, kind, key, self);
        out
    }

    /// Remove the faults of one scope; how many.
    pub(crate) fn clear_scope_faults(&self, kind: ScopeKind, key: &str) -> usize {
        let mut st = self.lock();
        let n = st.faults.len();
        st.faults
            .retain(|f| fault_scope(&f.fault.spec, kind) != Some(key));
        self.update_armed(&st);
        n - st.faults.len()
    }

    /// The programmed faults: all, or those of one scope.
    pub(crate) fn faults(&self, scope: Option<(ScopeKind, &str)>) -> Vec<Fault> {
        self.lock()
            .faults
            .iter()
            .filter(|f| {
                scope.is_none_or(|(kind, key)| fault_scope(&f.fault.spec, kind) == Some(key))
            })
            .map(|f| f.fault.clone())
            .collect()
    }

    /// One programmed fault.
    pub(crate) fn fault(&self, id: u64) -> Option<Fault> {
        self.lock()
            .faults
            .iter()
            .find(|f| f.fault.id == id)
            .map(|f| f.fault.clone())
    }

    pub(crate) fn add_fault(&self, spec: FaultSpec) -> Fault {
        let mut st = self.lock();
        let id = st.next_fault;
        st.next_fault += 1;
        let fault = Fault {
            id,
            remaining: spec.times,
            spec,
            hits: 0,
        };
        st.faults.push(ArmedFault {
            fault: fault.clone(),
        });
        self.update_armed(&st);
        fault
    }

    pub(crate) fn clear_faults(&self) -> usize {
        let mut st = self.lock();
        let n = st.faults.len();
        st.faults.clear();
        self.update_armed(&st);
        n
    }

    pub(crate) fn delete_fault(&self, id: u64) -> Option<Fault> {
        let mut st = self.lock();
        let pos = st.faults.iter().position(|f| f.fault.id == id)?;
        let removed = st.faults.remove(pos);
        self.update_armed(&st);
        Some(removed.fault)
    }

    fn update_armed(&self, st: &Inner) {
        let armed = st.faults.iter().any(|f| f.fault.remaining != Some(0));
        self.faults_armed.store(armed, Ordering::Release);
    }

    /// The first armed fault for this route and the call's scopes (org,
    /// replay, workspace), consumed by one call.
    pub(crate) fn take_fault(&self, route: &Route, rec: &Record) -> Option<FaultAction> {
        if !self.faults_armed.load(Ordering::Acquire) {
            return None;
        }
        let mut st = self.lock();
        let found = st.faults.iter_mut().find(|f| {
            let spec = &f.fault.spec;
            f.fault.remaining != Some(0)
                && spec.route.matches(route.id)
                && ScopeKind::ALL.into_iter().all(|kind| {
                    fault_scope(spec, kind).is_none_or(|want| Some(want) == key_of(rec, kind))
                })
        })?;
        found.fault.hits += 1;
        if let Some(left) = found.fault.remaining.as_mut() {
            *left = left.saturating_sub(1);
        }
        let action = FaultAction {
            id: found.fault.id,
            spec: found.fault.spec.clone(),
        };
        self.update_armed(&st);
        Some(action)
    }

    /// The org that last provisioned `workspace` (successfully), if remembered.
    pub(crate) fn workspace_org(&self, workspace: &str) -> Option<String> {
        self.lock()
            .workspace_orgs
            .get(workspace)
            .map(str::to_string)
    }

    /// Org ids seen so far (for the redeploy-fleet answer).
    pub(crate) fn orgs_seen(&self) -> Vec<String> {
        let st = self.lock();
        let mut orgs: Vec<String> = st
            .orgs
            .keys()
            .filter(|o| *o != "-" && *o != OTHER_ORG)
            .cloned()
            .collect();
        orgs.sort();
        orgs
    }
}

/// The scope of one kind a fault is limited to, if any.
fn fault_scope(spec: &FaultSpec, kind: ScopeKind) -> Option<&str> {
    match kind {
        ScopeKind::Replay => spec.replay.as_deref(),
        ScopeKind::Org => spec.org.as_deref(),
        ScopeKind::Workspace => spec.workspace.as_deref(),
    }
}
