//! Helpers shared by the integration tests: real stubs on 127.0.0.1
//! ephemeral ports, a proxy-free client, schema checks and raw sockets.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cp_stub::{Config, LogFormat, LogSink, Stub};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub async fn start(config: Config) -> Stub {
    cp_stub::start(Config { port: 0, ..config })
        .await
        .expect("stub starts")
}

pub async fn start_default() -> Stub {
    start(Config::default()).await
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

/// A log sink that keeps every line, and the lines.
pub fn capture_logs(format: LogFormat) -> (Config, Arc<Mutex<Vec<String>>>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let keep = lines.clone();
    let config = Config {
        log_format: format,
        log_sink: Some(LogSink::new(move |l| {
            keep.lock().unwrap().push(l.to_string())
        })),
        ..Config::default()
    };
    (config, lines)
}

/// Fails the test with every violation when `value` breaks schema `name`.
pub fn assert_valid(name: contract::SchemaId, value: &Value, what: &str) {
    let violations = contract::validate(name, value).expect("known schema");
    assert!(
        violations.is_empty(),
        "{what}: body breaks contract schema `{name}`: {violations:?}\nbody: {value}"
    );
}

pub fn provision_body(org: &str, ws: &str) -> Value {
    contract::example_request(contract::route(contract::RouteId::Provision), org, ws).unwrap()
}

pub async fn provision(c: &reqwest::Client, base: &str, org: &str, ws: &str) -> reqwest::Response {
    c.post(format!("{base}/cp/workspaces/provision"))
        .json(&provision_body(org, ws))
        .send()
        .await
        .expect("provision request")
}

pub async fn get_json(c: &reqwest::Client, url: &str) -> Value {
    let r = c.get(url).send().await.expect("GET");
    assert!(r.status().is_success(), "GET {url}: {}", r.status());
    r.json().await.expect("JSON")
}

pub async fn state(c: &reqwest::Client, base: &str) -> contract::admin::StubState {
    let v = get_json(c, &format!("{base}/__/stub/state")).await;
    serde_json::from_value(v).expect("StubState")
}

pub async fn journal(c: &reqwest::Client, base: &str, query: &str) -> contract::admin::JournalPage {
    let v = get_json(c, &format!("{base}/__/stub/requests{query}")).await;
    serde_json::from_value(v).expect("JournalPage")
}

pub async fn add_fault(c: &reqwest::Client, base: &str, spec: Value) -> contract::admin::Fault {
    let r = c
        .post(format!("{base}/__/stub/faults"))
        .json(&spec)
        .send()
        .await
        .expect("add fault");
    assert_eq!(r.status().as_u16(), 201, "fault {spec} refused");
    r.json().await.expect("Fault")
}

/// Write `request` on a fresh connection and read until EOF, error or
/// `timeout`. Returns what was read.
pub async fn raw(addr: std::net::SocketAddr, request: &[u8], timeout: Duration) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(request).await.expect("write");
    read_until_close(&mut s, timeout).await
}

pub async fn read_until_close(s: &mut TcpStream, timeout: Duration) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(timeout, async {
        let mut buf = [0u8; 8192];
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    out
}

pub fn status_of(raw: &[u8]) -> Option<u16> {
    let text = String::from_utf8_lossy(raw);
    text.lines().next()?.split_whitespace().nth(1)?.parse().ok()
}

pub fn body_of(raw: &[u8]) -> Value {
    let text = String::from_utf8_lossy(raw);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    serde_json::from_str(body).unwrap_or(json!(null))
}

pub async fn assert_still_serving(c: &reqwest::Client, base: &str) {
    let r = c
        .get(format!("{base}/healthz"))
        .send()
        .await
        .expect("healthz after");
    assert_eq!(r.status().as_u16(), 200);
    let r = provision(c, base, "org-after", "ws-after").await;
    assert_eq!(r.status().as_u16(), 201);
}

/// A minimal keep-alive HTTP/1.1 client over one connection: cheap enough
/// in a debug build to send tens of thousands of requests.
pub struct RawConn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl RawConn {
    pub async fn connect(addr: std::net::SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).unwrap();
        RawConn {
            stream,
            buf: Vec::with_capacity(1024),
        }
    }

    /// POST a JSON body; returns (status, body).
    pub async fn post_json(&mut self, path: &str, body: &str) -> (u16, Vec<u8>) {
        let req = format!(
            "POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        self.stream.write_all(req.as_bytes()).await.expect("write");
        self.read_response().await
    }

    async fn read_response(&mut self) -> (u16, Vec<u8>) {
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buf[..end]).to_string();
                let status: u16 = head.split_whitespace().nth(1).unwrap().parse().unwrap();
                let len: usize = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse().unwrap())
                    })
                    .expect("content-length");
                let total = end + 4 + len;
                while self.buf.len() < total {
                    let n = self.stream.read(&mut chunk).await.expect("read body");
                    assert!(n > 0, "connection closed mid-body");
                    self.buf.extend_from_slice(&chunk[..n]);
                }
                let body = self.buf[end + 4..total].to_vec();
                self.buf.drain(..total);
                return (status, body);
            }
            let n = self.stream.read(&mut chunk).await.expect("read");
            assert!(n > 0, "connection closed before the answer");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}
