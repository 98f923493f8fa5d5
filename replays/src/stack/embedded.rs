//! The embedded stack: cp-stub, tenant alpha and tenant beta in this
//! process, on 127.0.0.1 ephemeral ports.
//!
//! Order: the stub starts and listens; the [`StackOptions::faults`] are
//! armed on it; then both tenants boot (each runs its boot config refresh
//! against the stub, so the stub must be up first). Every knob that makes
//! the stack drift on purpose is here, for tests that prove the gate
//! catches each incident:
//!
//! | drift | how |
//! |---|---|
//! | D2: only `CP_UPSTREAM_URL` set | `alpha.env`: `CP_PROVISION_URL = ""`, `MOLECULE_CP_URL = ""`, `CP_UPSTREAM_URL = "{stub}"` |
//! | D4: provision misrouted | `alpha.env`: `CP_PROVISION_URL = "http://127.0.0.1:<other stub or closed port>"` |
//! | D1: nested tenant config | a [`FaultSpec`] on `tenants_config` answering 200 with a nested body |
//! | D3: provision answers 200 | a [`FaultSpec`] on `provision` answering 200 |
//! | auth, strict mode | [`StackOptions::stub`] (`expect_shared_secret`, `strict`, …) |
//! | D3/D10: provision 201 the client cannot decode | a [`FaultSpec`] on `provision` answering 201 with e.g. `state: 7` |
//! | D4: the tenant's org is not the harness's | `alpha.env`: `MOLECULE_ORG_ID = "org-other"` |
//!
//! [`StackOptions::opaque_tenants`] runs both tenants as the real tenant is
//! known to answer (`tenant-double --no-evidence`).

use std::collections::BTreeMap;
use std::time::Duration;

use contract::admin::{FaultSpec, ADMIN_PREFIX};
use tenant_double::RetryPolicy;

use super::{Endpoints, StackError, TenantEndpoint, SHARED_SECRET};

/// Log lines of each tenant that [`RunningStack::logs`] shows.
pub const LOG_TAIL: usize = 100;

/// In tenant env values, replaced by the stub's base URL.
pub const STUB_PLACEHOLDER: &str = "{stub}";

/// One embedded tenant.
#[derive(Clone, educe::Educe)]
#[educe(Debug)]
pub struct TenantOptions {
    /// The org the harness uses for this tenant (and the tenant's
    /// `MOLECULE_ORG_ID`, unless [`TenantOptions::env`] overrides it).
    pub org_id: String,
    /// The admin token the harness uses (and the tenant's `ADMIN_TOKEN`,
    /// unless overridden).
    #[educe(Debug(method(contract::redact::debug_masked)))]
    pub admin_token: String,
    /// The real tenant's variables, laid over the compose-equivalent
    /// defaults (`CP_PROVISION_URL` and `MOLECULE_CP_URL` = the stub,
    /// `MOLECULE_CP_SHARED_SECRET` = [`SHARED_SECRET`], `MOLECULE_ORG_ID`,
    /// `ADMIN_TOKEN`, placeholders for the four `MOLECULE_LLM_*` keys). An empty value unsets a variable; `{stub}` in a value
    /// is the stub's base URL. `PORT` and `TENANT_BIND` are ignored (the
    /// tenant always listens on 127.0.0.1, an ephemeral port).
    #[educe(Debug(method(contract::redact::debug_env)))]
    pub env: BTreeMap<String, String>,
    /// The provision retry policy (the real one by default; shorten it only
    /// in a test that injects a retried fault).
    pub retry: RetryPolicy,
}

impl TenantOptions {
    /// Tenant alpha with the stack defaults.
    pub fn alpha() -> TenantOptions {
        TenantOptions::new(
            contract::defaults::ALPHA_ORG_ID,
            contract::defaults::ALPHA_ADMIN_TOKEN,
        )
    }

    /// Tenant beta with the stack defaults.
    pub fn beta() -> TenantOptions {
        TenantOptions::new(
            contract::defaults::BETA_ORG_ID,
            contract::defaults::BETA_ADMIN_TOKEN,
        )
    }

    fn new(org_id: &str, admin_token: &str) -> TenantOptions {
        TenantOptions {
            org_id: org_id.to_string(),
            admin_token: admin_token.to_string(),
            env: BTreeMap::new(),
            retry: RetryPolicy::default(),
        }
    }

    /// Set (or, with an empty value, unset) one tenant variable.
    pub fn with_env(mut self, name: &str, value: &str) -> TenantOptions {
        self.env.insert(name.to_string(), value.to_string());
        self
    }

