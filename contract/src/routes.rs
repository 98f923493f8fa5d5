//! The route table of the CP surface the tenants call.

use serde::Serialize;

/// Which statuses the real client treats as success for a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "statuses", rename_all = "snake_case")]
pub enum Success {
    /// Exactly these statuses (provision: only 201, never 200 — incident D3).
    Exactly(&'static [u16]),
    /// Any 2xx status.
    Any2xx,
}

impl Success {
    /// Whether `status` is a success for the client.
    pub fn accepts(&self, status: u16) -> bool {
        match self {
            Success::Exactly(list) => list.contains(&status),
            Success::Any2xx => (200..300).contains(&status),
        }
    }
}

/// Which credentials the real client sends on a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Auth {
    /// `Authorization: Bearer <MOLECULE_CP_SHARED_SECRET or PROVISION_SHARED_SECRET>`
    /// and `X-Molecule-Admin-Token: <ADMIN_TOKEN>`, each only when non-empty.
    SharedSecretAndAdminToken,
    /// `Authorization: Bearer <ADMIN_TOKEN>` and `X-Molecule-Org-Id: <org>`.
    AdminBearerAndOrg,
    /// `Authorization: Bearer <CP_ADMIN_API_TOKEN, else the shared secret>` and
    /// `X-Molecule-Admin-Token: <ADMIN_TOKEN>`.
    AdminApiKey,
    /// A user session (canvas); the stub does not check it.
    Session,
}

/// One documented query parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct QueryParam {
    /// Parameter name.
    pub name: &'static str,
    /// Whether the client always sends it.
    pub required: bool,
}

/// One route of the CP contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Route {
    /// Stable identifier, used in counters, journals, faults and replays.
    pub id: &'static str,
    /// HTTP method, upper case.
    pub method: &'static str,
    /// Path pattern; `{name}` matches one non-empty segment.
    pub path: &'static str,
    /// The status the stub answers on success.
    pub status: u16,
    /// What the real client accepts as success.
    pub success: Success,
    /// Statuses the real client retries (provision only).
    pub retried: &'static [u16],
    /// The legacy flat counter name in `/__/stub/state`.
    pub counter: &'static str,
    /// Schema of the request body, if the route takes one.
    pub request_schema: Option<&'static str>,
    /// Schema of the success body.
    pub response_schema: &'static str,
    /// Schema of documented error bodies (defaults to `error`).
    pub error_schema: &'static str,
    /// Documented query parameters.
    pub query: &'static [QueryParam],
    /// Credentials the client sends.
    pub auth: Auth,
    /// One-line summary.
    pub summary: &'static str,
}

const STOP_QUERY: &[QueryParam] = &[
    QueryParam {
        name: "instance_id",
        required: true,
    },
    QueryParam {
        name: "provider",
        required: false,
    },
];

/// Statuses the client's provision call retries: 408, 429 and 500–527.
pub const PROVISION_RETRIED: &[u16] = &[
    408, 429, 500, 501, 502, 503, 504, 505, 506, 507, 508, 509, 510, 511, 512, 513, 514, 515, 516,
    517, 518, 519, 520, 521, 522, 523, 524, 525, 526, 527,
];

