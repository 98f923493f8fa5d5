//! The CP wire contract, shared by cp-stub, the replay runner and the
//! reference tenant.
//!
//! The real tenant talks to the control plane (CP) through a Go client
//! whose decoders are strict in a few places that matter: provision is a
//! success only on **exactly 201** with a non-empty `instance_id` and a
//! `state` (incident D3), and the tenant config is a **flat map of strings**
//! (incident D1). This crate writes those decoders down once:
//!
//! - [`ROUTES`]: every CP route (method, path pattern, success status,
//!   legacy counter name, schemas, credentials), with [`match_route`] for
//!   servers and [`probes`] for clients;
//! - [`validate`]: JSON Schema validation (schemas in `contract/schemas/`,
//!   embedded at build time) returning every [`Violation`] with its JSON path;
//! - [`shape_diff`]: a structural diff of two JSON values — missing, extra
//!   and retyped fields, values ignored — for drift reports;
//! - [`openapi()`]: the same surface as an OpenAPI 3.1 document, checked in as
//!   `contract/openapi.json` for Schemathesis, Prism and friends;
//! - [`admin`]: the wire types of the stub's admin API.
//!
//! ```
//! use serde_json::json;
//!
//! // What the old Go stub served for /cp/tenants/config (incident D1):
//! let nested = json!({"tenant_id": "t", "runtimes": ["hermes"], "feature_flags": {"x": true}});
//! let violations = contract::validate(contract::SchemaId::TenantConfig, &nested).unwrap();
//! assert_eq!(violations[0].to_string(), "/feature_flags: expected string, found object");
//!
//! // And what it served for provision (incident D3):
//! let route = contract::route(contract::RouteId::Provision);
//! assert!(!route.success.accepts(200));
//! ```
//!
//! # Layout
//!
//! - `routes.rs` — the route table and matching (no allocation but the
//!   captured parameters);
//! - `schema.rs` — embedded schemas, validation ([`validate`]), undeclared
//!   fields;
//! - `diff.rs` — structural shape diff;
//! - `probe.rs` — a valid request per route;
//! - `openapi.rs` — the OpenAPI document;
//! - `admin.rs` — the stub admin API types.

#![warn(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod admin;
mod admin_scopes;
pub mod defaults;
mod diff;
mod openapi;
mod probe;
pub mod redact;
mod routes;
mod schema;
pub mod seed_env;
pub mod wire;

use std::sync::OnceLock;

pub use diff::{render as render_shape_diff, shape_diff, ShapeChange, ShapeDifference};
pub use openapi::{openapi, OPENAPI_FILE};
pub use probe::{example_request, probes, Probe};
pub use routes::{
    fill_path, match_route, route, Auth, Params, QueryParam, Route, RouteId, RouteMatch, Success,
    UnknownRoute, PROVISION_RETRIED, ROUTES,
};
pub use schema::{json_type, schema, self_check, undeclared_fields, validate, SchemaId, Violation};

/// Errors of this crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContractError {
    /// No schema has this name.
    #[error("unknown contract schema `{0}` (known: {known})", known = SchemaId::ALL.map(SchemaId::as_str).join(", "))]
    UnknownSchema(String),
    /// An embedded schema does not parse or compile.
    #[error("contract schema `{name}` is broken: {reason}")]
    BadSchema {
        /// Schema name.
        name: String,
        /// Parser or compiler message.
        reason: String,
    },
}

/// A short hash of the route table and every schema. Two builds with the
/// same fingerprint speak the same contract; the stub serves its own at
/// `/__/stub/version` so a stale image is caught (incident D9).
pub fn fingerprint() -> &'static str {
    static FP: OnceLock<String> = OnceLock::new();
    FP.get_or_init(|| {
        let routes = serde_json::to_string(ROUTES).unwrap_or_default();
        fingerprint_of(&routes, SchemaId::ALL.map(|id| (id.as_str(), id.source())))
    })
}

/// FNV-1a, 64 bit, over the routes' JSON and each schema's name and text:
/// stable across builds and platforms.
fn fingerprint_of<'a>(
    routes: &str,
    schemas: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for b in bytes {
            hash ^= u64::from(*b);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    feed(routes.as_bytes());
    for (name, source) in schemas {
        feed(name.as_bytes());
        feed(source.as_bytes());
    }
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources() -> Vec<(&'static str, String)> {
        SchemaId::ALL
            .map(|id| (id.as_str(), id.source().to_string()))
            .to_vec()
    }

    fn of(routes: &str, sources: &[(&'static str, String)]) -> String {
        fingerprint_of(routes, sources.iter().map(|(n, s)| (*n, s.as_str())))
    }

    #[test]
    fn the_fingerprint_covers_every_route_and_schema() {
        let routes = serde_json::to_string(ROUTES).unwrap();
        let base = sources();
        assert_eq!(fingerprint(), of(&routes, &base));
        // Any route field changes it (the provision success status, D3).
        assert_ne!(of(&routes.replacen("201", "200", 1), &base), fingerprint());
        // Any schema's text changes it.
        for i in 0..base.len() {
            let mut changed = base.clone();
            changed[i].1.push(' ');
            assert_ne!(of(&routes, &changed), fingerprint(), "{}", base[i].0);
        }
    }
}
