//! `cp-stub healthcheck`: a tiny blocking HTTP/1.1 GET over std TCP, for
//! container images with no shell and no curl.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Why the stub is not healthy.
#[derive(Debug, thiserror::Error)]
pub enum HealthcheckError {
    /// The URL is not `http://host[:port][/path]`.
    #[error("healthcheck: bad URL `{0}` (expected http://host:port/healthz)")]
    BadUrl(String),
    /// Could not connect, send or read.
    #[error("healthcheck: {url}: {reason}")]
    Io {
        /// The URL.
        url: String,
        /// What failed.
        reason: String,
    },
    /// The answer is not 200 `{"status":"ok"}`.
    #[error("healthcheck: {url}: unhealthy: {reason}")]
    Unhealthy {
        /// The URL.
        url: String,
        /// What came back.
        reason: String,
    },
}

/// GET `url` and succeed only on 200 with a JSON body whose `status` is `ok`.
pub fn healthcheck(url: &str, timeout: Duration) -> Result<(), HealthcheckError> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| HealthcheckError::BadUrl(url.to_string()))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/healthz"),
    };
    if authority.is_empty() {
        return Err(HealthcheckError::BadUrl(url.to_string()));
    }
    let with_port = if authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let io = |reason: String| HealthcheckError::Io {
        url: url.to_string(),
        reason,
    };
    let addrs: Vec<_> = with_port
        .to_socket_addrs()
        .map_err(|e| io(format!("cannot resolve {authority}: {e}")))?
        .collect();
    let mut last = None;
    let mut stream = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = Some(format!("cannot connect to {addr}: {e}")),
        }
    }
    let mut stream = stream
        .ok_or_else(|| io(last.unwrap_or_else(|| format!("{authority} resolves to nothing"))))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|_| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| io(e.to_string()))?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: cp-stub-healthcheck\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| io(format!("send failed: {e}")))?;
    let mut raw = Vec::new();
    stream
        .take(64 * 1024)
        .read_to_end(&mut raw)
        .map_err(|e| io(format!("read failed: {e}")))?;
    let unhealthy = |reason: String| HealthcheckError::Unhealthy {
        url: url.to_string(),
        reason,
    };
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| unhealthy("no complete HTTP answer".into()))?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let mut body = raw[split + 4..].to_vec();
    let status_line = head.lines().next().unwrap_or("");
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| unhealthy(format!("bad status line `{status_line}`")))?;
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    if chunked {
        body = dechunk(&body);
    }
    if status != 200 {
        return Err(unhealthy(format!(
            "status {status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        )));
    }
    let value: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| unhealthy(format!("body is not JSON ({e})")))?;
    match value.get("status").and_then(|s| s.as_str()) {
        Some("ok") => Ok(()),
        _ => Err(unhealthy(format!(
            "body is {value}, expected {{\"status\":\"ok\"}}"
        ))),
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = data.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&data[..eol]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .unwrap_or(0);
        data = &data[eol + 2..];
        if size == 0 || size > data.len() {
            break;
        }
        out.extend_from_slice(&data[..size]);
        data = data.get(size + 2..).unwrap_or(&[]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_bodies_are_joined() {
        assert_eq!(dechunk(b"4\r\nabcd\r\n2\r\nef\r\n0\r\n\r\n"), b"abcdef");
    }

    #[test]
    fn bad_urls_are_refused() {
        assert!(matches!(
            healthcheck("https://x/healthz", Duration::from_millis(10)),
            Err(HealthcheckError::BadUrl(_))
        ));
    }
}
