//! `replays drift`: send every contract probe to another CP base and to the
//! stub, and report per route what differs — status, shape against the
//! contract, shape against the stub, header names — ignoring values and
//! noisy headers.

use std::collections::BTreeSet;
use std::time::Duration;

use contract::Probe;
use serde::Serialize;
use serde_json::Value;

use replay_runner::{classify, contract_diff, SendError, Style};

/// Headers whose presence varies between deployments and says nothing
/// about the contract.
pub const NOISY_HEADERS: &[&str] = &[
    "date",
    "server",
    "content-length",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "x-request-id",
    "request-id",
    "x-correlation-id",
    "traceparent",
    "tracestate",
    "via",
    "vary",
    "etag",
    "age",
    "cache-control",
    "expires",
    "last-modified",
    "strict-transport-security",
    "alt-svc",
    "set-cookie",
    "x-replay-id",
];

fn noisy(name: &str) -> bool {
    NOISY_HEADERS.contains(&name)
        || [
            "x-amz",
            "cf-",
            "x-envoy",
            "x-cloud-trace",
            "x-b3-",
            "access-control-",
        ]
        .iter()
        .any(|p| name.starts_with(p))
}

/// What `replays drift` does.
#[derive(Debug, Clone)]
pub struct DriftOptions {
    /// The CP base to examine.
    pub against: String,
    /// The stub to compare with.
    pub stub: String,
    /// Org id used in probes.
    pub org: String,
    /// Workspace id used in probes.
    pub workspace: String,
    /// Extra headers sent to the target (credentials).
    pub headers: Vec<(String, String)>,
    /// Only these routes (empty: all).
    pub routes: Vec<contract::RouteId>,
    /// Per-request timeout.
    pub timeout: Duration,
}

/// Why drift could not run (exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum DriftError {
    /// A base URL is unreachable.
    #[error("cannot reach {which} at {url}: {reason}")]
    Unreachable {
        /// `--against` or `--stub`.
        which: &'static str,
        /// URL.
        url: String,
        /// Cause.
        reason: String,
    },
    /// Bad options.
    #[error("{0}")]
    Usage(String),
}

/// One side's answer.
#[derive(Debug, Clone, Serialize)]
pub struct Answer {
    /// Status (0: no answer).
    pub status: u16,
    /// Body as JSON when it parsed.
    pub json: Option<Value>,
    /// Header names (lower case).
    pub headers: BTreeSet<String>,
    /// Media type.
    pub content_type: Option<String>,
    /// No answer, why.
    pub error: Option<String>,
}

/// The comparison for one route.
#[derive(Debug, Clone, Serialize)]
pub struct RouteDrift {
    /// Route id.
    pub route: contract::RouteId,
    /// Method.
    pub method: &'static str,
    /// Path probed.
    pub path: String,
    /// Target's answer.
    pub target: Answer,
    /// Stub's answer.
    pub stub: Answer,
    /// Status lines (empty when equal).
    pub status: Vec<String>,
    /// Schema the target's body was checked against.
    pub schema: Option<contract::SchemaId>,
    /// Differences from the contract.
    pub contract: Vec<String>,
    /// Shape differences from the stub's answer.
    pub vs_stub: Vec<String>,
    /// Header name differences.
    pub headers: Vec<String>,
}

impl RouteDrift {
    /// Whether anything differs.
    pub fn differs(&self) -> bool {
        !(self.status.is_empty()
            && self.contract.is_empty()
            && self.vs_stub.is_empty()
            && self.headers.is_empty())
    }
}

async fn ask(
    client: &reqwest::Client,
    base: &str,
    p: &Probe,
    extra: &[(String, String)],
    timeout: Duration,
) -> Result<Answer, SendError> {
    let url = format!("{}{}", base.trim_end_matches('/'), p.path_and_query());
    let method = reqwest::Method::from_bytes(p.method.as_bytes())
        .map_err(|e| SendError::Transport(e.to_string()))?;
    let mut rb = client.request(method, &url);
    for (k, v) in &p.headers {
        rb = rb.header(*k, v.as_str());
    }
    for (k, v) in extra {
        rb = rb.header(k.as_str(), v.as_str());
    }
    if let Some(b) = &p.body {
        rb = rb.json(b);
    }
    let fut = async {
        let resp = rb.send().await.map_err(|e| classify(&e, &url))?;
        let status = resp.status().as_u16();
        let headers: BTreeSet<String> = resp
            .headers()
            .keys()
            .map(|k| k.as_str().to_ascii_lowercase())
            .collect();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            });
        let bytes = resp.bytes().await.map_err(|e| classify(&e, &url))?;
        Ok(Answer {
            status,
            json: serde_json::from_slice(&bytes).ok(),
            headers,
            content_type,
            error: None,
        })
    };
    tokio::time::timeout(timeout, fut)
        .await
        .map_err(|_| SendError::Timeout(timeout))?
}