/// Every CP route the stub serves.
pub const ROUTES: &[Route] = &[
    Route {
        id: "provision",
        method: "POST",
        path: "/cp/workspaces/provision",
        status: 201,
        success: Success::Exactly(&[201]),
        retried: PROVISION_RETRIED,
        counter: "provision_calls",
        request_schema: Some("provision_request"),
        response_schema: "provision_response",
        error_schema: "error",
        query: &[],
        auth: Auth::SharedSecretAndAdminToken,
        summary: "Provision a workspace; success is exactly 201 with instance_id and state.",
    },
    Route {
        id: "tenants_config",
        method: "GET",
        path: "/cp/tenants/config",
        status: 200,
        success: Success::Exactly(&[200]),
        retried: &[],
        counter: "tenants_config_calls",
        request_schema: None,
        response_schema: "tenant_config",
        error_schema: "error",
        query: &[],
        auth: Auth::AdminBearerAndOrg,
        summary: "The tenant's env refresh: a flat map of env var name to string value.",
    },
    Route {
        id: "ensure_image",
        method: "POST",
        path: "/cp/workspaces/ensure-image",
        status: 200,
        success: Success::Exactly(&[200, 201]),
        retried: &[],
        counter: "ensure_image_calls",
        request_schema: Some("ensure_image_request"),
        response_schema: "ensure_image_response",
        error_schema: "error",
        query: &[],
        auth: Auth::SharedSecretAndAdminToken,
        summary: "Pull-before-stop pre-flight; 404 and 501 mean unsupported.",
    },
    Route {
        id: "stop",
        method: "DELETE",
        path: "/cp/workspaces/{id}",
        status: 200,
        success: Success::Any2xx,
        retried: &[],
        counter: "stop_calls",
        request_schema: None,
        response_schema: "stop_response",
        error_schema: "error",
        query: STOP_QUERY,
        auth: Auth::SharedSecretAndAdminToken,
        summary: "Stop a workspace's compute; any 2xx is success.",
    },
    Route {
        id: "status",
        method: "GET",
        path: "/cp/workspaces/{id}/status",
        status: 200,
        success: Success::Any2xx,
        retried: &[],
        counter: "status_calls",
        request_schema: None,
        response_schema: "status_response",
        error_schema: "error",
        query: STOP_QUERY,
        auth: Auth::SharedSecretAndAdminToken,
        summary: "Compute state; only state == \"running\" counts as running.",
    },
    Route {
        id: "console",
        method: "GET",
        path: "/cp/admin/workspaces/{id}/console",
        status: 200,
        success: Success::Any2xx,
        retried: &[],
        counter: "console_calls",
        request_schema: None,
        response_schema: "console_response",
        error_schema: "error",
        query: &[],
        auth: Auth::AdminApiKey,
        summary: "The provider's boot log for a workspace.",
    },
    Route {
        id: "create_org",
        method: "POST",
        path: "/cp/admin/orgs",
        status: 201,
        success: Success::Exactly(&[201]),
        retried: &[],
        counter: "admin_orgs_calls",
        request_schema: Some("create_org_request"),
        response_schema: "create_org_response",
        error_schema: "create_org_error",
        query: &[],
        auth: Auth::AdminApiKey,
        summary: "Create an org; 400 names the missing fields.",
    },
    Route {
        id: "auth_me",
        method: "GET",
        path: "/cp/auth/me",
        status: 200,
        success: Success::Exactly(&[200]),
        retried: &[],
        counter: "auth_me_calls",
        request_schema: None,
        response_schema: "auth_me_response",
        error_schema: "error",
        query: &[],
        auth: Auth::Session,
        summary: "The signed-in user (canvas bootstrap).",
    },
    Route {
        id: "redeploy_fleet",
        method: "POST",
        path: "/cp/admin/tenants/redeploy-fleet",
        status: 200,
        success: Success::Exactly(&[200]),
        retried: &[],
        counter: "redeploy_fleet_calls",
        request_schema: None,
        response_schema: "redeploy_fleet_response",
        error_schema: "error",
        query: &[],
        auth: Auth::AdminApiKey,
        summary: "Redeploy every tenant; the answer lists each tenant's phase.",
    },
];

/// Look a route up by its id.
pub fn route(id: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|r| r.id == id)
}

/// The outcome of matching a request line against [`ROUTES`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteMatch {
    /// A route serves this method and path.
    Found {
        /// The route.
        route: &'static Route,
        /// Path parameters, in pattern order.
        params: Params,
    },
    /// The path is served, but not with this method; `allow` lists the methods that are.
    MethodNotAllowed {
        /// Methods that serve the path, for the `Allow` header.
        allow: Vec<&'static str>,
    },
    /// No route has this path.
    NotFound,
}

