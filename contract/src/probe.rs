//! One valid request per route: what `replays drift` sends to a CP, and the
//! examples of the OpenAPI document.

use serde_json::{json, Value};

use crate::routes::{fill_path, Auth, Route, ROUTES};
use crate::schema::SchemaId;

/// A valid request for one route.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// The route probed.
    pub route: &'static Route,
    /// Method.
    pub method: &'static str,
    /// Path with parameters filled in.
    pub path: String,
    /// Query string without `?`, if the route takes one.
    pub query: Option<String>,
    /// Non-secret headers (the org header where the client sends one).
    pub headers: Vec<(&'static str, String)>,
    /// JSON body, if the route takes one.
    pub body: Option<Value>,
}

impl Probe {
    /// Path and query, ready to append to a base URL.
    pub fn path_and_query(&self) -> String {
        match &self.query {
            Some(q) => format!("{}?{q}", self.path),
            None => self.path.clone(),
        }
    }
}

/// A valid request body for `route`, as the real client would send it.
pub fn example_request(route: &Route, org_id: &str, workspace_id: &str) -> Option<Value> {
    match route.request_schema? {
        SchemaId::ProvisionRequest => Some(json!({
            "org_id": org_id,
            "workspace_id": workspace_id,
            "runtime": "claude-code",
            "tier": 1,
            "platform_url": "http://tenant:8080",
            "env": {"MOLECULE_WORKSPACE_NAME": "probe"}
        })),
        SchemaId::EnsureImageRequest => Some(json!({
            "org_id": org_id,
            "workspace_id": workspace_id,
            "runtime": "claude-code"
        })),
        SchemaId::CreateOrgRequest => Some(json!({
            "slug": format!("{org_id}-probe"),
            "name": "Probe Org",
            "owner_user_id": "user-probe"
        })),
        _ => None,
    }
}

/// One probe per route of [`ROUTES`], in table order.
pub fn probes(org_id: &str, workspace_id: &str) -> Vec<Probe> {
    ROUTES
        .iter()
        .map(|route| {
            let query = (!route.query.is_empty())
                .then(|| format!("instance_id=mol-ws-{workspace_id}&provider=stub"));
            let mut headers = Vec::new();
            if route.auth == Auth::AdminBearerAndOrg {
                headers.push(("X-Molecule-Org-Id", org_id.to_string()));
            }
            Probe {
                route,
                method: route.method,
                path: fill_path(route.path, workspace_id),
                query,
                headers,
                body: example_request(route, org_id, workspace_id),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::validate;

    #[test]
    fn every_probe_body_is_valid() {
        for p in probes("org-1", "ws-1") {
            match (p.route.request_schema, &p.body) {
                (Some(schema), Some(body)) => {
                    assert_eq!(validate(schema, body).unwrap(), vec![], "{}", p.route.id)
                }
                (None, None) => {}
                _ => panic!("{} has a schema without a body or the reverse", p.route.id),
            }
        }
    }
}
