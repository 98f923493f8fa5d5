//! The filters of `GET /__/stub/requests` ([`JournalQuery`]): parsed from
//! the query string (a `route` must be a route id), matched against records.

use contract::admin::ScopeKind;
use contract::RouteId;

use crate::query;
use crate::record::Record;

/// Journal filters of `GET /__/stub/requests`.
#[derive(Debug, Default, Clone)]
pub(crate) struct JournalQuery {
    route: Option<RouteId>,
    org: Option<String>,
    replay: Option<String>,
    workspace: Option<String>,
    method: Option<String>,
    status: Option<u16>,
    since_seq: Option<u64>,
    since_ms: Option<u64>,
    until_ms: Option<u64>,
    unmatched: Option<bool>,
    pub(crate) limit: Option<usize>,
}

impl JournalQuery {
    /// Parse `?route=&org=&replay=&workspace=&method=&status=&since_seq=&since_ms=&until_ms=&unmatched=&limit=`;
    /// the error names the parameter and what is wrong with it.
    pub(crate) fn parse(query: Option<&str>) -> Result<JournalQuery, String> {
        let mut q = JournalQuery::default();
        let Some(query) = query else { return Ok(q) };
        fn num<T: std::str::FromStr>(key: &str, v: &str) -> Result<T, String> {
            v.parse()
                .map_err(|_| format!("query parameter `{key}`: `{v}` is not a number"))
        }
        for (k, v) in query::pairs(query) {
            if v.is_empty() {
                continue;
            }
            let v = v.into_owned();
            match k.as_ref() {
                "route" => {
                    q.route = Some(
                        v.parse()
                            .map_err(|e| format!("query parameter `route`: {e}"))?,
                    )
                }
                "org" => q.org = Some(v),
                "replay" => q.replay = Some(v),
                "workspace" => q.workspace = Some(v),
                "method" => q.method = Some(v),
                "status" => q.status = Some(num(&k, &v)?),
                "since_seq" => q.since_seq = Some(num(&k, &v)?),
                "since_ms" => q.since_ms = Some(num(&k, &v)?),
                "until_ms" => q.until_ms = Some(num(&k, &v)?),
                "limit" => q.limit = Some(num(&k, &v)?),
                "unmatched" => {
                    q.unmatched = Some(match v.as_str() {
                        "true" | "1" | "yes" => true,
                        "false" | "0" | "no" => false,
                        _ => return Err(format!("query parameter `unmatched`: `{v}` is not true or false")),
                    })
                }
                other => {
                    return Err(format!(
                        "unknown query parameter `{other}`; filters: route, org, replay, workspace, method, status, since_seq, since_ms, until_ms, unmatched, limit"
                    ))
                }
            }
        }
        Ok(q)
    }

    /// The scopes the query names (`replay`, `org`, `workspace`).
    pub(crate) fn scopes(&self) -> impl Iterator<Item = (ScopeKind, &str)> {
        [
            (ScopeKind::Replay, &self.replay),
            (ScopeKind::Org, &self.org),
            (ScopeKind::Workspace, &self.workspace),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_deref().map(|v| (k, v)))
    }

    /// Whether the record passes every filter set.
    pub(crate) fn matches(&self, r: &Record) -> bool {
        if let Some(route) = self.route {
            if r.route.map(|x| x.id) != Some(route) {
                return false;
            }
        }
        if let Some(org) = &self.org {
            if r.org() != Some(org.as_str()) {
                return false;
            }
        }
        if let Some(replay) = &self.replay {
            if r.replay() != Some(replay.as_str()) {
                return false;
            }
        }
        if let Some(ws) = &self.workspace {
            if r.workspace() != Some(ws.as_str()) {
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
