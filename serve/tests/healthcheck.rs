//! `healthcheck` over real sockets: healthy on 2xx `{"status":"ok"}` (also
//! chunked), and each failure named: the status, the body, a closed port,
//! a server that never answers, a bad URL.

mod common;

use std::time::{Duration, Instant};

use common::*;
use harness_serve::{healthcheck, healthcheck_async, HealthcheckError, ServeOptions};
use http::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const SHORT: Duration = Duration::from_millis(300);
const PATIENT: Duration = Duration::from_secs(10);

async fn answering(status: StatusCode, body: &'static str) -> Server {
    start(ServeOptions::default(), move |_req| async move {
        answer(status, body)
    })
    .await
}

#[tokio::test]
async fn a_200_with_status_ok_is_healthy() {
    let server = answering(StatusCode::OK, r#"{"status":"ok","extra":1}"#).await;
    healthcheck_async(&server.url("/healthz"), PATIENT)
        .await
        .unwrap();
}

#[test]
fn the_blocking_probe_works_from_sync_code() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(answering(StatusCode::OK, r#"{"status":"ok"}"#));
    healthcheck(&server.url("/health"), PATIENT).unwrap();
    // Nothing listening: the same answer as the async probe.
    let err = healthcheck(&closed_port_url(&rt), PATIENT).unwrap_err();
    assert!(matches!(err, HealthcheckError::Unreachable { .. }), "{err}");
}

#[tokio::test]
async fn a_chunked_answer_is_read_by_hyper() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            s.read_exact(&mut byte).await.unwrap();
            head.push(byte[0]);
        }
        s.write_all(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7\r\n{\"statu\r\n8\r\ns\":\"ok\"}\r\n0\r\n\r\n",
        )
        .await
        .unwrap();
    });
    healthcheck_async(&format!("http://{addr}/healthz"), PATIENT)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_503_fails_naming_the_status() {
    let server = answering(StatusCode::SERVICE_UNAVAILABLE, r#"{"status":"starting"}"#).await;
    let err = healthcheck_async(&server.url("/healthz"), PATIENT)
        .await
        .unwrap_err();
    assert!(
        matches!(err, HealthcheckError::Status { status, .. } if status == StatusCode::SERVICE_UNAVAILABLE),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("status 503"), "{text}");
    assert!(text.contains("starting"), "{text}");
}

#[tokio::test]
async fn a_200_without_status_ok_fails_naming_the_body() {
    let server = answering(StatusCode::OK, r#"{"version":"1"}"#).await;
    let err = healthcheck_async(&server.url("/version"), PATIENT)
        .await
        .unwrap_err();
    assert!(matches!(err, HealthcheckError::Body { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(r#"expected {"status":"ok"}"#), "{text}");
    assert!(text.contains(r#"{"version":"1"}"#), "{text}");
}

fn closed_port_url(rt: &tokio::runtime::Runtime) -> String {
    let addr = rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap()
    });
    format!("http://{addr}/healthz")
}

#[tokio::test]
async fn a_closed_port_is_unreachable() {
    let addr = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let url = format!("http://{addr}/healthz");
    let err = healthcheck_async(&url, PATIENT).await.unwrap_err();
    assert!(
        matches!(err, HealthcheckError::Unreachable { .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("unreachable"), "{text}");
    assert!(text.contains("cannot connect"), "{text}");
    assert!(text.contains(&format!("connecting to {addr}")), "{text}");
    assert!(text.to_lowercase().contains("connection refused"), "{text}");
}

#[tokio::test]
async fn a_server_that_does_not_speak_http_fails_the_exchange() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let _ = s.write_all(b"SSH-2.0-OpenSSH_9.6\r\n").await;
    });
    let err = healthcheck_async(&format!("http://{addr}/healthz"), PATIENT)
        .await
        .unwrap_err();
    assert!(matches!(err, HealthcheckError::Http { .. }), "{err:?}");
    assert!(
        err.to_string().contains("is an HTTP/1 server listening"),
        "{err}"
    );
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let begun = Instant::now();
    let err = healthcheck_async(&format!("http://{addr}/healthz"), SHORT)
        .await
        .unwrap_err();
    assert!(
        matches!(err, HealthcheckError::Timeout { stage, .. } if stage == "waiting for the answer"),
        "{err:?}"
    );
    assert!(err.to_string().contains("timed out after 300 ms"), "{err}");
    assert!(begun.elapsed() >= SHORT && begun.elapsed() < Duration::from_secs(5));
    holder.abort();
}

#[tokio::test]
async fn bad_urls_are_refused_before_any_connection() {
    for url in [
        "https://x/healthz",
        "127.0.0.1:9090/healthz",
        "http://",
        "not a url",
    ] {
        let err = healthcheck_async(url, SHORT).await.unwrap_err();
        assert!(
            matches!(err, HealthcheckError::BadUrl { .. }),
            "{url}: {err:?}"
        );
        assert!(
            err.to_string().contains("expected http://host:port/path"),
            "{err}"
        );
    }
}