fn no_answer(e: &SendError) -> Answer {
    Answer {
        status: 0,
        json: None,
        headers: BTreeSet::new(),
        content_type: None,
        error: Some(e.to_string()),
    }
}

/// Run every probe against both bases and compare.
pub async fn drift(opts: &DriftOptions) -> Result<Vec<RouteDrift>, DriftError> {
    let client = replay_runner::client().map_err(|e| DriftError::Usage(e.to_string()))?;
    let mut out = Vec::new();
    for p in contract::probes(&opts.org, &opts.workspace) {
        if !opts.routes.is_empty() && !opts.routes.contains(&p.route.id) {
            continue;
        }
        let target = match ask(&client, &opts.against, &p, &opts.headers, opts.timeout).await {
            Ok(a) => a,
            Err(SendError::Unreachable { url, reason }) => {
                return Err(DriftError::Unreachable {
                    which: "--against",
                    url,
                    reason,
                })
            }
            Err(e) => no_answer(&e),
        };
        let stub = match ask(&client, &opts.stub, &p, &[], opts.timeout).await {
            Ok(a) => a,
            Err(SendError::Unreachable { url, reason }) => {
                return Err(DriftError::Unreachable {
                    which: "--stub",
                    url,
                    reason,
                })
            }
            Err(e) => no_answer(&e),
        };
        out.push(compare(&p, target, stub));
    }
    Ok(out)
}

fn compare(p: &Probe, target: Answer, stub: Answer) -> RouteDrift {
    let route = p.route;
    let mut status = Vec::new();
    if let Some(e) = &target.error {
        status.push(format!("target gave no answer: {e}"));
    }
    if let Some(e) = &stub.error {
        status.push(format!("stub gave no answer: {e}"));
    }
    if status.is_empty() && target.status != stub.status {
        let client = if route.success.accepts(target.status) {
            "the client accepts it"
        } else if route.unsupported.contains(&target.status) {
            // Ensure-image's 404 / 501: the real client goes on without it.
            "unsupported (the client proceeds)"
        } else {
            "the client treats it as a failure"
        };
        status.push(format!(
            "{} (stub {}): {client}",
            target.status, stub.status
        ));
    }
    let mut contract_lines = Vec::new();
    let mut schema = None;
    if target.error.is_none() {
        // A 2xx is an attempt at the success body (a 200 for provision is
        // compared with what the client would decode, incident D3).
        let name = if (200..300).contains(&target.status) {
            route.response_schema
        } else {
            route.error_schema
        };
        schema = Some(name);
        match &target.json {
            Some(body) => match contract_diff(name, body) {
                Ok((violations, diffs)) => {
                    contract_lines.extend(diffs.iter().map(ToString::to_string));
                    // Violations the shape diff does not already say (minLength, enum, ...).
                    for v in violations {
                        if v.keyword != "required" && v.keyword != "type" {
                            contract_lines.push(format!("! {v}"));
                        }
                    }
                }
                Err(e) => contract_lines.push(format!("! {e}")),
            },
            None => contract_lines.push(format!("! body is not JSON (contract {name} wants JSON)")),
        }
    }
    let mut vs_stub = Vec::new();
    // An "unsupported" answer is an error body: no shape to share with the stub's success.
    let unsupported = route.unsupported.contains(&target.status) && target.status != stub.status;
    match (&stub.json, &target.json) {
        _ if unsupported => {}
        (Some(s), Some(t)) => {
            vs_stub.extend(contract::shape_diff(s, t).iter().map(ToString::to_string))
        }
        (Some(_), None) if target.error.is_none() => {
            vs_stub.push("~ /: the stub answers JSON, the target does not".to_string())
        }
        (None, Some(_)) if stub.error.is_none() => {
            vs_stub.push("~ /: the target answers JSON, the stub does not".to_string())
        }
        _ => {}
    }
    let mut headers = Vec::new();
    if target.error.is_none() && stub.error.is_none() {
        if target.content_type != stub.content_type {
            headers.push(format!(
                "~ content-type: {} (stub {})",
                target.content_type.as_deref().unwrap_or("none"),
                stub.content_type.as_deref().unwrap_or("none")
            ));
        }
        for h in stub
            .headers
            .difference(&target.headers)
            .filter(|h| !noisy(h))
        {
            headers.push(format!("- {h}: missing (the stub sends it)"));
        }
        for h in target
            .headers
            .difference(&stub.headers)
            .filter(|h| !noisy(h))
        {
            headers.push(format!("+ {h}: extra (the stub does not send it)"));
        }
    }
    RouteDrift {
        route: route.id,
        method: route.method,
        path: p.path_and_query(),
        target,
        stub,
        status,
        schema,
        contract: contract_lines,
        vs_stub,
        headers,
    }
}

