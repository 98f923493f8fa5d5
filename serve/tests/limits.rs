//! The idle timeout, the connection cap and shutdown with clients that
//! never finish their headers, over real sockets.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use harness_serve::{ServeOptions, Shutdown};
use http::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;

/// Read until the server closes `s`; how long that took, `None` after `within`.
async fn closed_after(s: &mut TcpStream, within: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 512];
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

async fn one_request(s: &mut TcpStream) -> String {
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 512];
    let n = s.read(&mut buf).await.unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let server = start(
        ServeOptions::default()
            .header_read_timeout(Duration::from_secs(30))
            .idle_timeout(Duration::from_millis(500)),
        |_req| async { answer(StatusCode::OK, "ok") },
    )
    .await;
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    assert!(one_request(&mut s).await.starts_with("HTTP/1.1 200"));
    let took = closed_after(&mut s, Duration::from_secs(5))
        .await
        .expect("closed");
    assert!(took >= Duration::from_millis(400), "{took:?}");
    assert!(took <= Duration::from_millis(1500), "{took:?}");
}

#[tokio::test]
async fn a_slow_handler_is_not_idle() {
    let server = start(
        ServeOptions::default().idle_timeout(Duration::from_millis(300)),
        |_req| async {
            tokio::time::sleep(Duration::from_millis(900)).await;
            answer(StatusCode::OK, "late")
        },
    )
    .await;
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    let text = one_request(&mut s).await;
    assert!(text.ends_with("late"), "{text}");
}

#[tokio::test]
async fn at_the_cap_the_oldest_idle_goes_first_and_with_none_idle_a_503() {
    let release = Arc::new(Notify::new());
    let gate = release.clone();
    let (entered_tx, mut entered) = tokio::sync::mpsc::unbounded_channel();
    let server = start(ServeOptions::default().max_connections(2), move |req| {
        let gate = gate.clone();
        let entered_tx = entered_tx.clone();
        async move {
            if req.uri().path() == "/hold" {
                let _ = entered_tx.send(());
                gate.notified().await;
            }
            answer(StatusCode::OK, "ok")
        }
    })
    .await;
    let mut oldest = TcpStream::connect(server.addr).await.unwrap();
    assert!(one_request(&mut oldest).await.starts_with("HTTP/1.1 200"));
    let mut newer = TcpStream::connect(server.addr).await.unwrap();
    assert!(one_request(&mut newer).await.starts_with("HTTP/1.1 200"));
    // A third: the oldest idle one is closed, the newcomer served.
    let mut third = TcpStream::connect(server.addr).await.unwrap();
    assert!(one_request(&mut third).await.starts_with("HTTP/1.1 200"));
    assert!(closed_after(&mut oldest, Duration::from_secs(3))
        .await
        .is_some());

    // Both open connections busy: the next one gets 503 and is closed.
    for s in [&mut newer, &mut third] {
        s.write_all(b"GET /hold HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
    }
    for _ in 0..2 {
        tokio::time::timeout(Duration::from_secs(5), entered.recv())
            .await
            .expect("both handlers entered");
    }
    let refused = get(server.addr, "/").await;
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    assert!(refused.contains("at most 2"), "{refused}");
    release.notify_waiters();
}

#[tokio::test]
async fn shutdown_does_not_wait_for_clients_still_sending_headers() {
    let mut server = start(
        ServeOptions::default()
            .header_read_timeout(Duration::from_secs(60))
            .grace(Duration::from_secs(10)),
        |_req| async { answer(StatusCode::OK, "ok") },
    )
    .await;
    let mut stalled = Vec::new();
    for _ in 0..20 {
        let mut s = TcpStream::connect(server.addr).await.unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Half: ")
            .await
            .unwrap();
        stalled.push(s);
    }
    // All accepted: a full request on a 21st connection is answered.
    assert!(get(server.addr, "/").await.starts_with("HTTP/1.1 200"));
    let started = Instant::now();
    server.stop();
    assert_eq!(server.task.await.unwrap(), Shutdown::Drained);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}
