//! A request as the journal keeps it ([`Record`]), and its rendering into a
//! [`contract::admin::JournalEntry`] with secrets masked by the contract's
//! one rule ([`contract::redact`]).
//!
//! Every secret-named header is masked before a record is stored (which
//! credential headers came is kept in `auth`); the query is stored
//! redacted; a body is kept whole up to [`BODY_KEPT`] (masked when it is
//! rendered: redacted JSON, or a redacted excerpt when it does not parse),
//! a larger one as a redacted excerpt made before the cut
//! ([`redact::excerpt`]). Each part is bounded in bytes: path, query and
//! org to [`FIELD_KEPT`], headers to [`HEADERS_KEPT`] in all, the
//! `X-Replay-Id` to [`REPLAY_ID_KEPT`].
//!
//! A record carries its scopes: the org, the replay id (`X-Replay-Id`) and
//! the workspace the call is about (the body's `workspace_id`, else the
//! path's `{id}`).

use std::collections::BTreeMap;

use contract::admin::{JournalEntry, REDACTED_HEADERS};
use contract::redact::{self, REDACTED};
use contract::{Route, Violation};
use http::Method;
use serde_json::Value;

use crate::clock::now_ms;

/// Bodies (request and response) up to this size are kept whole; larger
/// ones as a redacted excerpt of this size.
pub(crate) const BODY_KEPT: usize = 16 * 1024;
/// Header bytes (names and values) kept per entry.
pub(crate) const HEADERS_KEPT: usize = 8 * 1024;
/// Path, query, org and workspace: bytes kept of each.
pub(crate) const FIELD_KEPT: usize = 1024;
/// Longest `X-Replay-Id` attributed; a longer one is not (cutting it
/// could merge two replays' counts).
pub(crate) const REPLAY_ID_KEPT: usize = 128;
/// The header the replay runner names its execution in.
pub(crate) static REPLAY_ID_HEADER: http::header::HeaderName =
    http::header::HeaderName::from_static("x-replay-id");
