//! Counters, journal, violations and faults: everything the admin API
//! reads, behind one mutex so a snapshot is atomic.
//!
//! The hot path takes the lock once per request ([`Shared::record`]), plus
//! once more only while faults are programmed. Records are stored raw (the
//! request headers already redacted) and rendered to
//! [`contract::admin::JournalEntry`] only when someone asks.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use contract::admin::{
    Fault, FaultSpec, JournalEntry, JournalPage, RecordedViolation, StubState, Unmatched, REDACTED,
    REDACTED_HEADERS,
};
use contract::{Route, Violation, ROUTES};
use http::Method;
use serde_json::Value;

use crate::redact;

pub(crate) const ROUTE_COUNT: usize = ROUTES.len();
/// Violations kept in `state.violations` (the total is counted apart).
pub(crate) const VIOLATIONS_KEPT: usize = 500;
/// Distinct unmatched method + path pairs kept.
pub(crate) const UNMATCHED_KEPT: usize = 256;
/// Request bodies up to this size are kept whole in the journal.
pub(crate) const BODY_KEPT_WHOLE: usize = 64 * 1024;
/// Larger bodies keep this many leading bytes.
pub(crate) const BODY_KEPT_TRUNCATED: usize = 4 * 1024;

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

pub(crate) fn route_index(route: &Route) -> usize {
    ROUTES.iter().position(|r| r.id == route.id).unwrap_or(0)
}

/// Where one field of a [`Record`] lies in its buffer.
#[derive(Debug, Clone, Copy, Default)]
struct Span {
    start: u32,
    end: u32,
}

/// A request as kept in the journal.
///
/// Its variable-size parts — path, query, headers, body, org and response —
/// sit one after the other in one buffer: one allocation per call instead
/// of six (and as many frees when the entry is dropped).
#[derive(Debug)]
pub(crate) struct Record {
    pub seq: u64,
    pub at_ms: u64,
    pub method: Method,
    pub route: Option<&'static Route>,
    pub status: u16,
    pub duration_us: u64,
    /// Bit i set = `REDACTED_HEADERS[i]` arrived.
    pub auth: u8,
    /// Size of the body when only its first bytes are kept.
    pub body_truncated_from: Option<usize>,
    pub violations: Vec<Violation>,
    pub fault: Option<u64>,
    data: Vec<u8>,
    path: Span,
    query: Option<Span>,
    /// Request headers as `name:value\n` lines, credential values already
    /// `<redacted>`.
    headers: Span,
    body: Option<Span>,
    org: Option<Span>,
    response: Option<Span>,
}

impl Record {
    /// A record of a request: method, path, query and headers (credential
    /// values redacted; which credentials came is noted in `auth`).
    /// `body_hint` (the declared body size, if known) sizes the buffer.
    pub(crate) fn new(
        method: &Method,
        uri: &http::Uri,
        route: Option<&'static Route>,
        headers: &http::HeaderMap,
        body_hint: u64,
    ) -> Self {
        let path = uri.path();
        let query = uri.query();
        let mut headers_size = 0;
        for (name, value) in headers {
            headers_size += name.as_str().len() + value.len() + 2;
        }
        let body = usize::try_from(body_hint)
            .unwrap_or(usize::MAX)
            .min(BODY_KEPT_WHOLE);
        // Room for the org and a typical answer too.
        let capacity = path.len() + query.map_or(0, str::len) + headers_size + body + 320;
        let mut rec = Record {
            seq: 0,
            at_ms: now_ms(),
            method: method.clone(),
            route,
            status: 0,
            duration_us: 0,
            auth: 0,
            body_truncated_from: None,
            violations: Vec::new(),
            fault: None,
            data: Vec::with_capacity(capacity),
            path: Span::default(),
            query: None,
            headers: Span::default(),
            body: None,
            org: None,
            response: None,
        };
        rec.path = rec.push(path.as_bytes());
        rec.query = query.map(|q| rec.push(q.as_bytes()));
        let start = rec.data.len();
        for (name, value) in headers {
            rec.data.extend_from_slice(name.as_str().as_bytes());
            rec.data.push(b':');
            match REDACTED_HEADERS.iter().position(|h| *h == name.as_str()) {
                Some(i) => {
                    rec.auth |= 1 << i;
                    rec.data.extend_from_slice(REDACTED.as_bytes());
                }
                // Header values never contain `\n` (hyper refuses them).
                None => rec.data.extend_from_slice(value.as_bytes()),
            }
            rec.data.push(b'\n');
        }
        rec.headers = rec.span_from(start);
        rec
    }

