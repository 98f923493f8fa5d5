//! A small client of the stub's admin API (`contract::admin`).

use std::time::Duration;

use contract::admin::{JournalPage, ScopeKind, ScopedCounts, StubState, VersionInfo, ADMIN_PREFIX};
use serde::de::DeserializeOwned;

use super::request::{classify, SendError};

/// Admin calls of one stub.
#[derive(Debug, Clone)]
pub(crate) struct StubClient {
    client: reqwest::Client,
    base: String,
}

impl StubClient {
    /// A client for the stub at `base` (`http://host:port`).
    pub(crate) fn new(client: reqwest::Client, base: &str) -> StubClient {
        StubClient {
            client,
            base: base.trim_end_matches('/').to_string(),
        }
    }

    /// The base URL.
    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    async fn get<T: DeserializeOwned>(&self, path: &str, timeout: Duration) -> Result<T, String> {
        let url = format!("{}{ADMIN_PREFIX}{path}", self.base);
        let fut = async {
            let resp = self
                .client
                .get(&url)
                .header(super::request::REPLAY_ID_HEADER, "replays-admin")
                .send()
                .await
                .map_err(|e| classify(&e, &url).to_string())?;
            let status = resp.status();
            let bytes = resp
                .bytes()
                .await
                .map_err(|e| classify(&e, &url).to_string())?;
            if !status.is_success() {
                return Err(format!(
                    "GET {url} answered {}: {}",
                    status.as_u16(),
                    // Redacted before it is cut.
                    super::request::snippet(
                        &super::mask::body(
                            &String::from_utf8_lossy(&bytes),
                            serde_json::from_slice(&bytes).ok().as_ref()
                        ),
                        200
                    )
                ));
            }
            serde_json::from_slice(&bytes).map_err(|e| {
                format!("GET {url} answered a body that is not the stub's admin JSON ({e}); is this cp-stub?")
            })
        };
        tokio::time::timeout(timeout, fut)
            .await
            .map_err(|_| format!("GET {url}: {}", SendError::Timeout(timeout)))?
    }

    /// `GET /__/stub/state`.
    pub(crate) async fn state(&self, timeout: Duration) -> Result<StubState, String> {
        self.get("/state", timeout).await
    }

    /// `GET /__/stub/counts?replay=..&org=..&workspace=..`: the whole stub's
    /// and each named scope's counts, in one atomic read.
    pub(crate) async fn counts(
        &self,
        scopes: &[(ScopeKind, String)],
        timeout: Duration,
    ) -> Result<ScopedCounts, String> {
        let query: Vec<String> = scopes
            .iter()
            .map(|(k, v)| format!("{}={}", k.param(), encode(v)))
            .collect();
        self.get(&format!("/counts?{}", query.join("&")), timeout)
            .await
    }

    /// `GET /__/stub/requests?since_seq=..&limit=..`, of one scope
    /// (`replay` or `workspace`, the key) or of everyone.
    pub(crate) async fn journal(
        &self,
        since_seq: u64,
        limit: usize,
        scope: Option<(&str, &str)>,
        timeout: Duration,
    ) -> Result<JournalPage, String> {
        let mut url = reqwest::Url::parse(&format!("{}{ADMIN_PREFIX}/requests", self.base))
            .map_err(|e| format!("stub base {}: {e}", self.base))?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("since_seq", &since_seq.to_string())
                .append_pair("limit", &limit.to_string());
            if let Some((kind, key)) = scope {
                q.append_pair(kind, key);
            }
        }
        let path_and_query = &url.as_str()[self.base.len() + ADMIN_PREFIX.len()..];
        self.get(path_and_query, timeout).await
    }

    /// `GET /__/stub/version`, raw (to tell "unreachable" from "not a stub").
    pub(crate) async fn version(&self, timeout: Duration) -> Result<VersionInfo, VersionError> {
        let url = format!("{}{ADMIN_PREFIX}/version", self.base);
        let fut = async {
            let resp =
                self.client
                    .get(&url)
                    .send()
                    .await
                    .map_err(|e| match classify(&e, &url) {
                        SendError::Unreachable { reason, .. } => VersionError::Unreachable(reason),
                        other => VersionError::Bad(other.to_string()),
                    })?;
            let status = resp.status().as_u16();
            let bytes = resp
                .bytes()
                .await
                .map_err(|e| VersionError::Bad(classify(&e, &url).to_string()))?;
            if status != 200 {
                return Err(VersionError::Bad(format!("it answered {status}")));
            }
            serde_json::from_slice::<VersionInfo>(&bytes).map_err(|e| {
                VersionError::Bad(format!("its answer is not a version document ({e})"))
            })
        };
        tokio::time::timeout(timeout, fut).await.map_err(|_| {
            VersionError::Unreachable(format!(
                "no answer within {}",
                crate::format::duration::format_duration(timeout)
            ))
        })?
    }
}

/// Why the version check failed.
#[derive(Debug, Clone)]
pub(crate) enum VersionError {
    /// Nothing answers.
    Unreachable(String),
    /// Something answers, but not a current cp-stub.
    Bad(String),
}

/// A query value percent-encoded (everything but unreserved characters).
fn encode(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
