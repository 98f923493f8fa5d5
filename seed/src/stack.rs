//! The seed run against a live stack: wait, create, wait for provisioning,
//! check attribution at the stub, write the env file.

// A seed run builds at most one error, and each carries the strings its
// message needs; boxing them would only obscure the variants.
#![allow(clippy::result_large_err)]

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use contract::admin::{JournalPage, StubState, ADMIN_PREFIX};
use serde_json::{json, Value};

use crate::config::{Config, TenantTarget};
use crate::envfile::{self, EnvFileError};
use crate::progress::Reporter;
use crate::util::{excerpt, random_hex, rfc3339};
use contract::seed_env::{ALIASES, KEYS};

/// Longest single HTTP request (bounded by the overall deadline too).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Characters of a body quoted in an error.
const EXCERPT: usize = 300;

/// Why a seed run failed. Each message names the cause and the fix; on any
/// of them the previous env file is left untouched.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// The configuration is unusable (exit code 2).
    #[error("configuration: {0}")]
    Config(String),
    /// A tenant or the stub never answered.
    #[error(
        "{what} is not reachable at {url} (waited {waited_s} s; last error: {reason}); {hint}"
    )]
    Unreachable {
        /// `tenant alpha`, `tenant beta` or `cp-stub`.
        what: String,
        /// URL probed.
        url: String,
        /// Last transport error.
        reason: String,
        /// How to fix it.
        hint: String,
        /// Seconds waited.
        waited_s: u64,
    },
    /// A tenant or the stub answered, but not healthy.
    #[error("{what} at {url} is not healthy (waited {waited_s} s; last answer {status}: {body}); {hint}")]
    Unhealthy {
        /// `tenant alpha`, `tenant beta` or `cp-stub`.
        what: String,
        /// URL probed.
        url: String,
        /// Last status.
        status: u16,
        /// Excerpt of the last body.
        body: String,
        /// How to fix it.
        hint: String,
        /// Seconds waited.
        waited_s: u64,
    },
    /// A tenant answered a request with an unexpected status.
    #[error("{action} on tenant {tenant}: {method} {url} answered {status}: {body}; {hint}")]
    TenantStatus {
        /// `alpha` or `beta`.
        tenant: String,
        /// What seed was doing (`creating alpha-parent`).
        action: String,
        /// Method.
        method: &'static str,
        /// URL.
        url: String,
        /// Status answered.
        status: u16,
        /// Excerpt of the body.
        body: String,
        /// How to fix it.
        hint: String,
    },
    /// A tenant request failed on the wire.
    #[error("{action} on tenant {tenant}: {method} {url} failed: {reason}; check that the tenant is still up")]
    TenantRequest {
        /// `alpha` or `beta`.
        tenant: String,
        /// What seed was doing.
        action: String,
        /// Method.
        method: &'static str,
        /// URL.
        url: String,
        /// Transport error.
        reason: String,
    },
    /// The create answer carried no workspace id.
    #[error("creating {name} on tenant {tenant}: the {status} answer of POST {url} has no `id`: {body}; the tenant must answer the new workspace with its server-generated `id`")]
    NoId {
        /// `alpha` or `beta`.
        tenant: String,
        /// Workspace name.
        name: String,
        /// URL.
        url: String,
        /// Status answered.
        status: u16,
        /// Excerpt of the body.
        body: String,
    },
    /// The tenant reports the workspace failed to provision.
    #[error("workspace {name} ({id}) on tenant {tenant} failed to provision: {reason}; {fix}; GET {tenant_url}/__/tenant/cp shows what the tenant resolved and each attempt")]
    ProvisionFailed {
        /// `alpha` or `beta`.
        tenant: String,
        /// Workspace name.
        name: String,
        /// Workspace id.
        id: String,
        /// The tenant's failure reason.
        reason: String,
        /// The tenant's base URL.
        tenant_url: String,
        /// What to do about it, from the reason (see [`provision_fix`]).
        fix: String,
    },
    /// The workspace never got an instance id.
    #[error("workspace {name} ({id}) on tenant {tenant} has no instance_id after {waited_s} s (status {status}{reason}); the tenant may still be retrying a failing CP: see GET {tenant_url}/__/tenant/cp, or raise --timeout")]
    ProvisionTimeout {
        /// `alpha` or `beta`.
        tenant: String,
        /// Workspace name.
        name: String,
        /// Workspace id.
        id: String,
        /// Last status seen.
        status: String,
        /// `; error: …` when the tenant gave one.
        reason: String,
        /// Seconds waited.
        waited_s: u64,
        /// The tenant's base URL.
        tenant_url: String,
    },
    /// The tenant's own provision calls did not reach this stub under its org (D4).
    #[error("tenant {tenant} ({tenant_url}): {detail} (incident D4); the tenant's CP_PROVISION_URL / MOLECULE_CP_URL probably doesn't point at this stub ({stub}), or its MOLECULE_ORG_ID is not {org}")]
    Attribution {
        /// `alpha` or `beta`.
        tenant: String,
        /// The org the calls should carry.
        org: String,
        /// The tenant's base URL.
        tenant_url: String,
        /// The stub's base URL.
        stub: String,
        /// What was found.
        detail: String,
    },
    /// The stub's admin API answered something unusable.
    #[error("cp-stub at {url}: {reason}; check CP_STUB_BASE points at cp-stub")]
    Stub {
        /// URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// Writing the env file failed.
    #[error(transparent)]
    EnvFile(#[from] EnvFileError),
}

impl SeedError {
    /// Whether this is a usage or configuration error (exit code 2).
    pub fn is_config(&self) -> bool {
        matches!(self, SeedError::Config(_))
    }
}

/// How the stub attribution was verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attribution {
    /// Every workspace's 201 provision call found in the journal under its org.
    Journal,
    /// The journal was not available; per-org provision counters rose enough.
    Counters,
}