    fn push(&mut self, bytes: &[u8]) -> Span {
        let start = self.data.len();
        self.data.extend_from_slice(bytes);
        self.span_from(start)
    }

    fn span_from(&self, start: usize) -> Span {
        // Bodies are kept to 64 KiB and headers are bounded by hyper: the
        // buffer stays far below 4 GiB.
        Span {
            start: u32::try_from(start).unwrap_or(u32::MAX),
            end: u32::try_from(self.data.len()).unwrap_or(u32::MAX),
        }
    }

    fn bytes(&self, span: Span) -> &[u8] {
        self.data
            .get(span.start as usize..span.end as usize)
            .unwrap_or_default()
    }

    fn text(&self, span: Span) -> &str {
        std::str::from_utf8(self.bytes(span)).unwrap_or_default()
    }

    /// The request path.
    pub(crate) fn path(&self) -> &str {
        self.text(self.path)
    }

    /// The raw query string, if any.
    pub(crate) fn query(&self) -> Option<&str> {
        self.query.map(|s| self.text(s))
    }

    /// The caller's org, once known.
    pub(crate) fn org(&self) -> Option<&str> {
        self.org.map(|s| self.text(s))
    }

    pub(crate) fn set_org(&mut self, org: Option<&str>) {
        self.org = org.map(|o| self.push(o.as_bytes()));
    }

    /// Keep `body` in the journal, truncated when large (bounded memory).
    pub(crate) fn set_body(&mut self, body: &[u8]) {
        if body.is_empty() {
            return;
        }
        if body.len() <= BODY_KEPT_WHOLE {
            self.body = Some(self.push(body));
        } else {
            self.body = Some(self.push(&body[..BODY_KEPT_TRUNCATED]));
            self.body_truncated_from = Some(body.len());
        }
    }

    pub(crate) fn set_response(&mut self, response: Option<&[u8]>) {
        self.response = response.map(|r| self.push(r));
    }

    fn render(&self) -> JournalEntry {
        let mut headers = BTreeMap::new();
        for line in self
            .bytes(self.headers)
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
        {
            let colon = line.iter().position(|b| *b == b':').unwrap_or(line.len());
            let name = String::from_utf8_lossy(&line[..colon]).into_owned();
            let text = String::from_utf8_lossy(line.get(colon + 1..).unwrap_or(&[])).into_owned();
            headers
                .entry(name)
                .and_modify(|v: &mut String| {
                    v.push_str(", ");
                    v.push_str(&text);
                })
                .or_insert(text);
        }
        let body = self
            .body
            .map(|b| self.bytes(b))
            .map(|b| match self.body_truncated_from {
                Some(total) => Value::String(format!(
                    "{}… ({total} bytes, truncated)",
                    String::from_utf8_lossy(b)
                )),
                None => redact::body_value(b),
            });
        JournalEntry {
            seq: self.seq,
            at_ms: self.at_ms,
            method: self.method.as_str().to_string(),
            path: self.path().to_string(),
            query: self.query().map(redact::query),
            route: self.route.map(|r| r.id.to_string()),
            org: self.org().map(str::to_string),
            status: self.status,
            duration_us: self.duration_us,
            headers,
            auth: REDACTED_HEADERS
                .iter()
                .enumerate()
                .filter(|(i, _)| self.auth & (1 << i) != 0)
                .map(|(_, h)| (*h).to_string())
                .collect(),
            body,
            response: self.response.map(|b| redact::body_value(self.bytes(b))),
            violations: self.violations.clone(),
            fault: self.fault,
        }
    }
}