    /// The tenant's variables, with `{stub}` filled in.
    pub fn variables(&self, stub: &str) -> BTreeMap<String, String> {
        let mut vars: BTreeMap<String, String> = [
            ("CP_PROVISION_URL", stub),
            ("MOLECULE_CP_URL", stub),
            ("MOLECULE_CP_SHARED_SECRET", SHARED_SECRET),
            ("MOLECULE_ORG_ID", self.org_id.as_str()),
            ("ADMIN_TOKEN", self.admin_token.as_str()),
            // The real tenant refuses to boot without the LLM proxy keys;
            // set here (as in compose) so a broken tenant config (D1) is
            // seen by the replays, not fatal to the tenant.
            ("MOLECULE_LLM_USAGE_TOKEN", "harness-llm-usage-token"),
            ("MOLECULE_LLM_USAGE_URL", "http://llm.invalid/usage"),
            ("MOLECULE_LLM_BASE_URL", "http://llm.invalid/v1"),
            (
                "MOLECULE_LLM_ANTHROPIC_BASE_URL",
                "http://llm.invalid/anthropic",
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in &self.env {
            vars.insert(k.clone(), v.replace(STUB_PLACEHOLDER, stub));
        }
        vars.retain(|k, v| !v.is_empty() && k != "PORT" && k != "TENANT_BIND");
        vars
    }
}

/// What the embedded stack runs.
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// The stub's settings (strict mode, auth enforcement, tenant config,
    /// instance prefix, …). `port` 0 = ephemeral, the default here.
    pub stub: cp_stub::Config,
    /// Tenant alpha.
    pub alpha: TenantOptions,
    /// Tenant beta.
    pub beta: TenantOptions,
    /// Faults armed at the stub after it listens and before the tenants
    /// boot (so a `tenants_config` fault hits their boot refresh).
    pub faults: Vec<FaultSpec>,
    /// Run both tenants opaque (`tenant-double --no-evidence`): as the real
    /// tenant, with no `/__/tenant/*` evidence and no tenant-only fields.
    pub opaque_tenants: bool,
}

impl Default for StackOptions {
    fn default() -> Self {
        StackOptions {
            stub: cp_stub::Config {
                port: 0,
                shutdown_grace: Duration::from_secs(5),
                ..cp_stub::Config::default()
            },
            alpha: TenantOptions::alpha(),
            beta: TenantOptions::beta(),
            faults: Vec::new(),
            opaque_tenants: false,
        }
    }
}

/// Starts the embedded stack.
#[derive(Debug, Clone, Copy)]
pub struct Embedded;

impl Embedded {
    /// Start cp-stub, arm the faults, then boot tenants alpha and beta.
    /// On any failure what was started is stopped again.
    pub async fn start(opts: StackOptions) -> Result<RunningStack, StackError> {
        let stub = cp_stub::start(opts.stub.clone())
            .await
            .map_err(|e| StackError::Stub(e.to_string()))?;
        let stub_base = stub.base_url();
        if let Err(e) = arm_faults(&stub_base, &opts.faults).await {
            stub.shutdown().await;
            return Err(e);
        }
        let (alpha, beta) = tokio::join!(
            start_tenant("alpha", &opts.alpha, &stub_base, opts.opaque_tenants),
            start_tenant("beta", &opts.beta, &stub_base, opts.opaque_tenants)
        );
        let (alpha, beta) = match (alpha, beta) {
            (Ok(a), Ok(b)) => (a, b),
            (a, b) => {
                let mut first = None;
                for t in [a, b] {
                    match t {
                        Ok(t) => t.shutdown().await,
                        Err(e) => first = first.or(Some(e)),
                    }
                }
                stub.shutdown().await;
                return Err(first.unwrap_or(StackError::Stub("unknown failure".into())));
            }
        };
        let endpoints = Endpoints {
            stub: stub_base,
            alpha: TenantEndpoint {
                label: "alpha",
                base: alpha.base_url().to_string(),
                org_id: opts.alpha.org_id.clone(),
                admin_token: opts.alpha.admin_token.clone(),
            },
            beta: TenantEndpoint {
                label: "beta",
                base: beta.base_url().to_string(),
                org_id: opts.beta.org_id.clone(),
                admin_token: opts.beta.admin_token.clone(),
            },
        };
        Ok(RunningStack {
            stub,
            alpha,
            beta,
            endpoints,
        })
    }
}

async fn arm_faults(stub: &str, faults: &[FaultSpec]) -> Result<(), StackError> {
    if faults.is_empty() {
        return Ok(());
    }
    let client =
        replay_runner::client().map_err(|e| StackError::Stub(format!("HTTP client: {e}")))?;
    for f in faults {
        let fault = serde_json::to_string(f).unwrap_or_else(|_| format!("{f:?}"));
        let resp = client
            .post(format!("{stub}{ADMIN_PREFIX}/faults"))
            .timeout(Duration::from_secs(5))
            .json(f)
            .send()
            .await
            .map_err(|e| StackError::Fault {
                fault: fault.clone(),
                reason: e.to_string(),
            })?;
        let status = resp.status().as_u16();
        if status != 201 {
            let body = resp.text().await.unwrap_or_default();
            return Err(StackError::Fault {
                fault,
                reason: format!("the stub answered {status}: {body}"),
            });
        }
    }
    Ok(())
}

async fn start_tenant(
    label: &'static str,
    opts: &TenantOptions,
    stub: &str,
    opaque: bool,
) -> Result<tenant_double::Tenant, StackError> {
    let mut config =
        tenant_double::Config::from_vars(opts.variables(stub)).map_err(|e| StackError::Tenant {
            tenant: label,
            reason: e.to_string(),
        })?;
    config.bind = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    config.port = 0;
    config.retry = opts.retry;
    // A tenant's own `TENANT_DOUBLE_NO_EVIDENCE` may make it opaque too.
    config.no_evidence |= opaque;
    tenant_double::start(config)
        .await
        .map_err(|e| StackError::Tenant {
            tenant: label,
            reason: e.to_string(),
        })
}

/// A running embedded stack. Dropping it stops the servers; call
/// [`RunningStack::shutdown`] to also wait for in-flight requests.
#[derive(Debug)]
pub struct RunningStack {
    stub: cp_stub::Stub,
    alpha: tenant_double::Tenant,
    beta: tenant_double::Tenant,
    endpoints: Endpoints,
}

impl RunningStack {
    /// URLs, orgs and tokens.
    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// The stub's base URL.
    pub fn stub_base(&self) -> &str {
        &self.endpoints.stub
    }

