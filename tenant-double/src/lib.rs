//! The reference tenant: a small server that speaks the tenant API and calls
//! the CP **exactly as the real tenant does**, so the harness stack runs and
//! can be tested without the real tenant image.
//!
//! What "exactly" covers, and the incident each part keeps loud:
//!
//! - **CP base resolution** — provisioning reads `CP_PROVISION_URL`, else
//!   `MOLECULE_CP_URL`, else `MOLECULE_CP_DEFAULT_URL`; the config fetch reads
//!   `MOLECULE_CP_URL`, else `MOLECULE_CP_DEFAULT_URL` (never
//!   `CP_PROVISION_URL`). Where the real tenant would fall back to production
//!   ([`PRODUCTION_CP_URL`]) the double sends nothing and fails the workspace
//!   with a reason naming the missing variables — and `CP_UPSTREAM_URL` when
//!   that is the only one set (incident D2).
//! - **Config refresh on boot** — `GET /cp/tenants/config` with
//!   `Authorization: Bearer <ADMIN_TOKEN>` and `X-Molecule-Org-Id`; success
//!   is exactly 200, decoded as Go decodes a `map[string]string` (one
//!   non-string value fails it with Go's message plus the offending paths,
//!   incident D1) and applied over the tenant's env: later CP calls see e.g.
//!   `MOLECULE_CP_SHARED_SECRET`. Then a managed tenant needs the four
//!   `MOLECULE_LLM_*` keys (env or config): without them boot is refused
//!   ([`TenantError::Boot`], `MISSING_CP_LLM_ENV`) at once when the fetch
//!   succeeded, or after retrying a failing fetch every second for
//!   `MOLECULE_CP_CONFIG_RETRY_WINDOW` (Go duration, 90s).
//! - **Provision** — `POST /cp/workspaces/provision` with the shared secret
//!   as bearer and `X-Molecule-Admin-Token`, each only when non-empty; body
//!   `org_id`, `workspace_id`, `idempotency_key` (`cpprov-` + 32 hex, one per
//!   Start, reused on its retries), `runtime`, `tier`, `display` (always),
//!   `platform_url`, `env`, and the create's optional fields when set.
//!   Success is exactly 201, decoded as Go's `encoding/json` decodes
//!   `cpProvisionResponse`: a known field of another type fails the call
//!   (`cp provisioner: decode 201 response: json: cannot unmarshal number
//!   into Go struct field cpProvisionResponse.state of type string`), a
//!   missing `instance_id` is an empty one. A 200 fails with `cp
//!   provisioner: provision failed (200): …` (incident D3) and the body is
//!   never echoed. What `contract::Route::retries` names (408, 429, 500–527,
//!   409 `provision_in_progress`) and transport errors are retried
//!   ([`RetryPolicy`]: 6 attempts, 2 s doubling, cap 10 s; shorten it in
//!   tests). Instance ids come from the CP (`mol-ws-…` from the stub, D10).
//! - **Restart, stop, status, console** — a restart runs ensure-image (any
//!   2xx ready; 404 with a live route family and 501 "unsupported, proceed";
//!   refusals decline it), stop, then provision; delete stops (`?erase=true`:
//!   with `prune=true`); a health sweep calls status for every running
//!   workspace with an instance id (`--health-sweep-interval`, 15 s); console
//!   proxies the CP's admin console route.
//! - **Evidence** — `GET /__/tenant/cp` ([`CpReport`]) shows the resolved
//!   bases and the variable each came from, the last config refresh and every
//!   provision attempt, so replays can prove the tenant's *own* calls reached
//!   the stub (D2, D4) and that it applied its config (D1).
//! - **Opaque mode** — `--no-evidence` (`TENANT_DOUBLE_NO_EVIDENCE`,
//!   [`Config::no_evidence`]) answers as the real tenant is known to: no
//!   `/__/tenant/*` routes (404), a workspace the CP provisioned stays
//!   `provisioning` (the real one waits for an agent that never registers
//!   with a stub CP), a CP failure is `failed`, never `running`, and the
//!   workspace JSON has no `instance_id`, `error` or `provision_runs`. The
//!   CP calls are the same, the health sweep included (it sweeps the
//!   workspaces provisioned at the CP although they show `provisioning`).
//!   What it did is visible only from the stub's side and in its log lines
//!   ([`Tenant::log_lines`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), tenant_double::TenantError> {
//! let tenant = tenant_double::start(tenant_double::Config {
//!     port: 0,
//!     org_id: "org-alpha".into(),
//!     admin_token: "alpha-admin-token".into(),
//!     cp_provision_url: Some("http://127.0.0.1:9090".into()),
//!     molecule_cp_url: Some("http://127.0.0.1:9090".into()),
//!     ..Default::default()
//! })
//! .await?;
//! println!("tenant at {}", tenant.base_url());
//! let evidence = tenant.report();
//! assert_eq!(evidence.provision.source.as_deref(), Some("CP_PROVISION_URL"));
//! tenant.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # Settings
//!
//! Each setting is defined once, as a clap argument of [`Config`] (or of
//! its [`RetryPolicy`]): flag, variable, default and help. The binary
//! parses them from its command line and env; [`Config::from_vars`] reads
//! the same definitions from a variable list, [`Config::default`] is their
//! defaults, and `{:?}` masks every secret-named one (`contract::redact`).
//!
//! # Tenant API
//!
//! | method | path | answer |
//! |---|---|---|
//! | GET | `/health` | 200 `{"status":"ok"}` |
//! | GET | `/buildinfo` | 200 name, version, git sha, contract fingerprint |
//! | POST | `/workspaces` | 201 the workspace (`id` server-generated, `status: provisioning`); provisions in the background (optional `template`, `instance_type`, `disk_gb`, `provider`, `data_persistence`, `kind`, `display`, `config_files`, `template_assets` forwarded) |
//! | GET | `/workspaces` | 200 array of workspaces |
//! | GET | `/workspaces/{id}` | 200 workspace (`status`, `instance_id`, `error`; opaque: `status` only) / 404 |
//! | DELETE | `/workspaces/{id}[?erase=true]` | 200 after a CP stop (`prune=true` with erase; 502 when the stop fails) / 404 |
//! | GET | `/workspaces/{id}/console` | 200 `{"output":..}` / 502 `{"error":"control plane returned an error fetching console output"}` / 404 / 401 |
//! | POST | `/admin/workspaces/{id}/restart` | 202 `{"status":"restart_dispatched","workspace_id":..}` (ensure-image → stop → provision in the background) / 404 / 401 |
//! | GET | `/__/tenant/cp` | [`CpReport`] (opaque: 404) |
//! | POST | `/__/tenant/config/refresh` | runs the config refresh again; [`ConfigRefresh`] (opaque: 404) |
//!
//! Every `/workspaces` and `/admin` route (console is gated like `/admin`) passes the tenant guard: no
//! `X-Molecule-Org-Id` → 400 `{"code":"TENANT_ORG_HEADER_REQUIRED",...}`;
//! another org → 404 `{"error":"not found"}`; no bearer → 401; a bearer that
//! is not this tenant's `ADMIN_TOKEN` → the same 404 on `/workspaces` (it may
//! be another tenant's: nothing is revealed) and 401 on `/admin`.
//!
//! # Layout
//!
//! Each module imports only from the ones listed above it.
//!
//! - `report.rs` — the wire types of `/__/tenant/cp` ([`CpReport`] and its parts) and their clock;
//! - `vars.rs` — one clap definition per setting, read from a variable list too; [`ConfigError`];
//! - `retry.rs` — [`RetryPolicy`]: the provision and restart retry settings and backoff;
//! - `config.rs` — [`Config`]: every setting (flag, variable, default, help);
//! - `env.rs` — the effective env: start variables overlaid by config refreshes;
//! - `workspace.rs` — a workspace, its statuses, its API view, ids;
//! - `state.rs` — what the server and background tasks share, behind one lock;
//! - `cp/` — the CP client (`cp/mod.rs` lists its files): bases by env order
//!   ([`PRODUCTION_CP_URL`]), Go decoding, provision with retries, stop,
//!   status and the health sweep, ensure-image, restart, console, config
//!   refresh and the boot LLM-key check;
//! - `evidence.rs` — builds the [`CpReport`] from the state;
//! - `server.rs` — the accept loop; `server/routes.rs` routing,
//!   `server/guard.rs` the tenant guard, `server/workspaces.rs` the workspace
//!   handlers, `server/respond.rs` JSON answers;
//! - `tenant.rs` — [`start`], [`Tenant`], [`TenantError`];
//! - `main.rs` — the `tenant-double` binary (serve, `healthcheck`).

#![warn(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

mod config;
mod cp;
mod env;
mod evidence;
mod report;
mod retry;
mod server;
mod state;
mod tenant;
mod vars;
mod workspace;

pub use config::Config;
pub use cp::PRODUCTION_CP_URL;
pub use report::{
    BaseResolution, BootResolution, ConfigRefresh, CpReport, Credentials, Origin, ProvisionAttempt,
    ProvisionRun, StopCall, Totals, WorkspaceReport,
};
pub use retry::RetryPolicy;
pub use tenant::{start, Tenant, TenantError};
pub use vars::ConfigError;
