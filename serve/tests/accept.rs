//! `serve` over real sockets: it serves, drains in-flight requests on
//! shutdown within the grace, aborts what outlives it, and closes a client
//! whose headers never finish.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use harness_serve::{ServeOptions, Shutdown};
use http::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Notify};

#[tokio::test]
async fn serves_requests_and_keeps_connections_alive() {
    let mut server = start(ServeOptions::default(), |req| async move {
        answer(
            StatusCode::OK,
            if req.uri().path() == "/a" {
                "A"
            } else {
                "other"
            },
        )
    })
    .await;
    let text = get(server.addr, "/a").await;
    assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
    assert!(text.ends_with("\r\n\r\nA"), "{text}");

    // Two requests on one keep-alive connection.
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let mut buf = [0u8; 1024];
    for _ in 0..2 {
        stream
            .write_all(b"GET /b HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let n = stream.read(&mut buf).await.unwrap();
        let text = String::from_utf8_lossy(&buf[..n]);
        assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
        assert!(text.ends_with("other"), "{text}");
    }
    // An idle keep-alive connection does not hold the drain up.
    let started = Instant::now();
    server.stop();
    assert_eq!(server.task.await.unwrap(), Shutdown::Drained);
    assert!(started.elapsed() < Duration::from_secs(5));
    let n = stream.read(&mut buf).await.unwrap_or(0);
    assert_eq!(n, 0, "the idle connection is closed");
    // The listener is gone.
    assert!(TcpStream::connect(server.addr).await.is_err());
}

#[tokio::test]
async fn shutdown_lets_the_in_flight_request_finish() {
    let (started_tx, mut started) = mpsc::unbounded_channel();
    let gate = Arc::new(Notify::new());
    let release = Arc::clone(&gate);
    let mut server = start(
        ServeOptions::default().grace(Duration::from_secs(30)),
        move |_req| {
            let started_tx = started_tx.clone();
            let gate = Arc::clone(&gate);
            async move {
                let _ = started_tx.send(());
                gate.notified().await;
                answer(StatusCode::CREATED, "done")
            }
        },
    )
    .await;
    let addr = server.addr;
    let client = tokio::spawn(async move { get(addr, "/slow").await });
    started.recv().await.unwrap();
    server.stop();
    // Still draining: the request has not been answered.
    assert!(
        tokio::time::timeout(Duration::from_millis(200), &mut server.task)
            .await
            .is_err(),
        "serve returned while a request was in flight"
    );
    release.notify_one();
    let text = client.await.unwrap();
    assert!(text.starts_with("HTTP/1.1 201 Created"), "{text}");
    assert!(text.ends_with("done"), "{text}");
    assert_eq!(server.task.await.unwrap(), Shutdown::Drained);
}

#[tokio::test]
async fn what_outlives_the_grace_is_closed() {
    let (started_tx, mut started) = mpsc::unbounded_channel();
    let mut server = start(
        ServeOptions::default().grace(Duration::from_millis(200)),
        move |_req| {
            let started_tx = started_tx.clone();
            async move {
                let _ = started_tx.send(());
                std::future::pending::<()>().await;
                answer(StatusCode::OK, "never")
            }
        },
    )
    .await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET /stuck HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    started.recv().await.unwrap();
    let begun = Instant::now();
    server.stop();
    let outcome = tokio::time::timeout(Duration::from_secs(10), &mut server.task)
        .await
        .expect("serve did not return after its grace")
        .unwrap();
    assert_eq!(outcome, Shutdown::GraceExpired { open: 1 });
    assert!(begun.elapsed() >= Duration::from_millis(200));
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
        .await
        .expect("the connection is still open");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
}

#[tokio::test]
async fn headers_that_never_finish_get_the_connection_closed() {
    let server = start(
        ServeOptions::default().header_read_timeout(Duration::from_millis(300)),
        |_req| async { answer(StatusCode::OK, "fine") },
    )
    .await;
    let begun = Instant::now();
    let mut slow = TcpStream::connect(server.addr).await.unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    // Others are served while it hangs.
    assert!(get(server.addr, "/").await.ends_with("fine"));
    let mut buf = [0u8; 1024];
    let read = tokio::time::timeout(Duration::from_secs(10), slow.read(&mut buf))
        .await
        .expect("the slow connection is still open after 10 s");
    let closed = match read {
        Ok(0) | Err(_) => true,
        // hyper may answer 408 before closing.
        Ok(n) => String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 408"),
    };
    assert!(closed, "{read:?}");
    assert!(begun.elapsed() >= Duration::from_millis(300));
    assert!(get(server.addr, "/").await.ends_with("fine"));
}