    /// Tenant alpha (its evidence is [`tenant_double::Tenant::report`]).
    pub fn alpha(&self) -> &tenant_double::Tenant {
        &self.alpha
    }

    /// Tenant beta.
    pub fn beta(&self) -> &tenant_double::Tenant {
        &self.beta
    }

    /// The stub.
    pub fn stub(&self) -> &cp_stub::Stub {
        &self.stub
    }

    /// The last [`LOG_TAIL`] of each tenant's own log lines (what it
    /// resolved, config refreshes, provision outcomes, health sweeps), kept
    /// in memory by the tenant whether it is opaque or not: the embedded
    /// stack's "service logs", the tenant side of a failure.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for (label, t) in [("alpha", &self.alpha), ("beta", &self.beta)] {
            let lines = t.log_lines();
            let from = lines.len().saturating_sub(LOG_TAIL);
            out.push_str(&format!(
                "---- tenant {label} ({}, org {}{}; last {} of its log lines) ----\n",
                t.base_url(),
                t.org_id(),
                if t.is_opaque() { ", opaque" } else { "" },
                lines.len() - from
            ));
            for line in &lines[from..] {
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }

    /// Stop the tenants, then the stub, letting in-flight requests finish.
    pub async fn shutdown(self) {
        tokio::join!(self.alpha.shutdown(), self.beta.shutdown());
        self.stub.shutdown().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_default_override_and_unset() {
        let t = TenantOptions::alpha();
        let v = t.variables("http://s");
        assert_eq!(v["CP_PROVISION_URL"], "http://s");
        assert_eq!(v["MOLECULE_CP_URL"], "http://s");
        assert_eq!(v["MOLECULE_ORG_ID"], "org-alpha");
        let t = TenantOptions::alpha()
            .with_env("CP_PROVISION_URL", "")
            .with_env("MOLECULE_CP_URL", "")
            .with_env("CP_UPSTREAM_URL", "{stub}")
            .with_env("PORT", "8081");
        let v = t.variables("http://s");
        assert!(!v.contains_key("CP_PROVISION_URL"));
        assert!(!v.contains_key("MOLECULE_CP_URL"));
        assert!(!v.contains_key("PORT"));
        assert_eq!(v["CP_UPSTREAM_URL"], "http://s");
        assert!(!format!(
            "{:?}",
            TenantEndpoint {
                label: "alpha",
                base: "b".into(),
                org_id: "o".into(),
                admin_token: "alpha-admin-token".into()
            }
        )
        .contains("alpha-admin-token"));
    }
}