/// Path parameters captured by a match, in pattern order.
pub type Params = Vec<(&'static str, String)>;

/// Match a method and path (no query string) against the route table.
///
/// Literal segments win over parameters, so `GET /cp/workspaces/provision` is
/// a 405 of the provision route, not a call of `{id}` = `provision`.
pub fn match_route(method: &str, path: &str) -> RouteMatch {
    // Two passes over the (small, static) table, without allocating: the
    // best literal count first, then the method among the routes that
    // reach it. Parameters are captured only for the route returned.
    let mut best: Option<usize> = None;
    for route in ROUTES {
        if let Some(literals) = path_literals(route.path, path) {
            best = Some(best.map_or(literals, |b| b.max(literals)));
        }
    }
    let Some(best) = best else {
        return RouteMatch::NotFound;
    };
    let candidates = ROUTES
        .iter()
        .filter(|r| path_literals(r.path, path) == Some(best));
    let mut allow = Vec::new();
    for route in candidates {
        if route.method.eq_ignore_ascii_case(method) {
            let params = match_path(route.path, path)
                .map(|(params, _)| params)
                .unwrap_or_default();
            return RouteMatch::Found { route, params };
        }
        if !allow.contains(&route.method) {
            allow.push(route.method);
        }
    }
    RouteMatch::MethodNotAllowed { allow }
}

/// The number of literal segments when `path` matches `pattern`.
fn path_literals(pattern: &str, path: &str) -> Option<usize> {
    let mut pat = pattern.split('/');
    let mut got = path.split('/');
    let mut literals = 0;
    loop {
        match (pat.next(), got.next()) {
            (None, None) => return Some(literals),
            (Some(p), Some(g)) => {
                if p.starts_with('{') && p.ends_with('}') {
                    if g.is_empty() {
                        return None;
                    }
                } else if p == g {
                    literals += 1;
                } else {
                    return None;
                }
            }
            _ => return None,
        }
    }
}

/// Match `path` against `pattern`; returns the parameters and the number of literal segments.
fn match_path(pattern: &'static str, path: &str) -> Option<(Params, usize)> {
    let mut pat = pattern.split('/');
    let mut got = path.split('/');
    let mut params = Vec::new();
    let mut literals = 0;
    loop {
        match (pat.next(), got.next()) {
            (None, None) => return Some((params, literals)),
            (Some(p), Some(g)) => {
                if let Some(name) = p.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                    if g.is_empty() {
                        return None;
                    }
                    params.push((name, g.to_string()));
                } else if p == g {
                    literals += 1;
                } else {
                    return None;
                }
            }
            _ => return None,
        }
    }
}

/// Fill a path pattern's parameters with `value`.
pub fn fill_path(pattern: &str, value: &str) -> String {
    pattern
        .split('/')
        .map(|seg| {
            if seg.starts_with('{') && seg.ends_with('}') {
                value
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_beats_parameter() {
        match match_route("GET", "/cp/workspaces/provision") {
            RouteMatch::MethodNotAllowed { allow } => assert_eq!(allow, vec!["POST"]),
            other => panic!("{other:?}"),
        }
        match match_route("POST", "/cp/workspaces/provision") {
            RouteMatch::Found { route, .. } => assert_eq!(route.id, "provision"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn parameters_are_captured() {
        match match_route("GET", "/cp/workspaces/ws-1/status") {
            RouteMatch::Found { route, params } => {
                assert_eq!(route.id, "status");
                assert_eq!(params, vec![("id", "ws-1".to_string())]);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            match_route("GET", "/cp/workspaces//status"),
            RouteMatch::NotFound
        );
        assert_eq!(match_route("GET", "/cp/nope"), RouteMatch::NotFound);
        assert_eq!(
            match_route("PUT", "/cp/workspaces/abc"),
            RouteMatch::MethodNotAllowed {
                allow: vec!["DELETE"]
            }
        );
    }

    #[test]
    fn ids_and_counters_are_unique() {
        for (i, a) in ROUTES.iter().enumerate() {
            for b in &ROUTES[i + 1..] {
                assert_ne!(a.id, b.id);
                assert_ne!(a.counter, b.counter);
                assert!(!(a.method == b.method && a.path == b.path));
            }
            assert!(
                a.success.accepts(a.status),
                "{} serves a status its client rejects",
                a.id
            );
        }
    }
}
