//! HTTP under the run's one deadline: the client, the tenants' request
//! builder, and the helpers that turn answers and transport errors into
//! error-message text.

use std::time::{Duration, Instant};

use crate::config::{trim_base, TenantTarget};

/// Longest single HTTP request (bounded by the overall deadline too).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Characters of a body quoted in an error.
const EXCERPT: usize = 300;

/// HTTP with one overall deadline.
pub(crate) struct Http {
    pub(crate) client: reqwest::Client,
    started: Instant,
    deadline: Instant,
}

impl Http {
    /// A client whose deadline is `timeout` from now.
    pub(crate) fn new(timeout: Duration) -> Result<Http, String> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| chain(&e))?;
        let started = Instant::now();
        Ok(Http {
            client,
            started,
            deadline: started + timeout,
        })
    }

    pub(crate) fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    pub(crate) fn waited_s(&self) -> u64 {
        self.started.elapsed().as_secs()
    }

    pub(crate) fn expired(&self) -> bool {
        Instant::now() >= self.deadline
    }

    /// Sleep one poll interval, never past the deadline.
    pub(crate) async fn pause(&self, poll_interval: Duration) {
        tokio::time::sleep(poll_interval.min(self.remaining())).await;
    }

    /// Send and read the body as text; `Err` is a transport error.
    pub(crate) async fn send(&self, req: reqwest::RequestBuilder) -> Result<(u16, String), String> {
        let timeout = self
            .remaining()
            .min(REQUEST_TIMEOUT)
            .max(Duration::from_millis(50));
        let resp = req.timeout(timeout).send().await.map_err(|e| chain(&e))?;
        let status = resp.status().as_u16();
        let body = resp.text().await.map_err(|e| chain(&e))?;
        Ok((status, body))
    }
}

/// One tenant with its label and a request builder.
pub(crate) struct Tenant<'a> {
    /// `alpha` or `beta`.
    pub(crate) label: &'static str,
    pub(crate) target: &'a TenantTarget,
    /// The target's base, without a trailing `/`.
    pub(crate) base: String,
}

impl Tenant<'_> {
    pub(crate) fn new<'a>(label: &'static str, target: &'a TenantTarget) -> Tenant<'a> {
        Tenant {
            label,
            target,
            base: trim_base(&target.base),
        }
    }

    /// A request with the tenant's bearer, org and (behind a proxy) Host.
    pub(crate) fn request(
        &self,
        http: &Http,
        method: reqwest::Method,
        path: &str,
    ) -> reqwest::RequestBuilder {
        let mut req = http
            .client
            .request(method, format!("{}{path}", self.base))
            .header(
                "Authorization",
                format!("Bearer {}", self.target.admin_token),
            )
            .header("X-Molecule-Org-Id", &self.target.org_id);
        if let Some(host) = self.host() {
            req = req.header("Host", host);
        }
        req
    }

    /// The `Host` header to send, if any.
    pub(crate) fn host(&self) -> Option<&str> {
        self.target.host.as_deref().filter(|h| !h.is_empty())
    }

    /// The tenant's variable with `suffix`: `ALPHA_BASE`, `BETA_ORG_ID`, …
    pub(crate) fn var(&self, suffix: &str) -> String {
        format!("{}_{suffix}", self.label.to_ascii_uppercase())
    }
}

/// An error and its sources on one line, without repeating a cause its
/// parent already quotes.
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}

/// The start of a body, on one line, for error messages.
pub(crate) fn excerpt(body: &str) -> String {
    // Secrets masked before the cut (a cut never reveals what it masked):
    // a config answer carries MOLECULE_CP_SHARED_SECRET, a CP error may echo
    // a token.
    let body = contract::redact::text(body);
    let flat: String = body
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let flat = flat.trim();
    if flat.is_empty() {
        return "<empty body>".to_string();
    }
    match flat.char_indices().nth(EXCERPT) {
        Some((i, _)) => format!("{}…", &flat[..i]),
        None => flat.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_bounded() {
        let long = "a".repeat(EXCERPT + 5);
        assert_eq!(excerpt(&long), format!("{}…", "a".repeat(EXCERPT)));
        assert_eq!(excerpt(" a\nb "), "a b");
        assert_eq!(excerpt(""), "<empty body>");
        let config = r#"{"MOLECULE_CP_SHARED_SECRET":"s3cr3t-value","MOLECULE_CP_URL":"http://u:pw-value@h"}"#;
        let shown = excerpt(config);
        assert!(
            !shown.contains("s3cr3t-value") && !shown.contains("pw-value"),
            "{shown}"
        );
    }
}