/// One seeded workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seeded {
    /// `alpha` or `beta`.
    pub tenant: &'static str,
    /// Workspace name (`alpha-parent`, ...).
    pub name: String,
    /// Workspace id.
    pub id: String,
    /// Instance id from the CP.
    pub instance_id: String,
}

/// What a successful run did.
#[derive(Clone)]
pub struct Outcome {
    /// File written.
    pub path: PathBuf,
    /// `SEED_STACK_ID`.
    pub stack_id: String,
    /// `SEED_STAMP`.
    pub stamp: String,
    /// The four workspaces, in creation order.
    pub workspaces: Vec<Seeded>,
    /// Every key written, in file order (tokens included).
    pub vars: Vec<(String, String)>,
    /// How attribution was checked.
    pub attribution: Attribution,
}

impl std::fmt::Debug for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Tokens never reach a log, not even through `{:?}`.
        let vars: Vec<(&str, &str)> = self
            .vars
            .iter()
            .map(|(k, v)| {
                let shown = if k.ends_with("_TOKEN") {
                    contract::admin::REDACTED
                } else {
                    v.as_str()
                };
                (k.as_str(), shown)
            })
            .collect();
        f.debug_struct("Outcome")
            .field("path", &self.path)
            .field("stack_id", &self.stack_id)
            .field("stamp", &self.stamp)
            .field("workspaces", &self.workspaces)
            .field("vars", &vars)
            .field("attribution", &self.attribution)
            .finish()
    }
}

impl Outcome {
    /// A value written, by key.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// HTTP with one overall deadline.
struct Http {
    client: reqwest::Client,
    started: Instant,
    deadline: Instant,
}

impl Http {
    fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    fn waited_s(&self) -> u64 {
        self.started.elapsed().as_secs()
    }

    fn expired(&self) -> bool {
        Instant::now() >= self.deadline
    }