/// Journal filters of `GET /__/stub/requests`.
#[derive(Debug, Default, Clone)]
pub(crate) struct JournalQuery {
    pub route: Option<String>,
    pub org: Option<String>,
    pub method: Option<String>,
    pub status: Option<u16>,
    pub since_seq: Option<u64>,
    pub since_ms: Option<u64>,
    pub until_ms: Option<u64>,
    pub unmatched: Option<bool>,
    pub limit: Option<usize>,
}

impl JournalQuery {
    fn matches(&self, r: &Record) -> bool {
        if let Some(route) = &self.route {
            if r.route.map(|x| x.id.as_str()) != Some(route.as_str()) {
                return false;
            }
        }
        if let Some(org) = &self.org {
            if r.org() != Some(org.as_str()) {
                return false;
            }
        }
        if let Some(m) = &self.method {
            if !r.method.as_str().eq_ignore_ascii_case(m) {
                return false;
            }
        }
        if let Some(s) = self.status {
            if r.status != s {
                return false;
            }
        }
        if let Some(seq) = self.since_seq {
            if r.seq <= seq {
                return false;
            }
        }
        if let Some(ms) = self.since_ms {
            if r.at_ms < ms {
                return false;
            }
        }
        if let Some(ms) = self.until_ms {
            if r.at_ms > ms {
                return false;
            }
        }
        if let Some(u) = self.unmatched {
            if r.route.is_none() != u {
                return false;
            }
        }
        true
    }
}

#[derive(Debug)]
struct ArmedFault {
    fault: Fault,
}

/// What a programmed fault tells the handler to do.
#[derive(Debug, Clone)]
pub(crate) struct FaultAction {
    pub id: u64,
    pub spec: FaultSpec,
}

#[derive(Debug)]
struct Inner {
    counters: [u64; ROUTE_COUNT],
    total: u64,
    statuses: Box<[u64; 600]>,
    orgs: HashMap<String, [u64; ROUTE_COUNT]>,
    unmatched: Vec<Unmatched>,
    violations: VecDeque<RecordedViolation>,
    violations_total: u64,
    journal: VecDeque<Arc<Record>>,
    dropped: u64,
    seq: u64,
    generation: u64,
    since_ms: u64,
    faults: Vec<ArmedFault>,
    next_fault: u64,
}

impl Inner {
    fn new() -> Self {
        Inner {
            counters: [0; ROUTE_COUNT],
            total: 0,
            statuses: Box::new([0; 600]),
            orgs: HashMap::new(),
            unmatched: Vec::new(),
            violations: VecDeque::new(),
            violations_total: 0,
            journal: VecDeque::new(),
            dropped: 0,
            seq: 0,
            generation: 0,
            since_ms: now_ms(),
            faults: Vec::new(),
            next_fault: 1,
        }
    }

    fn reset(&mut self) {
        self.counters = [0; ROUTE_COUNT];
        self.total = 0;
        self.statuses.fill(0);
        self.orgs.clear();
        self.unmatched.clear();
        self.violations.clear();
        self.violations_total = 0;
        self.journal.clear();
        self.dropped = 0;
        self.faults.clear();
        self.generation += 1;
        self.since_ms = now_ms();
    }

    fn state(&self) -> StubState {
        let mut counters = BTreeMap::new();
        let mut routes = BTreeMap::new();
        for (i, r) in ROUTES.iter().enumerate() {
            counters.insert(r.counter.to_string(), self.counters[i]);
            routes.insert(r.id.to_string(), self.counters[i]);
        }
        let statuses = self
            .statuses
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(s, n)| (s.to_string(), *n))
            .collect();
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
            total_requests: self.total,
            routes,
            statuses,
            orgs,
            unmatched: self.unmatched.clone(),
            violations: self.violations.iter().cloned().collect(),
            violations_total: self.violations_total,
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
}