/// Render the drift report.
pub fn render(opts: &DriftOptions, results: &[RouteDrift], style: &Style) -> String {
    let paint = |code: &str, s: &str| {
        if style.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    };
    let mut out = format!(
        "drift: {} against the contract and the stub at {} ({} route{})\n",
        opts.against,
        opts.stub,
        results.len(),
        if results.len() == 1 { "" } else { "s" }
    );
    for r in results {
        if !r.differs() {
            out.push_str(&format!(
                "{} {} {} {}: status {} as the stub, shape as the contract and the stub\n",
                paint("32", "✓"),
                r.route,
                r.method,
                r.path,
                r.target.status
            ));
            continue;
        }
        out.push_str(&format!(
            "{} {} {} {}\n",
            paint("31", "✗"),
            r.route,
            r.method,
            r.path
        ));
        if r.status.is_empty() {
            out.push_str(&format!("    status: {} as the stub\n", r.target.status));
        } else {
            for s in &r.status {
                out.push_str(&format!("    status: {s}\n"));
            }
        }
        if !r.contract.is_empty() {
            out.push_str(&format!(
                "    vs contract ({}):\n",
                r.schema.map_or("-", contract::SchemaId::as_str)
            ));
            for l in &r.contract {
                out.push_str(&format!("      {l}\n"));
            }
        }
        if !r.vs_stub.is_empty() {
            out.push_str("    vs stub:\n");
            for l in &r.vs_stub {
                out.push_str(&format!("      {l}\n"));
            }
        }
        if !r.headers.is_empty() {
            out.push_str("    headers:\n");
            for l in &r.headers {
                out.push_str(&format!("      {l}\n"));
            }
        }
    }
    let differing: Vec<&str> = results
        .iter()
        .filter(|r| r.differs())
        .map(|r| r.route.as_str())
        .collect();
    if differing.is_empty() {
        out.push_str(&format!(
            "Drift summary: no differences in {} routes\n",
            results.len()
        ));
    } else {
        out.push_str(&format!(
            "Drift summary: {} of {} routes differ ({})\n",
            differing.len(),
            results.len(),
            differing.join(", ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use contract::RouteId;
    use serde_json::json;

    fn answer(status: u16, body: Value) -> Answer {
        Answer {
            status,
            json: Some(body),
            headers: BTreeSet::from(["content-type".to_string()]),
            content_type: Some("application/json".into()),
            error: None,
        }
    }

    fn probe(route: RouteId) -> Probe {
        contract::probes("org-x", "ws-x")
            .into_iter()
            .find(|p| p.route.id == route)
            .expect("a probe per route")
    }

    #[test]
    fn an_ensure_image_404_or_501_is_unsupported_not_a_failure() {
        let ready = json!({"status": "ready", "image_ref": "cp-stub/x:latest"});
        for status in [404, 501] {
            let d = compare(
                &probe(RouteId::EnsureImage),
                answer(status, json!({"error": "no such route"})),
                answer(200, ready.clone()),
            );
            assert_eq!(
                d.status,
                vec![format!(
                    "{status} (stub 200): unsupported (the client proceeds)"
                )]
            );
            assert!(d.contract.is_empty() && d.vs_stub.is_empty(), "{d:?}");
        }
        // Another status, or another route's 501, is still a failure.
        let d = compare(
            &probe(RouteId::EnsureImage),
            answer(500, json!({"error": "boom"})),
            answer(200, ready),
        );
        assert_eq!(
            d.status,
            vec!["500 (stub 200): the client treats it as a failure"]
        );
        let d = compare(
            &probe(RouteId::Status),
            answer(501, json!({"error": "no"})),
            answer(200, json!({"state": "running"})),
        );
        assert_eq!(
            d.status,
            vec!["501 (stub 200): the client treats it as a failure"]
        );
    }
}