    /// Send and read the body as text; `Err` is a transport error.
    async fn send(&self, req: reqwest::RequestBuilder) -> Result<(u16, String), String> {
        let timeout = self
            .remaining()
            .min(REQUEST_TIMEOUT)
            .max(Duration::from_millis(50));
        let resp = req.timeout(timeout).send().await.map_err(|e| chain(&e))?;
        let status = resp.status().as_u16();
        let body = resp.text().await.map_err(|e| chain(&e))?;
        Ok((status, body))
    }
}

fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}

fn trim_base(base: &str) -> String {
    base.trim().trim_end_matches('/').to_string()
}

fn validate(config: &Config) -> Result<(), SeedError> {
    let checks = [
        ("ALPHA_BASE", &config.alpha.base),
        ("BETA_BASE", &config.beta.base),
        ("CP_STUB_BASE", &config.cp_stub_base),
    ];
    for (name, value) in checks {
        let v = value.trim();
        if !(v.starts_with("http://") || v.starts_with("https://")) || v.len() <= "http://".len() {
            return Err(SeedError::Config(format!(
                "{name}={value:?} is not an http:// URL; set it to e.g. http://127.0.0.1:8081"
            )));
        }
    }
    for (name, value) in [
        ("ALPHA_ORG_ID", &config.alpha.org_id),
        ("BETA_ORG_ID", &config.beta.org_id),
        ("ALPHA_ADMIN_TOKEN", &config.alpha.admin_token),
        ("BETA_ADMIN_TOKEN", &config.beta.admin_token),
    ] {
        if value.trim().is_empty() {
            return Err(SeedError::Config(format!(
                "{name} is empty; set it (flag, env or .env)"
            )));
        }
    }
    if config.alpha.org_id == config.beta.org_id {
        return Err(SeedError::Config(format!(
            "ALPHA_ORG_ID and BETA_ORG_ID are both {:?}; each tenant needs its own org, or the stub cannot tell their calls apart (D4)",
            config.alpha.org_id
        )));
    }
    if trim_base(&config.alpha.base) == trim_base(&config.beta.base) {
        return Err(SeedError::Config(format!(
            "ALPHA_BASE and BETA_BASE are both {}; point each at its own tenant",
            config.alpha.base
        )));
    }
    Ok(())
}

/// One tenant with its label and a request builder.
struct Tenant<'a> {
    label: &'static str,
    target: &'a TenantTarget,
    base: String,
}

impl Tenant<'_> {
    fn request(&self, http: &Http, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut req = http
            .client
            .request(method, format!("{}{path}", self.base))
            .header(
                "Authorization",
                format!("Bearer {}", self.target.admin_token),
            )
            .header("X-Molecule-Org-Id", &self.target.org_id);
        if let Some(host) = self.target.host.as_deref().filter(|h| !h.is_empty()) {
            req = req.header("Host", host);
        }
        req
    }

    fn var(&self, suffix: &str) -> String {
        format!("{}_{suffix}", self.label.to_ascii_uppercase())
    }
}

/// A health body that says ok: `{"status":"ok"}`, `{"ok":true}` or `ok`.
fn body_ok(body: &str) -> bool {
    if body.trim().eq_ignore_ascii_case("ok") {
        return true;
    }
    serde_json::from_str::<Value>(body).is_ok_and(|v| {
        v.get("status").and_then(Value::as_str) == Some("ok")
            || v.get("ok").and_then(Value::as_bool) == Some(true)
    })
}

