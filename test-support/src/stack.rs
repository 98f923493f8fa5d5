//! An embedded stack for seed's tests: cp-stub and two tenant-doubles on
//! ephemeral loopback ports.

use std::path::Path;
use std::time::Duration;

use contract::defaults::{ALPHA_ADMIN_TOKEN, ALPHA_ORG_ID, BETA_ADMIN_TOKEN, BETA_ORG_ID};

pub use crate::stub::start_stub;
pub use crate::tenant::tenant_config;

/// The stub and the two tenants seed provisions through.
#[derive(Debug)]
pub struct Stack {
    /// The cp-stub.
    pub stub: cp_stub::Stub,
    /// tenant-alpha.
    pub alpha: tenant_double::Tenant,
    /// tenant-beta.
    pub beta: tenant_double::Tenant,
}

impl Stack {
    /// A stub and two tenants on it.
    pub async fn start() -> Stack {
        let stub = start_stub().await;
        let base = stub.base_url();
        Stack::with(stub, Some(&base), Some(&base)).await
    }

    /// A stack whose tenants reach `alpha_cp` / `beta_cp` (None = unset).
    pub async fn with(stub: cp_stub::Stub, alpha_cp: Option<&str>, beta_cp: Option<&str>) -> Stack {
        let alpha = tenant_double::start(tenant_config(ALPHA_ORG_ID, ALPHA_ADMIN_TOKEN, alpha_cp))
            .await
            .unwrap();
        let beta = tenant_double::start(tenant_config(BETA_ORG_ID, BETA_ADMIN_TOKEN, beta_cp))
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

    /// Stop the tenants, then the stub.
    pub async fn shutdown(self) {
        self.alpha.shutdown().await;
        self.beta.shutdown().await;
        self.stub.shutdown().await;
    }
}
