//! The CP client, as the real tenant's: which base each call goes to, the
//! provision call (headers, body, the 201 rule, retries), the config refresh
//! and stop.
//!
//! - `bases.rs` — base resolution by env order, [`PRODUCTION_CP_URL`];
//! - `http.rs` — headers, body descriptions and error chains every call shares;
//! - `answer.rs` — what a provision answer means (the 201 rule, what is retried);
//! - `provision.rs` — one provision run with its attempts and final status;
//! - `stop.rs` — `DELETE /cp/workspaces/{id}`;
//! - `config_refresh.rs` — fetch, decode and apply `/cp/tenants/config`.

mod answer;
mod bases;
mod config_refresh;
mod http;
mod provision;
mod stop;

pub(crate) use bases::both as resolve_both;
pub use bases::PRODUCTION_CP_URL;
pub(crate) use config_refresh::refresh_config;
pub(crate) use http::error_chain;
pub(crate) use provision::provision_run;
pub(crate) use stop::stop;