/// What an entry costs besides its buffer, for the journal's byte budget.
const RECORD_OVERHEAD: usize = std::mem::size_of::<Record>() + 64;

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
    pub(crate) seq: u64,
    pub(crate) at_ms: u64,
    pub(crate) method: Method,
    pub(crate) route: Option<&'static Route>,
    pub(crate) status: u16,
    pub(crate) duration_us: u64,
    /// Bit i set = `REDACTED_HEADERS[i]` arrived.
    pub(crate) auth: u8,
    /// The body is kept as a redacted excerpt (text), not raw.
    body_excerpt: bool,
    /// The response likewise.
    response_excerpt: bool,
    /// Header bytes left out (over [`HEADERS_KEPT`]).
    headers_truncated: usize,
    pub(crate) violations: Vec<Violation>,
    pub(crate) fault: Option<u64>,
    data: Vec<u8>,
    path: Span,
    query: Option<Span>,
    /// Request headers as `name:value\n` lines, credential values already
    /// `<redacted>`.
    headers: Span,
    body: Option<Span>,
    org: Option<Span>,
    /// The `X-Replay-Id` header, when at most [`REPLAY_ID_KEPT`] bytes.
    replay: Option<Span>,
    /// The workspace the call is about: the body's `workspace_id`, else the
    /// path's `{id}`.
    workspace: Option<Span>,
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
        let path = cut(uri.path(), FIELD_KEPT);
        let query = uri.query().map(|q| redact::query(cut(q, FIELD_KEPT)));
        let mut headers_size = 0;
        for (name, value) in headers {
            headers_size += name.as_str().len() + value.len() + 2;
        }
        let body = usize::try_from(body_hint)
            .unwrap_or(usize::MAX)
            .min(BODY_KEPT);
        // Room for the org and a typical answer too.
        let capacity = path.len()
            + query.as_ref().map_or(0, |q| q.len())
            + headers_size.min(HEADERS_KEPT)
            + body
            + 320;
        let mut rec = Record {
            seq: 0,
            at_ms: now_ms(),
            method: method.clone(),
            route,
            status: 0,
            duration_us: 0,
            auth: 0,
            body_excerpt: false,
            response_excerpt: false,
            headers_truncated: 0,
            violations: Vec::new(),
            fault: None,
            data: Vec::with_capacity(capacity),
            path: Span::default(),
            query: None,
            headers: Span::default(),
            body: None,
            org: None,
            replay: None,
            workspace: None,
            response: None,
        };
        rec.path = rec.push(path.as_bytes());
        rec.replay = crate::headers::header_str(headers, &REPLAY_ID_HEADER)
            .filter(|r| r.len() <= REPLAY_ID_KEPT)
            .map(|r| rec.push(r.as_bytes()));
        rec.query = query.map(|q| rec.push(q.as_bytes()));
        let start = rec.data.len();
        for (name, value) in headers {
            if let Some(i) = REDACTED_HEADERS.iter().position(|h| *h == name.as_str()) {
                rec.auth |= 1 << i;
            }
            let name = name.as_str();
            // Header values never contain `\n` (hyper refuses them).
            let value: &[u8] = if redact::is_secret_name(name) {
                REDACTED.as_bytes()
            } else {
                value.as_bytes()
            };
            let room = HEADERS_KEPT.saturating_sub(rec.data.len() - start);
            if name.len() + 2 > room {
                rec.headers_truncated += name.len() + value.len() + 2;
                continue;
            }
            let kept = value.len().min(room - name.len() - 2);
            rec.headers_truncated += value.len() - kept;
            rec.data.extend_from_slice(name.as_bytes());
            rec.data.push(b':');
            rec.data
                .extend_from_slice(cut(&String::from_utf8_lossy(&value[..kept]), kept).as_bytes());
            rec.data.push(b'\n');
        }
        rec.headers = rec.span_from(start);
        rec
    }

    /// Bytes this entry holds, for the journal's byte budget.
    pub(crate) fn cost(&self) -> usize {
        RECORD_OVERHEAD
            + self.data.capacity()
            + self
                .violations
                .iter()
                .map(|v| v.message.len() + v.path.len() + 64)
                .sum::<usize>()
    }

    fn push(&mut self, bytes: &[u8]) -> Span {
        let start = self.data.len();
        self.data.extend_from_slice(bytes);
        self.span_from(start)
    }

    fn span_from(&self, start: usize) -> Span {
        // Every part is bounded (bodies to 16 KiB, headers to 8 KiB): the
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

    /// Set the caller's org (cut to [`FIELD_KEPT`] bytes).
    pub(crate) fn set_org(&mut self, org: Option<&str>) {
        self.org = org.map(|o| self.push(cut(o, FIELD_KEPT).as_bytes()));
    }

    /// Note the workspace the call is about (one longer than
    /// [`FIELD_KEPT`] is not remembered).
    pub(crate) fn set_workspace(&mut self, workspace: Option<&str>) {
        self.workspace = workspace
            .filter(|w| w.len() <= FIELD_KEPT)
            .map(|w| self.push(w.as_bytes()));
    }

    /// The workspace the call is about, if any.
    pub(crate) fn workspace(&self) -> Option<&str> {
        self.workspace.map(|s| self.text(s))
    }

    /// The replay execution that sent the call (`X-Replay-Id`), if any.
    pub(crate) fn replay(&self) -> Option<&str> {
        self.replay.map(|s| self.text(s))
    }

    /// The workspace this call provisioned: a provision answered 2xx.
    pub(crate) fn provisioned(&self) -> Option<&str> {
        let ok = (200..300).contains(&self.status)
            && self
                .route
                .is_some_and(|r| r.id == contract::RouteId::Provision);
        self.workspace.filter(|_| ok).map(|s| self.text(s))
    }

    /// Keep `body` in the journal: whole up to [`BODY_KEPT`], else as a
    /// redacted excerpt (redacted before the cut, whatever it is).
    pub(crate) fn set_body(&mut self, body: &[u8]) {
        if body.is_empty() {
            return;
        }
        let (span, excerpt) = self.push_body(body);
        self.body = Some(span);
        self.body_excerpt = excerpt;
    }

    pub(crate) fn set_response(&mut self, response: Option<&[u8]>) {
        if let Some(r) = response {
            let (span, excerpt) = self.push_body(r);
            self.response = Some(span);
            self.response_excerpt = excerpt;
        }
    }

    fn push_body(&mut self, body: &[u8]) -> (Span, bool) {
        if body.len() <= BODY_KEPT {
            (self.push(body), false)
        } else {
            let excerpt = redact::excerpt(body, BODY_KEPT);
            (self.push(excerpt.as_bytes()), true)
        }
    }

    pub(crate) fn render(&self) -> JournalEntry {
        let mut headers = BTreeMap::new();
        for line in self
            .bytes(self.headers)
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
        {
            let colon = line.iter().position(|b| *b == b':').unwrap_or(line.len());
            let name = String::from_utf8_lossy(&line[..colon]).into_owned();
            let value = String::from_utf8_lossy(line.get(colon + 1..).unwrap_or(&[]));
            let text = redact::header_value(&name, &value).to_string();
            headers
                .entry(name)
                .and_modify(|v: &mut String| {
                    v.push_str(", ");
                    v.push_str(&text);
                })
                .or_insert(text);
        }
        let shown = |span: Option<Span>, excerpt: bool| {
            span.map(|b| self.bytes(b)).map(|b| {
                if excerpt {
                    Value::String(String::from_utf8_lossy(b).into_owned())
                } else {
                    body_value(b)
                }
            })
        };
        JournalEntry {
            seq: self.seq,
            at_ms: self.at_ms,
            method: self.method.as_str().to_string(),
            path: self.path().to_string(),
            query: self.query().map(str::to_string),
            route: self.route.map(|r| r.id),
            org: self.org().map(str::to_string),
            replay_id: self.replay().map(str::to_string),
            workspace: self.workspace().map(str::to_string),
            status: self.status,
            duration_us: self.duration_us,
            headers,
            auth: REDACTED_HEADERS
                .iter()
                .enumerate()
                .filter(|(i, _)| self.auth & (1 << i) != 0)
                .map(|(_, h)| (*h).to_string())
                .collect(),
            body: shown(self.body, self.body_excerpt),
            response: shown(self.response, self.response_excerpt),
            headers_truncated: self.headers_truncated,
            violations: self.violations.clone(),
            fault: self.fault,
        }
    }
}

