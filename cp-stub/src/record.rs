//! A request as the journal keeps it ([`Record`]), and its rendering into a
//! [`contract::admin::JournalEntry`] with secrets masked by the contract's
//! one rule ([`contract::redact`]).
//!
//! Credential headers ([`REDACTED_HEADERS`]) are masked before a record is
//! stored; other secret-named headers, secret query values and secret body
//! members when it is rendered.

use std::collections::BTreeMap;

use contract::admin::{JournalEntry, REDACTED_HEADERS};
use contract::redact::{self, REDACTED};
use contract::{Route, Violation};
use http::Method;
use serde_json::Value;

use crate::clock::now_ms;

/// Request bodies up to this size are kept whole in the journal.
const BODY_KEPT_WHOLE: usize = 64 * 1024;
/// Larger bodies keep this many leading bytes.
const BODY_KEPT_TRUNCATED: usize = 4 * 1024;
/// Bodies that are not JSON are shown as text, cut to this many bytes.
const TEXT_BODY_SHOWN: usize = 4 * 1024;

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
    /// Size of the body when only its first bytes are kept.
    pub(crate) body_truncated_from: Option<usize>,
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
    /// The body's `workspace_id`, on provision calls only.
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
            workspace: None,
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

    /// Note the workspace a provision call is for.
    pub(crate) fn set_workspace(&mut self, workspace: Option<&str>) {
        self.workspace = workspace.map(|w| self.push(w.as_bytes()));
    }

    /// The workspace this call provisioned: a provision answered 2xx.
    pub(crate) fn provisioned(&self) -> Option<&str> {
        let ok = (200..300).contains(&self.status);
        self.workspace.filter(|_| ok).map(|s| self.text(s))
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
        let body = self
            .body
            .map(|b| self.bytes(b))
            .map(|b| match self.body_truncated_from {
                Some(total) => Value::String(format!(
                    "{}… ({total} bytes, truncated)",
                    String::from_utf8_lossy(b)
                )),
                None => body_value(b),
            });
        JournalEntry {
            seq: self.seq,
            at_ms: self.at_ms,
            method: self.method.as_str().to_string(),
            path: self.path().to_string(),
            query: self.query().map(|q| redact::query(q).into_owned()),
            route: self.route.map(|r| r.id),
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
            response: self.response.map(|b| body_value(self.bytes(b))),
            violations: self.violations.clone(),
            fault: self.fault,
        }
    }
}

/// A body as shown in the journal: redacted JSON when it parses, else text.
fn body_value(bytes: &[u8]) -> Value {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(mut v) => {
            redact::redact_json(&mut v);
            v
        }
        Err(_) => {
            let shown = &bytes[..bytes.len().min(TEXT_BODY_SHOWN)];
            let mut text = String::from_utf8_lossy(shown).into_owned();
            if bytes.len() > TEXT_BODY_SHOWN {
                text.push_str(&format!("… ({} bytes, truncated)", bytes.len()));
            }
            Value::String(text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_bodies_are_cut() {
        let big = vec![b'a'; TEXT_BODY_SHOWN + 10];
        let Value::String(s) = body_value(&big) else {
            panic!("not text")
        };
        assert!(s.ends_with(&format!("({} bytes, truncated)", big.len())));
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
