//! What a running stack is, for the gate's summary: the stub's version and
//! contract fingerprint (`GET /__/stub/version`), each tenant's
//! `GET /buildinfo` (`git_sha`; the real tenant serves that too) and, for
//! compose, the images.

use std::fmt;
use std::time::Duration;

use contract::admin::{VersionInfo, ADMIN_PREFIX};
use serde_json::Value;

use super::Endpoints;

/// The stack the gate ran against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackIdentity {
    /// `cp-stub 0.1.0 (git abc, contract 1234…)`, or why it is unknown.
    pub stub: String,
    /// Per tenant: label and `git <sha> (<name> <version>)`, or why unknown.
    pub tenants: Vec<(&'static str, String)>,
    /// Compose: the stub and tenant images.
    pub images: Option<(String, String)>,
}

impl fmt::Display for StackIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.stub)?;
        for (label, t) in &self.tenants {
            write!(f, "; tenant {label} {t}")?;
        }
        if let Some((stub, tenant)) = &self.images {
            write!(f, "; images {stub}, {tenant}")?;
        }
        Ok(())
    }
}

async fn get_json(client: &reqwest::Client, url: &str) -> Result<Value, String> {
    let resp = client
        .get(url)
        .send()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    let status = resp.status().as_u16();
    if status != 200 {
        return Err(format!("GET {url} answered {status}"));
    }
    resp.json::<Value>()
        .await
        .map_err(|e| format!("GET {url}: {e}"))
}

/// Ask the stub and each tenant who they are (2 s per request; a failure
/// is named in place of the answer, never an error).
pub async fn identify(e: &Endpoints, images: Option<(String, String)>) -> StackIdentity {
    let client = match reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(2))
        .build()
    {
        Ok(c) => c,
        Err(err) => {
            let why = format!("unknown (HTTP client: {err})");
            return StackIdentity {
                stub: format!("cp-stub {why}"),
                tenants: vec![("alpha", why.clone()), ("beta", why)],
                images,
            };
        }
    };
    let get = |url: String| {
        let client = client.clone();
        async move { get_json(&client, &url).await }
    };
    let stub = match get(format!("{}{ADMIN_PREFIX}/version", e.stub)).await {
        Ok(v) => match serde_json::from_value::<VersionInfo>(v) {
            Ok(v) => format!(
                "{} {} (git {}, contract {})",
                v.name, v.version, v.git_sha, v.contract
            ),
            Err(err) => format!("cp-stub version unknown ({err})"),
        },
        Err(err) => format!("cp-stub version unknown ({err})"),
    };
    let mut tenants = Vec::new();
    for t in [&e.alpha, &e.beta] {
        let text = match get(format!("{}/buildinfo", t.base)).await {
            Ok(v) => {
                let field = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
                let sha = field("git_sha").unwrap_or_else(|| "unknown".into());
                match (field("name"), field("version")) {
                    (Some(n), Some(ver)) => format!("git {sha} ({n} {ver})"),
                    _ => format!("git {sha}"),
                }
            }
            Err(err) => format!("buildinfo unknown ({err})"),
        };
        tenants.push((t.label, text));
    }
    StackIdentity {
        stub,
        tenants,
        images,
    }
}