/// A body kept whole, as shown in the journal: redacted JSON when it
/// parses, else redacted text.
fn body_value(bytes: &[u8]) -> Value {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(mut v) => {
            redact::redact_json(&mut v);
            v
        }
        Err(_) => Value::String(redact::excerpt(bytes, BODY_KEPT)),
    }
}

/// `s` cut to at most `max` bytes on a character boundary.
pub(crate) fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_and_broken_bodies_are_redacted_then_cut() {
        let big = format!(
            r#"{{"env":{{"ADMIN_TOKEN":"S3CRET-D","PAD":"{}"}}}}"#,
            "x".repeat(70_000)
        );
        let mut rec = Record::new(
            &Method::POST,
            &"/cp/workspaces/provision?token%00=S3CRET-Q"
                .parse()
                .unwrap(),
            None,
            &http::HeaderMap::new(),
            0,
        );
        rec.set_body(big.as_bytes());
        let entry = rec.render();
        let Some(Value::String(s)) = &entry.body else {
            panic!("not text: {:?}", entry.body)
        };
        assert!(s.len() < BODY_KEPT + 64, "{}", s.len());
        assert!(s.ends_with(&format!("({} bytes, truncated)", big.len())));
        assert!(!s.contains("S3CRET") && !format!("{entry:?}").contains("S3CRET"));
        assert!(rec.cost() < BODY_KEPT + 2048, "{}", rec.cost());
        let Value::String(s) = body_value(br#"{"env":{"ADMIN_TOKEN":"S3CRET-X""#) else {
            panic!("not text")
        };
        assert!(!s.contains("S3CRET"), "{s}");
    }

    #[test]
    fn json_bodies_are_redacted_by_the_contract_rule() {
        let v =
            body_value(br#"{"MOLECULE_CP_SHARED_SECRET":"s","count_key":3,"workspace_id":"w"}"#);
        assert_eq!(v["MOLECULE_CP_SHARED_SECRET"], REDACTED);
        assert_eq!(v["count_key"], REDACTED);
        assert_eq!(v["workspace_id"], "w");
    }
}