/// Wait until both tenants and the stub answer their health checks.
async fn wait_ready(
    http: &Http,
    config: &Config,
    tenants: &[Tenant<'_>],
    reporter: &Reporter,
) -> Result<(), SeedError> {
    struct Probe {
        what: String,
        url: String,
        host: Option<String>,
        hint: String,
        last: Option<Result<(u16, String), String>>,
        ok: bool,
    }
    let stub = trim_base(&config.cp_stub_base);
    let mut probes: Vec<Probe> = tenants
        .iter()
        .map(|t| Probe {
            what: format!("tenant {}", t.label),
            url: format!("{}/health", t.base),
            host: t.target.host.clone().filter(|h| !h.is_empty()),
            hint: format!(
                "start the stack (`docker compose up -d`, or let `replays gate` start the embedded one) or point {} at tenant {}",
                t.var("BASE"),
                t.label
            ),
            last: None,
            ok: false,
        })
        .collect();
    probes.push(Probe {
        what: "cp-stub".into(),
        url: format!("{stub}/healthz"),
        host: None,
        hint: "start the stack or set CP_STUB_BASE to the stub's URL".into(),
        last: None,
        ok: false,
    });
    loop {
        for probe in probes.iter_mut().filter(|p| !p.ok) {
            reporter.step(format!("waiting for {} at {}", probe.what, probe.url));
            let mut req = http.client.get(&probe.url);
            if let Some(host) = &probe.host {
                req = req.header("Host", host);
            }
            let result = http.send(req).await;
            probe.ok = matches!(&result, Ok((s, b)) if (200..300).contains(s) && body_ok(b));
            if probe.ok {
                reporter.done(format!("{} is up at {}", probe.what, probe.url));
            }
            probe.last = Some(result);
        }
        if probes.iter().all(|p| p.ok) {
            return Ok(());
        }
        if http.expired() {
            break;
        }
        tokio::time::sleep(config.poll_interval.min(http.remaining())).await;
    }
    let Some(probe) = probes.into_iter().find(|p| !p.ok) else {
        return Ok(());
    };
    Err(match probe.last {
        Some(Ok((status, body))) => SeedError::Unhealthy {
            what: probe.what,
            url: probe.url,
            status,
            body: excerpt(&body, EXCERPT),
            hint: format!(
                "{} (the health answer must be 2xx with {{\"status\":\"ok\"}})",
                probe.hint
            ),
            waited_s: http.waited_s(),
        },
        Some(Err(reason)) => SeedError::Unreachable {
            what: probe.what,
            url: probe.url,
            reason,
            hint: probe.hint,
            waited_s: http.waited_s(),
        },
        None => SeedError::Unreachable {
            what: probe.what,
            url: probe.url,
            reason: "never probed (timeout too short)".into(),
            hint: "raise --timeout".into(),
            waited_s: http.waited_s(),
        },
    })
}

/// Create one workspace; returns its id.
async fn create(
    http: &Http,
    tenant: &Tenant<'_>,
    name: &str,
    tier: i64,
    parent: Option<&str>,
) -> Result<String, SeedError> {
    let mut body = json!({"name": name, "tier": tier});
    if let Some(parent) = parent {
        body["parent_id"] = Value::from(parent);
    }
    let url = format!("{}/workspaces", tenant.base);
    let action = format!("creating {name}");
    let req = tenant
        .request(http, reqwest::Method::POST, "/workspaces")
        .json(&body);
    let (status, text) = http
        .send(req)
        .await
        .map_err(|reason| SeedError::TenantRequest {
            tenant: tenant.label.into(),
            action: action.clone(),
            method: "POST",
            url: url.clone(),
            reason,
        })?;
    if !(200..300).contains(&status) {
        let hint = match status {
            400 => format!("the tenant refused the request; check {} and the tenant's API", tenant.var("ORG_ID")),
            401 | 403 => format!("check {} (the tenant's ADMIN_TOKEN)", tenant.var("ADMIN_TOKEN")),
            404 => format!(
                "the tenant answers 404 for another org or token: check {} and {} match the tenant's MOLECULE_ORG_ID and ADMIN_TOKEN",
                tenant.var("ORG_ID"),
                tenant.var("ADMIN_TOKEN")
            ),
            _ => "see the tenant's logs".to_string(),
        };
        return Err(SeedError::TenantStatus {
            tenant: tenant.label.into(),
            action,
            method: "POST",
            url,
            status,
            body: excerpt(&text, EXCERPT),
            hint,
        });
    }
    let id = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| v.get("id").and_then(Value::as_str).map(str::to_string))
        .filter(|id| !id.trim().is_empty());
    id.ok_or_else(|| SeedError::NoId {
        tenant: tenant.label.into(),
        name: name.into(),
        url,
        status,
        body: excerpt(&text, EXCERPT),
    })
}

