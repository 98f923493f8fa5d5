//! Building and sending a step's request; the `curl` line that sends it again.

use std::time::Duration;

use serde_json::Value;

use crate::format::model::Request;
use crate::format::template::Expand;
use crate::runner::mask::{self, Secrets};
use crate::runner::vars::Scope;

/// Header every request of the runner carries, so the stub's journal can
/// tell which replay execution sent what.
pub(crate) const REPLAY_ID_HEADER: &str = "x-replay-id";

/// A request with every template expanded.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    /// Method.
    pub(crate) method: String,
    /// URL.
    pub(crate) url: String,
    /// Headers (expanded).
    pub(crate) headers: Vec<(String, String)>,
    /// Headers as written (templates), for the curl line of secret ones.
    pub(crate) header_templates: Vec<(String, String)>,
    /// JSON body.
    pub(crate) json: Option<Value>,
    /// Raw body.
    pub(crate) body: Option<String>,
    /// Timeout for this attempt.
    pub(crate) timeout: Duration,
}

/// Expand a request.
pub(crate) fn prepare(
    req: &Request,
    scope: &Scope<'_>,
    timeout: Duration,
) -> Result<Prepared, Expand> {
    let mut headers = Vec::new();
    let mut header_templates = Vec::new();
    for (k, v) in &req.headers {
        headers.push((k.get_ref().clone(), scope.expand(v.get_ref())?));
        header_templates.push((k.get_ref().clone(), v.get_ref().clone()));
    }
    let json = match &req.json {
        Some(j) => {
            let raw = serde_json::to_value(j.get_ref()).unwrap_or(Value::Null);
            Some(scope.expand_json(&raw)?)
        }
        None => None,
    };
    let body = match &req.body {
        Some(b) => Some(scope.expand(b.get_ref())?),
        None => None,
    };
    Ok(Prepared {
        method: req
            .method
            .as_ref()
            .map_or_else(|| "GET".to_string(), |m| m.get_ref().clone()),
        url: scope.expand(req.url.get_ref())?,
        headers,
        header_templates,
        json,
        body,
        timeout,
    })
}

/// An answer.
#[derive(Debug, Clone)]
pub(crate) struct Response {
    /// Status.
    pub(crate) status: u16,
    /// Headers, names lower-cased, in arrival order.
    pub(crate) headers: Vec<(String, String)>,
    /// Body as text (lossy UTF-8).
    pub(crate) text: String,
    /// Body as JSON, when it parses.
    pub(crate) json: Option<Value>,
    /// The body as it may be shown: `text` with the redaction rule applied.
    pub(crate) shown: String,
}

impl Response {
    /// Values of a header (any case).
    pub(crate) fn header(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The body for messages: redacted, its secret values masked, then
    /// cut to `max` characters.
    pub(crate) fn snippet(&self, max: usize, secrets: &Secrets) -> String {
        snippet(&secrets.mask(&self.shown), max)
    }
}

/// Cut text to `max` characters, single line.
pub(crate) fn snippet(text: &str, max: usize) -> String {
    let one: String = text.replace('\n', "\\n");
    if one.chars().count() > max {
        format!("{}…", one.chars().take(max).collect::<String>())
    } else if one.is_empty() {
        "(empty body)".to_string()
    } else {
        one
    }
}

/// Why no answer came.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Nothing listens there (connection refused, unknown host).
    #[error("cannot connect to {url}: {reason}")]
    Unreachable {
        /// URL.
        url: String,
        /// Cause.
        reason: String,
    },
    /// No full answer within the timeout.
    #[error("no answer within {}", crate::format::duration::format_duration(*.0))]
    Timeout(Duration),
    /// Connection closed, bad HTTP, bad URL.
    #[error("no answer: {0}")]
    Transport(String),
}

/// Send a prepared request.
pub(crate) async fn send(
    client: &reqwest::Client,
    p: &Prepared,
    replay_id: &str,
) -> Result<Response, SendError> {
    let method = reqwest::Method::from_bytes(p.method.as_bytes())
        .map_err(|_| SendError::Transport(format!("bad method {}", p.method)))?;
    let mut rb = client
        .request(method, &p.url)
        .header(REPLAY_ID_HEADER, replay_id);
    for (k, v) in &p.headers {
        // `check` rejects bad names and values as written; a variable's
        // value can still bring a CR or LF.
        let name = reqwest::header::HeaderName::from_bytes(k.as_bytes()).map_err(|_| {
            SendError::Transport(format!(
                "header name `{}` is not an HTTP header name",
                k.escape_debug()
            ))
        })?;
        let value = reqwest::header::HeaderValue::from_str(v).map_err(|_| {
            SendError::Transport(format!(
                "the value of header `{k}` (after expanding its variables) holds a CR, LF or another control character; a header value is one line of text"
            ))
        })?;
        rb = rb.header(name, value);
    }
    if let Some(j) = &p.json {
        rb = rb.json(j);
    } else if let Some(b) = &p.body {
        rb = rb.body(b.clone());
    }
    let fut = async {
        let resp = rb.send().await.map_err(|e| classify(&e, &p.url))?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let bytes = resp.bytes().await.map_err(|e| classify(&e, &p.url))?;
        Ok::<_, SendError>((status, headers, bytes))
    };
    let (status, headers, bytes) = tokio::time::timeout(p.timeout, fut)
        .await
        .map_err(|_| SendError::Timeout(p.timeout))??;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let json: Option<Value> = serde_json::from_slice(&bytes).ok();
    let shown = mask::body(&text, json.as_ref());
    Ok(Response {
        status,
        headers,
        text,
        json,
        shown,
    })
}

