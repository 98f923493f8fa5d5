//! The reference server of `bench/cp-stub.sh`: hyper 1 + tokio, the same
//! HTTP/1.1 connection setup as cp-stub, answering every request with a
//! static provision-shaped body after reading the request body. No
//! routing, validation, counters, journal or logging: the ceiling cp-stub
//! is measured against.
//!
//! `cargo run --release -p cp-stub --example bench_minimal -- 127.0.0.1:9190`

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http::{header, Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

const BODY: &[u8] =
    br#"{"instance_id":"mol-ws-ws-bench","state":"running","workspace_id":"ws-bench"}"#;

async fn answer(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    // Read the body, as any real handler must.
    let _ = req.into_body().collect().await;
    let mut resp = Response::new(Full::new(Bytes::from_static(BODY)));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    Ok(resp)
}

fn main() -> std::io::Result<()> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9190".to_string())
        .parse()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = TcpListener::bind(addr).await?;
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new()).keep_alive(true);
        loop {
            let (stream, _) = listener.accept().await?;
            let _ = stream.set_nodelay(true);
            let conn = http.serve_connection(TokioIo::new(stream), service_fn(answer));
            tokio::spawn(async move {
                let _ = conn.await;
            });
        }
    })
}
