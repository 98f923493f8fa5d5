//! Bad input over raw sockets: oversized bodies (declared and chunked),
//! garbage request lines, invalid UTF-8, headers that never finish. After
//! each, the server keeps serving.

use std::time::Duration;

use cp_stub::Config;
use serde_json::Value;
use test_support::{stub::*, *};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TWO_MIB: usize = 2 * 1024 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_2mib_body_is_refused_without_being_read() {
    let stub = start_default().await;
    let c = client();
    // Headers only: if the server waited for the body, no answer would come.
    let req = format!(
        "POST /cp/workspaces/provision HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {TWO_MIB}\r\n\r\n"
    );
    let answer = raw(stub.local_addr(), req.as_bytes(), Duration::from_secs(10)).await;
    assert_eq!(
        status_of(&answer),
        Some(413),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    let body = body_of(&answer);
    assert_valid(contract::SchemaId::Error, &body, "413");
    assert!(body["error"].as_str().unwrap().contains("1048576"));
    let st = state(&c, &stub.base_url()).await;
    assert_eq!(st.statuses["413"], 1);
    assert_still_serving(&c, &stub.base_url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_2mib_chunked_body_is_cut_off_at_the_limit() {
    let stub = start_default().await;
    let c = client();
    let stream = TcpStream::connect(stub.local_addr()).await.unwrap();
    let (mut rd, mut wr) = stream.into_split();
    let writer = tokio::spawn(async move {
        let head = "POST /cp/workspaces/provision HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
        wr.write_all(head.as_bytes()).await?;
        let chunk = vec![b' '; 64 * 1024];
        let mut sent = 0;
        while sent < TWO_MIB {
            wr.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                .await?;
            wr.write_all(&chunk).await?;
            wr.write_all(b"\r\n").await?;
            sent += chunk.len();
        }
        wr.write_all(b"0\r\n\r\n").await?;
        Ok::<_, std::io::Error>(sent)
    });
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        let mut buf = [0u8; 4096];
        loop {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    let _ = writer.await;
    assert_eq!(
        status_of(&answer),
        Some(413),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    assert_still_serving(&c, &stub.base_url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_just_under_a_small_limit_is_served_and_just_over_is_413() {
    let stub = start(Config {
        body_limit: 300,
        ..Config::default()
    })
    .await;
    let c = client();
    let base = stub.base_url();
    let mut body = provision_body("org-a", "w1");
    let len = body.to_string().len();
    body["env"]["PAD"] = Value::String("x".repeat(300 - len - 10));
    assert!(body.to_string().len() <= 300);
    let r = c
        .post(format!("{base}/cp/workspaces/provision"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    body["env"]["PAD"] = Value::String("x".repeat(300));
    let r = c
        .post(format!("{base}/cp/workspaces/provision"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
    assert_still_serving(&c, &base).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_is_a_violation_and_the_server_goes_on() {
    let stub = start_default().await;
    let c = client();
    let base = stub.base_url();
    for body in ["{", "[1,2", "\u{0}\u{1}", "null", "{\"org_id\": 5}"] {
        let r = c
            .post(format!("{base}/cp/workspaces/provision"))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 201, "{body:?}");
        let v: Value = r.json().await.unwrap();
        assert_valid(contract::SchemaId::ProvisionResponse, &v, body);
    }
    let st = state(&c, &base).await;
    assert!(st.violations_total >= 5);
    assert_still_serving(&c, &base).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_and_invalid_utf8_get_4xx_and_the_server_goes_on() {
    let stub = start_default().await;
    let c = client();
    let addr = stub.local_addr();
    let cases: Vec<&[u8]> = vec![
        b"GARBAGE\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
        b"GET /cp/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/9.9\r\nHost: x\r\n\r\n",
        b"POST /cp/workspaces/provision HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    ];
    for case in cases {
        let answer = raw(addr, case, Duration::from_secs(5)).await;
        let status = status_of(&answer);
        assert!(
            status.is_some_and(|s| (400..500).contains(&s)),
            "{:?} -> {:?}",
            String::from_utf8_lossy(case),
            String::from_utf8_lossy(&answer)
        );
    }
    // A percent-encoded invalid UTF-8 path is a valid request: 501, and journaled.
    let answer = raw(
        addr,
        b"GET /cp/%ff%fe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(status_of(&answer), Some(501));
    // Invalid UTF-8 in a header value: served, org unknown.
    let body = provision_body("org-bytes", "w1").to_string();
    let mut req = format!(
        "POST /cp/workspaces/provision HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\nX-Molecule-Org-Id: ",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(b"\xff\xfe\r\n\r\n");
    req.extend_from_slice(body.as_bytes());
    let answer = raw(addr, &req, Duration::from_secs(5)).await;
    assert_eq!(
        status_of(&answer),
        Some(201),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    let page = journal(&c, &stub.base_url(), "").await;
    assert!(page.entries.iter().any(|e| e.path == "/cp/%ff%fe"));
    assert!(page
        .entries
        .iter()
        .any(|e| e.org.as_deref() == Some("org-bytes")));
    assert_still_serving(&c, &stub.base_url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_that_never_finish_get_the_connection_closed() {
    let stub = start(Config {
        header_read_timeout: Duration::from_millis(300),
        ..Config::default()
    })
    .await;
    // hyper's header timer also runs on idle keep-alive connections, so a
    // pooled client could pick a connection the server is closing: no pool.
    let c = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let base = stub.base_url();
    let mut slow = TcpStream::connect(stub.local_addr()).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    // Others are served while it hangs.
    assert_still_serving(&c, &base).await;
    let started = std::time::Instant::now();
    let mut buf = [0u8; 1024];
    let outcome = tokio::time::timeout(Duration::from_secs(10), slow.read(&mut buf)).await;
    let closed = match outcome {
        Ok(Ok(0)) | Ok(Err(_)) => true,
        // hyper may answer 408 before closing.
        Ok(Ok(n)) => status_of(&buf[..n]) == Some(408),
        Err(_) => false,
    };
    assert!(
        closed,
        "connection still open after {:?}",
        started.elapsed()
    );
    assert_still_serving(&c, &base).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_vanishes_mid_body_does_not_hurt() {
    let stub = start_default().await;
    let c = client();
    {
        let mut s = TcpStream::connect(stub.local_addr()).await.unwrap();
        s.write_all(b"POST /cp/workspaces/provision HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"org_id\":").await.unwrap();
    }
    // Give the server a moment to notice, then check it serves.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_still_serving(&c, &stub.base_url()).await;
}