/// Sort a reqwest error into unreachable / transport. URLs in it are
/// redacted by `contract::redact` (a `?token=` never reaches a message).
pub fn classify(e: &reqwest::Error, url: &str) -> SendError {
    let mut reason = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        reason = format!("{reason}: {s}");
        src = s.source();
    }
    // reqwest prints the URL as it parsed it, which may differ from `url`.
    for raw in [Some(url.to_string()), e.url().map(|u| u.to_string())]
        .into_iter()
        .flatten()
    {
        reason = reason.replace(&raw, &contract::redact::url(&raw));
    }
    let reason = contract::redact::url(&reason).into_owned();
    let url = contract::redact::url(url).into_owned();
    // The innermost cause says it best ("Connection refused (os error
    // 111)", "relative URL without a base"), not reqwest's "builder error".
    let mut inner: &dyn std::error::Error = e;
    while let Some(s) = inner.source() {
        inner = s;
    }
    let innermost = contract::redact::url(&inner.to_string()).into_owned();
    if e.is_connect() {
        SendError::Unreachable {
            url,
            reason: innermost,
        }
    } else if e.is_builder() {
        SendError::Transport(format!("bad request to {url}: {innermost}"))
    } else {
        SendError::Transport(reason)
    }
}

/// The shared HTTP client: no proxy (a CI proxy variable never reroutes
/// loopback traffic), no redirects (replays assert what was answered).
pub fn client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("replays/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(5))
        .build()
}

// The curl line always single-quotes URLs, headers and bodies (a URL with
// `?a=1&b=2` pastes safely); `shlex::try_quote` leaves plain words bare,
// which would change every printed reproduce line, so this stays. A word
// with a control character (a CR or LF from a variable) is written as
// `$'...'` with escapes, so the line stays one line.
fn sq(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return format!("'{}'", s.replace('\'', r"'\''"));
    }
    let mut o = String::from("$'");
    for c in s.chars() {
        match c {
            '\\' => o.push_str(r"\\"),
            '\'' => o.push_str(r"\'"),
            '\n' => o.push_str(r"\n"),
            '\r' => o.push_str(r"\r"),
            '\t' => o.push_str(r"\t"),
            c if c.is_control() => o.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => o.push(c),
        }
    }
    o.push('\'');
    o
}

fn dq(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        if matches!(c, '"' | '\\' | '`') {
            o.push('\\');
        }
        o.push(c);
    }
    o.push('"');
    o
}

