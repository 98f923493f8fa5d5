//! The CP client, as the real tenant's: which base each call goes to, the
//! provision call (headers, body, the 201 rule, retries), the config refresh
//! with the boot LLM-key check, the restart (ensure-image → stop →
//! provision), stop (and stop-and-prune), status (the health sweep) and
//! console.
//!
//! - `bases.rs` — base resolution by env order, [`PRODUCTION_CP_URL`];
//! - `http.rs` — headers, body descriptions and error chains every call shares;
//! - `go_json.rs` — decoding as Go's `encoding/json` does (string structs, string maps);
//! - `answer.rs` — what a provision answer means (the 201 rule, what is retried);
//! - `stop.rs` — `DELETE /cp/workspaces/{id}` (`prune=true` for erase), path and query encoding;
//! - `provision.rs` — one provision run (one Start) with its attempts and final status;
//! - `status.rs` — `GET /cp/workspaces/{id}/status`: the health sweep and the bare probe;
//! - `ensure_image.rs` — `POST /cp/workspaces/ensure-image` and what its answer means;
//! - `restart.rs` — a restart: ensure-image, stop, provision;
//! - `console.rs` — `GET /cp/admin/workspaces/{id}/console`;
//! - `config_refresh.rs` — fetch, decode and apply `/cp/tenants/config`;
//! - `boot_env.rs` — the boot refresh and the four LLM keys (`MISSING_CP_LLM_ENV`).

mod answer;
mod bases;
mod boot_env;
mod config_refresh;
mod console;
mod ensure_image;
mod go_json;
mod http;
mod provision;
mod restart;
mod status;
mod stop;

pub(crate) use bases::both as resolve_both;
pub use bases::PRODUCTION_CP_URL;
pub(crate) use boot_env::boot_env;
pub(crate) use config_refresh::refresh_config;
pub(crate) use console::console_output;
pub(crate) use http::error_chain;
pub(crate) use provision::provision_run;
pub(crate) use restart::restart_run;
pub(crate) use status::health_sweep;
pub(crate) use stop::stop;