impl Shared {
    pub(crate) fn new(capacity: usize) -> Self {
        Shared {
            inner: Mutex::new(Inner::new()),
            faults_armed: AtomicBool::new(false),
            capacity,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Count and journal one answered (or dropped) request (per-org counts
    /// under `"-"` when the org is unknown).
    pub(crate) fn record(&self, mut rec: Record) {
        if self.capacity == 0 {
            let mut st = self.lock();
            Self::count(&mut st, &mut rec);
            st.dropped += 1;
            return;
        }
        // Allocate the journal entry before taking the lock and free the
        // one it replaces after: the critical section only counts and
        // moves pointers.
        let mut entry = Arc::new(rec);
        let evicted = {
            let mut st = self.lock();
            if let Some(rec) = Arc::get_mut(&mut entry) {
                Self::count(&mut st, rec);
            }
            let evicted = if st.journal.len() >= self.capacity {
                st.dropped += 1;
                st.journal.pop_front()
            } else {
                None
            };
            st.journal.push_back(entry);
            evicted
        };
        drop(evicted);
    }

    /// Counters, per-org counts, unmatched calls and violations of one call;
    /// gives it its sequence number.
    fn count(st: &mut Inner, rec: &mut Record) {
        st.seq += 1;
        rec.seq = st.seq;
        st.total += 1;
        if let Some(slot) = st.statuses.get_mut(usize::from(rec.status)) {
            *slot += 1;
        }
        match rec.route {
            Some(route) => {
                let i = route_index(route);
                st.counters[i] += 1;
                let org = rec.org().unwrap_or("-");
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
        if !rec.violations.is_empty() {
            let route_id = rec.route.map_or("-", |r| r.id.as_str());
            for v in &rec.violations {
                st.violations_total += 1;
                if st.violations.len() >= VIOLATIONS_KEPT {
                    st.violations.pop_front();
                }
                let recorded = RecordedViolation {
                    seq: rec.seq,
                    route: route_id.to_string(),
                    org: rec.org().map(str::to_string),
                    violation: v.clone(),
                };
                st.violations.push_back(recorded);
            }
        }
    }

    pub(crate) fn state(&self) -> StubState {
        self.lock().state()
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
        let out = st.state();
        st.reset();
        self.faults_armed.store(false, Ordering::Release);
        out
    }

    pub(crate) fn journal(&self, q: &JournalQuery) -> JournalPage {
        let (picked, dropped, last_seq) = {
            let st = self.lock();
            let limit = q.limit.unwrap_or(usize::MAX);
            let picked: Vec<Arc<Record>> = st
                .journal
                .iter()
                .filter(|r| q.matches(r))
                .take(limit)
                .cloned()
                .collect();
            (picked, st.dropped, st.seq)
        };
        JournalPage {
            entries: picked.iter().map(|r| r.render()).collect(),
            dropped,
            capacity: self.capacity,
            last_seq,
        }
    }

    pub(crate) fn faults(&self) -> Vec<Fault> {
        self.lock().faults.iter().map(|f| f.fault.clone()).collect()
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

    /// The first armed fault for this route and org, consumed by one call.
    pub(crate) fn take_fault(&self, route: &Route, org: Option<&str>) -> Option<FaultAction> {
        if !self.faults_armed.load(Ordering::Acquire) {
            return None;
        }
        let mut st = self.lock();
        let found = st.faults.iter_mut().find(|f| {
            let spec = &f.fault.spec;
            f.fault.remaining != Some(0)
                && (spec.route == "*" || spec.route == route.id.as_str())
                && spec.org.as_deref().is_none_or(|o| Some(o) == org)
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

    /// Org ids seen so far (for the redeploy-fleet answer).
    pub(crate) fn orgs_seen(&self) -> Vec<String> {
        let st = self.lock();
        let mut orgs: Vec<String> = st.orgs.keys().filter(|o| *o != "-").cloned().collect();
        orgs.sort();
        orgs
    }
}
