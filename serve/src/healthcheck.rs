//! The healthcheck client: one GET with hyper's HTTP/1 client, for the
//! `healthcheck` subcommands of images with no shell and no curl.

use std::net::SocketAddr;
use std::time::Duration;

use http::{header, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};

/// Most of an answer's body that is read.
const BODY_LIMIT: usize = 64 * 1024;
/// Most of a body quoted in an error.
const EXCERPT: usize = 200;

/// Why the server is not healthy. Each message names the URL, what went
/// wrong and what to check.
#[derive(Debug, thiserror::Error)]
pub enum HealthcheckError {
    /// The URL is not `http://host[:port]/path`.
    #[error("`{url}` is not a usable URL: {reason}; expected http://host:port/path, e.g. http://127.0.0.1:9090/healthz")]
    BadUrl {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The host name does not resolve.
    #[error("{url}: cannot resolve `{host}`: {error}; check the host name (in a container: the service name on a shared network)")]
    Resolve {
        /// The URL probed.
        url: String,
        /// The host part.
        host: String,
        /// The resolver's error (in the message, so not a `source`).
        error: std::io::Error,
    },
    /// Nothing accepts connections there (connection refused, no route).
    #[error("{url} is unreachable: cannot connect (connecting to {addr}: {error}); is the server running and listening on that address and port?")]
    Unreachable {
        /// The URL probed.
        url: String,
        /// The last address tried.
        addr: SocketAddr,
        /// The connect error (in the message, so not a `source`).
        error: std::io::Error,
    },
    /// No answer within the timeout.
    #[error("{url}: timed out after {} ms {stage}; the server may be stuck or overloaded (raise the timeout if it is only slow)", .timeout.as_millis())]
    Timeout {
        /// The URL probed.
        url: String,
        /// The timeout.
        timeout: Duration,
        /// What the probe was doing.
        stage: &'static str,
    },
    /// The HTTP exchange failed (not an HTTP/1 server, connection closed).
    #[error(
        "{url}: the HTTP exchange failed: {reason}; is an HTTP/1 server listening on that port?"
    )]
    Http {
        /// The URL probed.
        url: String,
        /// What failed.
        reason: String,
    },
    /// The answer is not 2xx.
    #[error("{url}: unhealthy: status {status}: {body}")]
    Status {
        /// The URL probed.
        url: String,
        /// The status received.
        status: StatusCode,
        /// The start of the body.
        body: String,
    },
    /// A 2xx whose body is not `{"status":"ok"}`.
    #[error("{url}: unhealthy: status {status} but the body is `{body}`, expected {{\"status\":\"ok\"}}; is this the right server and path?")]
    Body {
        /// The URL probed.
        url: String,
        /// The status received.
        status: StatusCode,
        /// The start of the body.
        body: String,
    },
    /// The probe's own runtime could not start ([`healthcheck`] only).
    #[error("cannot start the healthcheck's tokio runtime: {0}")]
    Runtime(std::io::Error),
}

/// GET `url` and succeed only on a 2xx whose JSON body has `"status":"ok"`;
/// `timeout` bounds the whole probe (resolve, connect, answer).
///
/// Blocking, for a sync `main`: it runs [`healthcheck_async`] on a
/// current-thread runtime of its own. Do not call it inside a tokio runtime.
pub fn healthcheck(url: &str, timeout: Duration) -> Result<(), HealthcheckError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(HealthcheckError::Runtime)?
        .block_on(healthcheck_async(url, timeout))
}

/// [`healthcheck`] for callers already inside a tokio runtime.
pub async fn healthcheck_async(url: &str, timeout: Duration) -> Result<(), HealthcheckError> {
    let deadline = Instant::now() + timeout;
    let timed_out = |stage| HealthcheckError::Timeout {
        url: url.to_string(),
        timeout,
        stage,
    };
    let http_error = |reason: String| HealthcheckError::Http {
        url: url.to_string(),
        reason,
    };
    let uri = parse(url)?;
    let stream = timeout_at(deadline, connect(url, &uri))
        .await
        .map_err(|_| timed_out("while connecting"))??;
    let exchange = async {
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| http_error(e.to_string()))?;
        // Drives the connection; a JoinSet aborts it when the probe ends.
        let mut driver = tokio::task::JoinSet::new();
        driver.spawn(conn);
        let request = Request::get(uri.path_and_query().map_or("/", |p| p.as_str()))
            .header(header::HOST, uri.authority().map_or("", |a| a.as_str()))
            .header(header::USER_AGENT, "harness-serve-healthcheck")
            .header(header::ACCEPT, "application/json")
            .header(header::CONNECTION, "close")
            .body(Empty::<bytes::Bytes>::new())
            .map_err(|e| http_error(e.to_string()))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| http_error(e.to_string()))?;
        let status = response.status();
        let body = Limited::new(response.into_body(), BODY_LIMIT)
            .collect()
            .await
            .map_err(|e| http_error(format!("reading the body: {e}")))?
            .to_bytes();
        Ok::<_, HealthcheckError>((status, body))
    };
    let (status, body) = timeout_at(deadline, exchange)
        .await
        .map_err(|_| timed_out("waiting for the answer"))??;
    let excerpt = || String::from_utf8_lossy(&body[..body.len().min(EXCERPT)]).into_owned();
    if !status.is_success() {
        return Err(HealthcheckError::Status {
            url: url.to_string(),
            status,
            body: excerpt(),
        });
    }
    let ok = serde_json::from_slice::<serde_json::Value>(&body)
        .is_ok_and(|v| v.get("status").and_then(|s| s.as_str()) == Some("ok"));
    if ok {
        Ok(())
    } else {
        Err(HealthcheckError::Body {
            url: url.to_string(),
            status,
            body: excerpt(),
        })
    }
}

fn parse(url: &str) -> Result<Uri, HealthcheckError> {
    let bad = |reason: &str| HealthcheckError::BadUrl {
        url: url.to_string(),
        reason: reason.to_string(),
    };
    let uri: Uri = url
        .parse()
        .map_err(|e: http::uri::InvalidUri| bad(&e.to_string()))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some(_) => return Err(bad("only http:// is supported (no TLS)")),
        None => return Err(bad("no scheme")),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(bad("no host"));
    }
    Ok(uri)
}

/// Connect to the first address of the URL's host that accepts.
async fn connect(url: &str, uri: &Uri) -> Result<TcpStream, HealthcheckError> {
    // `parse` checked the host; brackets come off IPv6 literals.
    let host = uri.host().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = uri.port_u16().unwrap_or(80);
    let resolve_error = |error| HealthcheckError::Resolve {
        url: url.to_string(),
        host: host.to_string(),
        error,
    };
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(resolve_error)?
        .collect();
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(stream) => return Ok(stream),
            Err(error) => last = Some((addr, error)),
        }
    }
    Err(match last {
        Some((addr, error)) => HealthcheckError::Unreachable {
            url: url.to_string(),
            addr,
            error,
        },
        None => resolve_error(std::io::Error::other("resolves to no address")),
    })
}
