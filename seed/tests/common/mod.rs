//! An embedded stack for seed's tests: cp-stub and two tenant-doubles on
//! ephemeral loopback ports, plus a fake tenant for answers a real one
//! never gives.

#![allow(dead_code)]

use std::convert::Infallible;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

pub struct Stack {
    pub stub: cp_stub::Stub,
    pub alpha: tenant_double::Tenant,
    pub beta: tenant_double::Tenant,
}

/// A tenant config on `cp` (None = no CP variable at all).
pub fn tenant_config(org: &str, token: &str, cp: Option<&str>) -> tenant_double::Config {
    tenant_double::Config {
        port: 0,
        org_id: org.into(),
        admin_token: token.into(),
        cp_provision_url: cp.map(str::to_string),
        molecule_cp_url: cp.map(str::to_string),
        retry: tenant_double::RetryPolicy::fast(),
        cp_timeout: Duration::from_secs(5),
        ..Default::default()
    }
}

impl Stack {
    pub async fn start() -> Stack {
        let stub = start_stub().await;
        let base = stub.base_url();
        Stack::with(stub, Some(&base), Some(&base)).await
    }

    /// A stack whose tenants reach `alpha_cp` / `beta_cp` (None = unset).
    pub async fn with(stub: cp_stub::Stub, alpha_cp: Option<&str>, beta_cp: Option<&str>) -> Stack {
        let alpha = tenant_double::start(tenant_config(
            seed::DEFAULT_ALPHA_ORG_ID,
            seed::DEFAULT_ALPHA_ADMIN_TOKEN,
            alpha_cp,
        ))
        .await
        .unwrap();
        let beta = tenant_double::start(tenant_config(
            seed::DEFAULT_BETA_ORG_ID,
            seed::DEFAULT_BETA_ADMIN_TOKEN,
            beta_cp,
        ))
        .await
        .unwrap();
        Stack { stub, alpha, beta }
    }

    /// A seed config for this stack writing `out`.
    pub fn config(&self, out: &Path) -> seed::Config {
        let mut config = seed::Config {
            cp_stub_base: self.stub.base_url(),
            out: out.to_path_buf(),
            timeout: Duration::from_secs(20),
            poll_interval: Duration::from_millis(20),
            ..Default::default()
        };
        config.alpha.base = self.alpha.base_url().to_string();
        config.beta.base = self.beta.base_url().to_string();
        config
    }

    pub async fn shutdown(self) {
        self.alpha.shutdown().await;
        self.beta.shutdown().await;
        self.stub.shutdown().await;
    }
}

pub async fn start_stub() -> cp_stub::Stub {
    cp_stub::start(cp_stub::Config {
        port: 0,
        ..Default::default()
    })
    .await
    .unwrap()
}

/// A base URL where nothing listens.
pub fn dead_base() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", l.local_addr().unwrap())
}

/// A fake tenant: healthy, answering `POST /workspaces` with a fixed status
/// and body, and recording the Host header of each request.
#[derive(Clone)]
pub struct FakeTenant {
    pub base: String,
    pub hosts: Arc<Mutex<Vec<String>>>,
}

impl FakeTenant {
    pub async fn start(create_status: u16, create_body: &'static str) -> FakeTenant {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let hosts = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&hosts);
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    break;
                };
                let seen = Arc::clone(&seen);
                tokio::spawn(async move {
                    let svc = service_fn(move |req: Request<hyper::body::Incoming>| {
                        let seen = Arc::clone(&seen);
                        async move {
                            if let Some(h) = req.headers().get("host") {
                                seen.lock()
                                    .unwrap()
                                    .push(h.to_str().unwrap_or("").to_string());
                            }
                            let (status, body) = match req.uri().path() {
                                "/health" => (200, r#"{"status":"ok"}"#),
                                "/workspaces" => (create_status, create_body),
                                _ => (404, r#"{"error":"not found"}"#),
                            };
                            let mut resp =
                                Response::new(Full::new(Bytes::from_static(body.as_bytes())));
                            *resp.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
                            Ok::<_, Infallible>(resp)
                        }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        FakeTenant { base, hosts }
    }
}

/// Mode bits of a file.
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Files in a folder, by name.
pub fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