/// A workspace being waited for.
struct Pending<'a> {
    tenant: &'a Tenant<'a>,
    name: String,
    id: String,
    instance_id: Option<String>,
    status: String,
    error: Option<String>,
}

/// Poll until every workspace has an instance id; fail on the first that failed.
async fn wait_provisioned(
    http: &Http,
    config: &Config,
    pending: &mut [Pending<'_>],
    reporter: &Reporter,
) -> Result<(), SeedError> {
    loop {
        for ws in pending.iter_mut().filter(|w| w.instance_id.is_none()) {
            reporter.step(format!("waiting for {} ({}) to provision", ws.name, ws.id));
            let path = format!("/workspaces/{}", ws.id);
            let url = format!("{}{path}", ws.tenant.base);
            let action = format!("reading {}", ws.name);
            let req = ws.tenant.request(http, reqwest::Method::GET, &path);
            let (status, text) =
                http.send(req)
                    .await
                    .map_err(|reason| SeedError::TenantRequest {
                        tenant: ws.tenant.label.into(),
                        action: action.clone(),
                        method: "GET",
                        url: url.clone(),
                        reason,
                    })?;
            if status != 200 {
                return Err(SeedError::TenantStatus {
                    tenant: ws.tenant.label.into(),
                    action,
                    method: "GET",
                    url,
                    status,
                    body: excerpt(&text, EXCERPT),
                    hint: "the tenant lost a workspace it just created; was it restarted?".into(),
                });
            }
            let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            ws.status = v
                .get("status")
                .and_then(Value::as_str)
                .unwrap_or("unknown")
                .to_string();
            ws.error = v
                .get("error")
                .and_then(Value::as_str)
                .filter(|e| !e.is_empty())
                .map(str::to_string);
            if let Some(instance_id) = v
                .get("instance_id")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
            {
                ws.instance_id = Some(instance_id.to_string());
                reporter.done(format!("{} provisioned as {instance_id}", ws.name));
            } else if ws.status == "failed" {
                let reason = ws
                    .error
                    .clone()
                    .unwrap_or_else(|| "the tenant gave no reason".into());
                return Err(SeedError::ProvisionFailed {
                    tenant: ws.tenant.label.into(),
                    name: ws.name.clone(),
                    id: ws.id.clone(),
                    fix: provision_fix(&reason),
                    reason,
                    tenant_url: ws.tenant.base.clone(),
                });
            }
        }
        if pending.iter().all(|w| w.instance_id.is_some()) {
            return Ok(());
        }
        if http.expired() {
            break;
        }
        tokio::time::sleep(config.poll_interval.min(http.remaining())).await;
    }
    let Some(ws) = pending.iter().find(|w| w.instance_id.is_none()) else {
        return Ok(());
    };
    Err(SeedError::ProvisionTimeout {
        tenant: ws.tenant.label.into(),
        name: ws.name.clone(),
        id: ws.id.clone(),
        status: ws.status.clone(),
        reason: ws
            .error
            .as_ref()
            .map(|e| format!("; error: {e}"))
            .unwrap_or_default(),
        waited_s: http.waited_s(),
        tenant_url: ws.tenant.base.clone(),
    })
}

async fn stub_get(http: &Http, url: &str) -> Result<(u16, String), SeedError> {
    http.send(http.client.get(url))
        .await
        .map_err(|reason| SeedError::Stub {
            url: url.to_string(),
            reason: format!("request failed: {reason}"),
        })
}

async fn stub_state(http: &Http, stub: &str) -> Result<StubState, SeedError> {
    let url = format!("{stub}{ADMIN_PREFIX}/state");
    let (status, text) = stub_get(http, &url).await?;
    if status != 200 {
        return Err(SeedError::Stub {
            url,
            reason: format!("answered {status}: {}", excerpt(&text, EXCERPT)),
        });
    }
    serde_json::from_str(&text).map_err(|e| SeedError::Stub {
        url,
        reason: format!("the state does not decode ({e}); is this a cp-stub of this repo?"),
    })
}

/// Check at the stub that each tenant's own provision calls arrived under
/// its org (D4): the journal since `before` must hold a 201 provision call
/// for every workspace, with the tenant's org.
async fn verify_attribution(
    http: &Http,
    stub: &str,
    before: &StubState,
    pending: &[Pending<'_>],
) -> Result<Attribution, SeedError> {
    let url = format!(
        "{stub}{ADMIN_PREFIX}/requests?route=provision&since_seq={}",
        before.journal_seq
    );
    let (status, text) = stub_get(http, &url).await?;
    let page = (status == 200)
        .then(|| serde_json::from_str::<JournalPage>(&text).ok())
        .flatten();
    let Some(page) = page else {
        // No journal: fall back to the per-org counters.
        let after = stub_state(http, stub).await?;
        for ws in pending {
            let org = &ws.tenant.target.org_id;
            let expected = u64::try_from(
                pending
                    .iter()
                    .filter(|w| w.tenant.target.org_id == *org)
                    .count(),
            )
            .unwrap_or(u64::MAX);
            let delta = after
                .org_calls(org, contract::RouteId::Provision)
                .saturating_sub(before.org_calls(org, contract::RouteId::Provision));
            if delta < expected {
                return Err(SeedError::Attribution {
                    tenant: ws.tenant.label.into(),
                    org: org.clone(),
                    tenant_url: ws.tenant.base.clone(),
                    stub: stub.to_string(),
                    detail: format!(
                        "the stub counted {delta} provision call(s) under {org} during seeding, expected at least {expected}"
                    ),
                });
            }
        }
        return Ok(Attribution::Counters);
    };
    // A provision the real client accepts (201), as the contract says.
    let accepted = |status: u16| {
        contract::route(contract::RouteId::Provision)
            .success
            .accepts(status)
    };
    for ws in pending {
        let org = &ws.tenant.target.org_id;
        let calls: Vec<_> = page
            .entries
            .iter()
            .filter(|e| {
                e.body
                    .as_ref()
                    .and_then(|b| b.get("workspace_id"))
                    .and_then(Value::as_str)
                    == Some(ws.id.as_str())
            })
            .collect();
        if calls
            .iter()
            .any(|e| accepted(e.status) && e.org.as_deref() == Some(org.as_str()))
        {
            continue;
        }
        let detail = match calls.iter().find(|e| accepted(e.status)) {
            Some(e) => format!(
                "the provision call for {} ({}) reached the stub under org {}, not {org}",
                ws.name,
                ws.id,
                e.org.as_deref().unwrap_or("<none>")
            ),
            None if !calls.is_empty() => format!(
                "the stub answered the provision calls for {} ({}) with {}, never 201, yet the tenant reports instance {}",
                ws.name,
                ws.id,
                calls.iter().map(|e| e.status.to_string()).collect::<Vec<_>>().join(", "),
                ws.instance_id.as_deref().unwrap_or("?")
            ),
            None => format!(
                "the tenant reports {} ({}) provisioned as {}, but the stub never received its provision call under {org}",
                ws.name,
                ws.id,
                ws.instance_id.as_deref().unwrap_or("?")
            ),
        };
        return Err(SeedError::Attribution {
            tenant: ws.tenant.label.into(),
            org: org.clone(),
            tenant_url: ws.tenant.base.clone(),
            stub: stub.to_string(),
            detail,
        });
    }
    Ok(Attribution::Journal)
}

/// Run seed: wait for the stack, create the four workspaces, wait until
/// each is provisioned, verify attribution at the stub (D4), then write the
/// env file atomically (D5, D6). On any error the previous file is untouched.
pub async fn run(config: &Config) -> Result<Outcome, SeedError> {
    validate(config)?;
    let client = reqwest::Client::builder()
        .no_proxy()
        .connect_timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| SeedError::Config(format!("HTTP client: {}", chain(&e))))?;
    let started = Instant::now();
    let http = Http {
        client,
        started,
        deadline: started + config.timeout,
    };
    let reporter = Reporter::new(config.progress);
    let stub = trim_base(&config.cp_stub_base);
    let tenants = [
        Tenant {
            label: "alpha",
            target: &config.alpha,
            base: trim_base(&config.alpha.base),
        },
        Tenant {
            label: "beta",
            target: &config.beta,
            base: trim_base(&config.beta.base),
        },
    ];

    wait_ready(&http, config, &tenants, &reporter).await?;
    let before = stub_state(&http, &stub).await?;

    let mut pending = Vec::new();
    for tenant in &tenants {
        let parent_name = format!("{}-parent", tenant.label);
        let child_name = format!("{}-child", tenant.label);
        reporter.step(format!("creating {parent_name} on tenant {}", tenant.label));
        let parent = create(&http, tenant, &parent_name, 0, None).await?;
        reporter.step(format!("creating {child_name} on tenant {}", tenant.label));
        let child = create(&http, tenant, &child_name, 1, Some(&parent)).await?;
        reporter.done(format!(
            "created {parent_name} ({parent}) and {child_name} ({child})"
        ));
        for (name, id) in [(parent_name, parent), (child_name, child)] {
            pending.push(Pending {
                tenant,
                name,
                id,
                instance_id: None,
                status: "provisioning".into(),
                error: None,
            });
        }
    }
    wait_provisioned(&http, config, &mut pending, &reporter).await?;
    reporter.step("checking attribution at the stub");
    let attribution = verify_attribution(&http, &stub, &before, &pending).await?;
    reporter.done("each tenant's provision calls reached the stub under its own org");

    let stack_id = config
        .stack_id
        .clone()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| random_hex(8));
    let stamp = rfc3339(SystemTime::now());
    let id = |i: usize| pending.get(i).map(|p| p.id.clone()).unwrap_or_default();
    let (alpha_parent, alpha_child, beta_parent, beta_child) = (id(0), id(1), id(2), id(3));
    let mut values: Vec<(&str, Option<String>)> = vec![
        ("SEED_STACK_ID", Some(stack_id.clone())),
        ("SEED_STAMP", Some(stamp.clone())),
        ("CP_STUB_BASE", Some(stub.clone())),
        ("ALPHA_BASE", Some(tenants[0].base.clone())),
        ("ALPHA_ORG_ID", Some(config.alpha.org_id.clone())),
        ("ALPHA_ADMIN_TOKEN", Some(config.alpha.admin_token.clone())),
        (
            "ALPHA_HOST",
            config.alpha.host.clone().filter(|h| !h.is_empty()),
        ),
        ("BETA_BASE", Some(tenants[1].base.clone())),
        ("BETA_ORG_ID", Some(config.beta.org_id.clone())),
        ("BETA_ADMIN_TOKEN", Some(config.beta.admin_token.clone())),
        (
            "BETA_HOST",
            config.beta.host.clone().filter(|h| !h.is_empty()),
        ),
        ("ALPHA_PARENT_ID", Some(alpha_parent)),
        ("ALPHA_CHILD_ID", Some(alpha_child)),
        ("BETA_PARENT_ID", Some(beta_parent)),
        ("BETA_CHILD_ID", Some(beta_child)),
    ];
    for (alias, source) in ALIASES {
        let value = values
            .iter()
            .find(|(k, _)| k == source)
            .and_then(|(_, v)| v.clone());
        values.push((alias, value));
    }
    // Keep file order = the declared key order.
    values.sort_by_key(|(k, _)| {
        KEYS.iter()
            .position(|key| key.name == *k)
            .unwrap_or(usize::MAX)
    });
    let vars: Vec<(String, String)> = values
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
        .collect();
    let header = format!(
        "Written by seed {} for stack {stack_id} at {stamp}.\nDo not edit: re-run `seed` to refresh, `seed clean` to remove. Keys: .seed.env.example.\nBETA_ID = ALPHA_CHILD_ID on purpose (legacy quirk).",
        env!("CARGO_PKG_VERSION")
    );
    let text = envfile::render(&header, &vars);
    reporter.step(format!("writing {}", config.out.display()));
    match &config.before_rename {
        Some(hook) => envfile::write_atomic_with(&config.out, &text, &*hook.0)?,
        None => envfile::write_atomic(&config.out, &text)?,
    }
    reporter.done(format!("wrote {}", config.out.display()));
    reporter.finish();
    Ok(Outcome {
        path: config.out.clone(),
        stack_id,
        stamp,
        workspaces: pending
            .iter()
            .map(|p| Seeded {
                tenant: p.tenant.label,
                name: p.name.clone(),
                id: p.id.clone(),
                instance_id: p.instance_id.clone().unwrap_or_default(),
            })
            .collect(),
        vars,
        attribution,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_bodies() {
        assert!(body_ok(r#"{"status":"ok"}"#));
        assert!(body_ok("ok\n"));
        assert!(body_ok(r#"{"ok":true}"#));
        assert!(!body_ok(r#"{"status":"starting"}"#));
        assert!(!body_ok("<html>proxy</html>"));
    }

    #[test]
    fn validation_names_the_variable() {
        let mut c = Config::default();
        c.beta.org_id = c.alpha.org_id.clone();
        assert!(validate(&c)
            .unwrap_err()
            .to_string()
            .contains("ALPHA_ORG_ID and BETA_ORG_ID"));
        let c = Config {
            cp_stub_base: "localhost:9090".into(),
            ..Config::default()
        };
        assert!(validate(&c)
            .unwrap_err()
            .to_string()
            .contains("CP_STUB_BASE"));
        assert!(validate(&Config::default()).is_ok());
    }
}

/// The fix for a tenant's provision failure, read from the real client's
/// message: a wrong answer from the CP is the stub's (or CP's) fault, not
/// the tenant's CP variables; only an unreachable or unset CP base is.
pub(crate) fn provision_fix(reason: &str) -> String {
    if let Some(status) = reason
        .split("provision failed (")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
    {
        return if status == "201" {
            "the CP answered 201 without a usable `instance_id`: the stub (or CP) behind the tenant's CP base serves a body the client cannot decode (incident D3); check its version (GET /__/stub/version), its programmed faults (GET /__/stub/faults) and the contract's provision_response schema, then re-run seed".into()
        } else {
            format!("the CP answered {status} where the real client needs 201 with `instance_id` (incident D3): the CP settings are fine, the stub (or CP) behind them is not; check its programmed faults (GET /__/stub/faults) and its version (GET /__/stub/version), then re-run seed")
        };
    }
    "fix the tenant's CP settings (CP_PROVISION_URL or MOLECULE_CP_URL must point at the stub, reachable from the tenant) and re-run seed".into()
}

#[cfg(test)]
mod fix_tests {
    use super::provision_fix;

    #[test]
    fn a_wrong_status_blames_the_cp_not_the_variables() {
        let fix = provision_fix("cp provisioner: provision failed (200): {\"id\":\"x\"}");
        assert!(
            fix.contains("answered 200 where the real client needs 201"),
            "{fix}"
        );
        assert!(!fix.contains("CP_PROVISION_URL"), "{fix}");
        let fix = provision_fix(
            "cp provisioner: provision failed (201): the response has no instance_id",
        );
        assert!(fix.contains("without a usable `instance_id`"), "{fix}");
    }

    #[test]
    fn a_missing_base_names_the_variables() {
        let fix = provision_fix("no CP base configured: CP_PROVISION_URL, MOLECULE_CP_URL and MOLECULE_CP_DEFAULT_URL are all unset");
        assert!(fix.contains("CP_PROVISION_URL or MOLECULE_CP_URL"), "{fix}");
    }
}