/// A `curl` command that sends the same request, with the redaction rule
/// applied: secret headers are written with their `${VAR}` templates (set
/// them from the env file first) or masked, never with their values; secret
/// query values and JSON keys are masked.
pub(crate) fn curl_line(p: &Prepared) -> String {
    let mut parts = vec!["curl -sS -i".to_string()];
    if p.method != "GET" || p.json.is_some() || p.body.is_some() {
        parts.push(format!("-X {}", p.method));
    }
    parts.push(sq(&contract::redact::url(&p.url)));
    for ((k, v), (_, tpl)) in p.headers.iter().zip(&p.header_templates) {
        if contract::redact::is_secret_name(k) {
            if tpl.contains("${") && !tpl.chars().any(char::is_control) {
                parts.push(format!("-H {}", dq(&format!("{k}: {tpl}"))));
            } else {
                parts.push(format!(
                    "-H {}",
                    sq(&format!("{k}: {}", contract::redact::REDACTED))
                ));
            }
        } else {
            parts.push(format!("-H {}", sq(&format!("{k}: {v}"))));
        }
    }
    if let Some(j) = &p.json {
        if !p
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        {
            parts.push("-H 'content-type: application/json'".to_string());
        }
        parts.push(format!("--data-raw {}", sq(&mask::json(j).to_string())));
    } else if let Some(b) = &p.body {
        let parsed: Option<Value> = serde_json::from_str(b).ok();
        parts.push(format!(
            "--data-raw {}",
            sq(&mask::body(b, parsed.as_ref()))
        ));
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn curl_masks_secrets_and_quotes() {
        let p = Prepared {
            method: "POST".into(),
            url: "http://127.0.0.1:9/cp/x".into(),
            headers: vec![
                ("Authorization".into(), "Bearer s3cret".into()),
                ("X-Molecule-Admin-Token".into(), "t0k".into()),
                ("X-Molecule-Org-Id".into(), "org-a".into()),
            ],
            header_templates: vec![
                ("Authorization".into(), "Bearer ${ALPHA_ADMIN_TOKEN}".into()),
                ("X-Molecule-Admin-Token".into(), "t0k".into()),
                ("X-Molecule-Org-Id".into(), "${ALPHA_ORG_ID}".into()),
            ],
            json: Some(json!({"name": "it's"})),
            body: None,
            timeout: Duration::from_secs(1),
        };
        let c = curl_line(&p);
        assert!(!c.contains("s3cret") && !c.contains("t0k"), "{c}");
        assert!(
            c.contains(r#"-H "Authorization: Bearer ${ALPHA_ADMIN_TOKEN}""#),
            "{c}"
        );
        assert!(c.contains("-H 'X-Molecule-Admin-Token: <redacted>'"), "{c}");
        assert!(c.contains("-H 'X-Molecule-Org-Id: org-a'"), "{c}");
        assert!(c.contains("-H 'content-type: application/json'"), "{c}");
        assert!(c.contains(r#"--data-raw '{"name":"it'\''s"}'"#), "{c}");
        assert!(c.starts_with("curl -sS -i -X POST 'http://127.0.0.1:9/cp/x'"));
    }

    fn prepared(url: &str, headers: &[(&str, &str)], json: Option<Value>) -> Prepared {
        let pairs: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Prepared {
            method: "POST".into(),
            url: url.into(),
            headers: pairs.clone(),
            header_templates: pairs,
            json,
            body: None,
            timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn curl_applies_the_rule_to_queries_headers_and_json() {
        let p = prepared(
            "http://u:pw-1@127.0.0.1:9/cp/x?token=q-secret&tier=1",
            &[("X-Api-Key", "k-secret"), ("X-Note", "a\r\nb")],
            Some(
                json!({"env": {"ADMIN_TOKEN": "j-secret", "TIER": "1"}, "idempotency_key": "cpprov-1"}),
            ),
        );
        let c = curl_line(&p);
        for secret in ["pw-1", "q-secret", "k-secret", "j-secret"] {
            assert!(!c.contains(secret), "{secret} in {c}");
        }
        assert!(
            c.contains("'http://u:<redacted>@127.0.0.1:9/cp/x?token=<redacted>&tier=1'"),
            "{c}"
        );
        assert!(c.contains("-H 'X-Api-Key: <redacted>'"), "{c}");
        assert!(c.contains(r#""idempotency_key":"cpprov-1""#), "{c}");
        // A control character stays escaped: the line stays one line.
        assert!(c.contains(r"-H $'X-Note: a\r\nb'"), "{c}");
        assert!(!c.contains('\n') && !c.contains('\r'), "{c}");
    }

    #[tokio::test]
    async fn a_crlf_from_a_variable_fails_the_step_naming_the_header() {
        let client = client().unwrap();
        let p = prepared(
            "http://127.0.0.1:9/",
            &[("X-Note", "s3cr3t\r\nX-Injected: 1")],
            None,
        );
        let e = send(&client, &p, "rp-1").await.unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("header `X-Note`") && msg.contains("CR, LF"),
            "{msg}"
        );
        assert!(
            !msg.contains("s3cr3t") && !msg.contains("builder error"),
            "{msg}"
        );
    }

    #[tokio::test]
    async fn errors_never_show_a_secret_query() {
        let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = dead.local_addr().unwrap();
        drop(dead);
        let client = client().unwrap();
        let p = prepared(&format!("http://{addr}/x?token=q-secret"), &[], None);
        let e = send(&client, &p, "rp-1").await.unwrap_err();
        assert!(matches!(e, SendError::Unreachable { .. }), "{e}");
        let msg = e.to_string();
        assert!(
            !msg.contains("q-secret") && msg.contains("token=<redacted>"),
            "{msg}"
        );
        let p = prepared("http://exa mple/?token=q-secret", &[], None);
        let msg = send(&client, &p, "rp-1").await.unwrap_err().to_string();
        assert!(
            !msg.contains("q-secret") && !msg.contains("builder error"),
            "{msg}"
        );
        assert!(
            msg.starts_with("no answer: bad request to http://exa mple/?token=<redacted>: "),
            "{msg}"
        );
    }
}
