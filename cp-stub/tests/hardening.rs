//! Issue 11, the stub's side, at test size (loopback, bounded): a secret
//! corpus through journal, log and state with 0 leaks; slow bodies, idle
//! and stalled connections closed within their timeouts while `/healthz`
//! answers; the connection cap; shutdown with stalled bodies; byte bounds
//! (headers, bodies, org keys, pages); a log writer that never blocks;
//! strict mode's required query parameters and headers. The release-binary
//! versions at full size are `binary_hardening.rs` (`#[ignore]`,
//! `bench/robustness.sh`).

use std::time::{Duration, Instant};

use contract::admin::OTHER_ORG;
use cp_stub::{AdminToken, Config, LogFormat, LogSink};
use test_support::{stub::*, *};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One vector: how to send it, and the secret that must never come out.
struct Vector {
    query: &'static str,
    body: String,
    headers: Vec<(&'static str, String)>,
    secret: String,
}

fn corpus() -> Vec<Vector> {
    let pad = "x".repeat(70_000);
    let mut v = Vec::new();
    let mut add =
        |query: &'static str, body: String, headers: Vec<(&'static str, String)>, s: &str| {
            v.push(Vector {
                query,
                body,
                headers,
                secret: s.to_string(),
            })
        };
    add(
        "",
        format!(
            r#"{{"org_id":"o","workspace_id":"w","runtime":"r","tier":1,"platform_url":"u","env":{{"ADMIN_TOKEN":"S3CRET-D01","PAD":"{pad}"}}}}"#
        ),
        vec![],
        "S3CRET-D01",
    );
    add(
        "",
        format!(r#"{{"env":{{"MOLECULE_CP_SHARED_SECRET":"S3CRET-D02","PAD":"{pad}"}}}}"#),
        vec![],
        "S3CRET-D02",
    );
    add(
        "",
        r#"{"env":{"ADMIN_TOKEN":"S3CRET-X03""#.into(),
        vec![],
        "S3CRET-X03",
    );
    add(
        "",
        "token=S3CRET-F04&org_id=o".into(),
        vec![("content-type", "application/x-www-form-urlencoded".into())],
        "S3CRET-F04",
    );
    add(
        "",
        r#"{"env":{"API_KEYS":"S3CRET-K05"}}"#.into(),
        vec![],
        "S3CRET-K05",
    );
    add(
        "",
        r#"{"env":{"GITHUB_PAT":"S3CRET-P06"}}"#.into(),
        vec![],
        "S3CRET-P06",
    );
    add(
        "",
        r#"{"CREDENTIALS":{"user":"u","pw":"S3CRET-C07"}}"#.into(),
        vec![],
        "S3CRET-C07",
    );
    add(
        "",
        r#"{"env":{"DATABASE_URL":"postgres://u:S3CRET-U08@h/db"}}"#.into(),
        vec![],
        "S3CRET-U08",
    );
    add(
        "",
        "DATABASE_URL=postgres://u:S3CRET-U09@h/db".into(),
        vec![],
        "S3CRET-U09",
    );
    add(
        "",
        "DATABASE_URL=postgres%3A%2F%2Fu%3AS3CRET-U10%40h%2Fdb".into(),
        vec![],
        "S3CRET-U10",
    );
    add("token%00=S3CRET-Q11", String::new(), vec![], "S3CRET-Q11");
    add("token[]=S3CRET-Q12", String::new(), vec![], "S3CRET-Q12");
    add(
        "access_token=S3CRET-Q13&instance_id=i",
        String::new(),
        vec![],
        "S3CRET-Q13",
    );
    add(
        "",
        "{}".into(),
        vec![("x-api-key", "S3CRET-H14".into())],
        "S3CRET-H14",
    );
    add(
        "",
        "{}".into(),
        vec![("x-auth-token", "S3CRET-H15".into())],
        "S3CRET-H15",
    );
    add(
        "",
        "{}".into(),
        vec![("authorization", "Bearer S3CRET-H16".into())],
        "S3CRET-H16",
    );
    add(
        "",
        "{}".into(),
        vec![("cookie", "session=S3CRET-H17".into())],
        "S3CRET-H17",
    );
    add(
        "",
        "{}".into(),
        vec![("x-molecule-admin-token", "S3CRET-H18".into())],
        "S3CRET-H18",
    );
    add(
        "",
        format!(
            r#"{{"env":{{"X_SECRET":"S3CRET-B19"}},"pad":"{}"}}"#,
            "y".repeat(20_000)
        ),
        vec![],
        "S3CRET-B19",
    );
    add(
        "",
        r#"["not", {"password": "S3CRET-B20"}"#.into(),
        vec![],
        "S3CRET-B20",
    );
    add(
        "",
        r#"{"nested":[{"api_key":12345}],"note":"token=S3CRET-B21"}"#.into(),
        vec![],
        "S3CRET-B21",
    );
    add(
        "",
        "{\"env\":{\"ADMIN_TOKEN\":\"S3CRET-B22\"}}\u{0}\u{1}garbage".into(),
        vec![],
        "S3CRET-B22",
    );
    add(
        "",
        r#"{"Password" : "S3CRET-B23", "idempotency_key": "cpprov-keep"}"#.into(),
        vec![],
        "S3CRET-B23",
    );
    // Schema violations quote the offending value: in the state and the journal.
    add(
        "",
        r#"{"org_id":"o","workspace_id":"w","runtime":"r","tier":1,"platform_url":"u","env":{"ADMIN_TOKEN":987654321}}"#.into(),
        vec![],
        "987654321",
    );
    add(
        "",
        r#"[{"api_key":"S3CRET-V25"}]"#.into(),
        vec![],
        "S3CRET-V25",
    );
    add(
        "",
        r#"{"org_id":"o","workspace_id":"w","runtime":"r","tier":{"password":"S3CRET-V26"},"platform_url":"u","env":{}}"#.into(),
        vec![],
        "S3CRET-V26",
    );
    // A body member that holds a query string, and a secret in a URL's query.
    add(
        "",
        r#"{"callback":"https://h/cb?token=S3CRET-V27&x=1"}"#.into(),
        vec![],
        "S3CRET-V27",
    );
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_of_the_corpus_reaches_journal_log_or_state() {
    let (config, lines) = capture_logs(LogFormat::Json);
    let stub = start(config).await;
    let c = client();
    let base = stub.base_url();
    let corpus = corpus();
    assert!(corpus.len() >= 20);
    for Vector {
        query: q,
        body,
        headers,
        ..
    } in &corpus
    {
        for path in ["/cp/workspaces/provision", "/cp/nowhere"] {
            let url = if q.is_empty() {
                format!("{base}{path}")
            } else {
                format!("{base}{path}?{q}")
            };
            let mut req = c.post(url).body(body.clone());
            for (k, v) in headers {
                req = req.header(*k, v);
            }
            let r = req.send().await.unwrap();
            assert!(r.status().as_u16() < 500 || r.status().as_u16() == 501);
        }
    }
    // Every page of the journal (a page is ~1 MiB at most).
    let mut journal = String::new();
    let mut since = 0;
    let mut pages = 0;
    loop {
        let text = c
            .get(format!("{base}/__/stub/requests?since_seq={since}"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let page: contract::admin::JournalPage = serde_json::from_str(&text).unwrap();
        journal.push_str(&text);
        pages += 1;
        match page.next_since_seq {
            Some(n) if pages < 20 => since = n,
            _ => {
                assert_eq!(page.entries.last().map(|e| e.seq), Some(page.last_seq));
                break;
            }
        }
    }
    let state = c
        .get(format!("{base}/__/stub/state"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let logs = lines.lock().unwrap().join("\n");
    let mut leaks = Vec::new();
    for Vector { secret, .. } in &corpus {
        for (what, text) in [("journal", &journal), ("state", &state), ("log", &logs)] {
            if text.contains(secret.as_str()) {
                leaks.push(format!("{secret} in {what}"));
            }
        }
    }
    assert!(leaks.is_empty(), "leaks: {leaks:?}");
    assert!(
        journal.contains("cpprov-keep"),
        "idempotency_key is not a secret"
    );
    assert!(journal.contains("<redacted>"));
}

#[test]
fn a_config_file_error_does_not_echo_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stub.toml");
    std::fs::write(&path, "shared_secret = \"S3CRET-TOML\" junk\n").unwrap();
    let err = cp_stub::load_config(cp_stub::Settings::default(), Some(&path)).unwrap_err();
    let text = err.to_string();
    assert!(!text.contains("S3CRET-TOML"), "{text}");
    assert!(text.contains("stub.toml"), "{text}");
}

/// Read until the server closes `s`; the time that took.
async fn closed_after(s: &mut TcpStream, within: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    tokio::time::timeout(within, async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await
    .ok()
    .map(|()| started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_body_idle_and_silent_clients_are_closed_within_their_timeouts() {
    let stub = start(Config {
        body_read_timeout: Duration::from_millis(600),
        idle_timeout: Duration::from_millis(800),
        header_read_timeout: Duration::from_millis(700),
        ..Config::default()
    })
    .await;
    let addr = stub.local_addr();
    let c = client();
    // Slow body: 5 of 100 declared bytes.
    let mut slow_body = TcpStream::connect(addr).await.unwrap();
    slow_body
        .write_all(b"POST /cp/workspaces/provision HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n01234")
        .await
        .unwrap();
    // Slowloris: headers never finish.
    let mut slowloris = TcpStream::connect(addr).await.unwrap();
    slowloris
        .write_all(b"GET /healthz HTTP/1.1\r\nHo")
        .await
        .unwrap();
    // Idle keep-alive after one answered request.
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 512];
    let n = idle.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    // Everyone else is served meanwhile.
    assert_still_serving(&c, &stub.base_url()).await;
    for (what, s, timeout) in [
        ("slow body", &mut slow_body, 600),
        ("slowloris", &mut slowloris, 700),
        ("idle", &mut idle, 800),
    ] {
        let took = closed_after(s, Duration::from_secs(5)).await;
        let took = took.unwrap_or_else(|| panic!("{what}: still open after 5 s"));
        assert!(
            took <= Duration::from_millis(timeout + 1000),
            "{what}: closed after {took:?}"
        );
    }
    // A fresh client: `c`'s pooled connection was idle past the idle
    // timeout, and may be closing just as it would be reused.
    let c = client();
    let st = state(&c, &stub.base_url()).await;
    // The slow-body call and assert_still_serving's provision.
    assert_eq!(st.provision_calls(), 2);
    assert_still_serving(&c, &stub.base_url()).await;
}

/// A provision call whose body never comes, proven in flight: the stub
/// asked for the body (`100 Continue`), so its handler is running.
async fn in_flight_stalled(addr: std::net::SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"POST /cp/workspaces/provision HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n")
        .await
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    tokio::time::timeout(Duration::from_secs(5), async {
        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .expect("100 Continue within 5 s");
    assert!(
        got.starts_with(b"HTTP/1.1 100"),
        "{}",
        String::from_utf8_lossy(&got)
    );
    s
}

trait ProvisionCalls {
    fn provision_calls(&self) -> u64;
}
impl ProvisionCalls for contract::admin::StubState {
    fn provision_calls(&self) -> u64 {
        self.counters.get("provision_calls").copied().unwrap_or(0)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_cap_the_oldest_idle_connection_goes_and_with_none_idle_a_503() {
    let stub = start(Config {
        max_connections: 3,
        ..Config::default()
    })
    .await;
    let addr = stub.local_addr();
    // Three idle connections (connected, nothing sent), the first the oldest.
    let mut first = TcpStream::connect(addr).await.unwrap();
    let mut others = Vec::new();
    for _ in 0..2 {
        others.push(TcpStream::connect(addr).await.unwrap());
    }
    // Each must be registered before the next: prove it with a round trip on each.
    for s in others.iter_mut() {
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 256];
        assert!(s.read(&mut buf).await.unwrap() > 0);
    }
    let answer = raw(
        addr,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(
        status_of(&answer),
        Some(200),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    assert!(
        closed_after(&mut first, Duration::from_secs(3))
            .await
            .is_some(),
        "the oldest idle connection is closed"
    );
    // Three requests in flight (bodies stalled): the fourth connection gets 503.
    let stub2 = start(Config {
        max_connections: 3,
        body_read_timeout: Duration::from_secs(20),
        ..Config::default()
    })
    .await;
    let mut busy = Vec::new();
    for _ in 0..3 {
        busy.push(in_flight_stalled(stub2.local_addr()).await);
    }
    let refused = raw(
        stub2.local_addr(),
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(
        status_of(&refused),
        Some(503),
        "{}",
        String::from_utf8_lossy(&refused)
    );
    assert!(String::from_utf8_lossy(&refused).contains("at most 3"));
    drop(busy);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_is_not_held_by_stalled_bodies() {
    let stub = start(Config {
        body_read_timeout: Duration::from_secs(60),
        shutdown_grace: Duration::from_secs(3),
        ..Config::default()
    })
    .await;
    let mut stalled = Vec::new();
    for _ in 0..20 {
        stalled.push(in_flight_stalled(stub.local_addr()).await);
    }
    assert_still_serving(&client(), &stub.base_url()).await;
    let started = Instant::now();
    stub.shutdown().await;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "shutdown took {:?} (grace 3 s)",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_bound_headers_bodies_org_keys_and_pages() {
    let stub = start(Config {
        orgs_cap: 5,
        journal_bytes: 400 * 1024,
        ..Config::default()
    })
    .await;
    let c = client();
    let base = stub.base_url();
    let big = "h".repeat(100 * 1024);
    for i in 0..40 {
        let r = c
            .get(format!("{base}/cp/tenants/config"))
            .header("x-molecule-org-id", format!("org-{i}"))
            .header("x-big", &big)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }
    let st = state(&c, &base).await;
    assert!(st.orgs.len() <= 6, "{:?}", st.orgs.keys());
    assert_eq!(st.orgs_cap, 5);
    assert_eq!(st.orgs_overflowed, 35);
    assert_eq!(
        st.org_calls(OTHER_ORG, contract::RouteId::TenantsConfig),
        35
    );
    let page = journal(&c, &base, "").await;
    assert!(page.bytes <= 400 * 1024, "{}", page.bytes);
    assert!(page.dropped > 0, "the byte budget evicts");
    for e in &page.entries {
        let h: usize = e.headers.iter().map(|(k, v)| k.len() + v.len()).sum();
        assert!(h <= 8 * 1024, "{h}");
        assert!(e.headers_truncated > 90 * 1024);
    }
    // Pages: continue with next_since_seq until done; each page ≤ ~1 MiB.
    let stub = start_default().await;
    let base = stub.base_url();
    let body = format!(r#"{{"pad":"{}"}}"#, "p".repeat(15 * 1024));
    for _ in 0..150 {
        c.post(format!("{base}/cp/workspaces/provision"))
            .body(body.clone())
            .send()
            .await
            .unwrap();
    }
    let mut since = 0;
    let mut seen = 0;
    for _ in 0..10 {
        let r = c
            .get(format!("{base}/__/stub/requests?since_seq={since}"))
            .send()
            .await
            .unwrap();
        let text = r.text().await.unwrap();
        assert!(text.len() <= 1024 * 1024 + 64 * 1024, "{}", text.len());
        let page: contract::admin::JournalPage = serde_json::from_str(&text).unwrap();
        seen += page.entries.len();
        match page.next_since_seq {
            Some(n) => since = n,
            None => break,
        }
    }
    assert_eq!(seen, 150);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_writer_that_blocks_never_holds_a_request() {
    // The writer blocks until `release` is dropped (a stuck log shipper).
    let (release, blocked) = std::sync::mpsc::channel::<()>();
    let stub = start(Config {
        log_format: LogFormat::Text,
        log_sink: Some(LogSink::buffered(8, move |_| {
            let _ = blocked.recv();
        })),
        ..Config::default()
    })
    .await;
    let c = client();
    let base = stub.base_url();
    let answered = tokio::time::timeout(Duration::from_secs(20), async {
        for _ in 0..200 {
            assert!(c
                .get(format!("{base}/healthz"))
                .send()
                .await
                .unwrap()
                .status()
                .is_success());
        }
    })
    .await;
    assert!(answered.is_ok(), "requests held up by the log");
    let st = state(&c, &base).await;
    assert!(st.log_lines_dropped >= 150, "{}", st.log_lines_dropped);
    drop(release);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_mode_names_each_missing_required_query_parameter_and_header() {
    let stub = start(Config {
        strict: true,
        expect_admin_tokens: vec![AdminToken::parse("tok").unwrap()],
        ..Config::default()
    })
    .await;
    let c = client();
    let base = stub.base_url();
    let r = c
        .delete(format!("{base}/cp/workspaces/ws-1"))
        .header("x-molecule-admin-token", "tok")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let text = r.text().await.unwrap();
    assert!(text.contains("instance_id"), "{text}");
    let r = c
        .delete(format!("{base}/cp/workspaces/ws-1?instance_id=i"))
        .header("x-molecule-admin-token", "tok")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let r = c
        .get(format!("{base}/cp/tenants/config"))
        .header("authorization", "Bearer tok")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let text = r.text().await.unwrap();
    assert!(text.contains("x-molecule-org-id"), "{text}");
}
