//! The route table of the CP surface the tenants call.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::schema::SchemaId;

/// Every CP route, by name. The route table is keyed by it ([`route`]), and
/// a server that dispatches with an exhaustive `match` on it cannot leave a
/// route unhandled. Strings are parsed into it at the edges (replay files,
/// fault specs, journal filters) with [`str::parse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteId {
    /// `POST /cp/workspaces/provision`.
    Provision,
    /// `GET /cp/tenants/config`.
    TenantsConfig,
    /// `POST /cp/workspaces/ensure-image`.
    EnsureImage,
    /// `DELETE /cp/workspaces/{id}`.
    Stop,
    /// `GET /cp/workspaces/{id}/status`.
    Status,
    /// `GET /cp/admin/workspaces/{id}/console`.
    Console,
    /// `POST /cp/admin/orgs`.
    CreateOrg,
    /// `GET /cp/auth/me`.
    AuthMe,
    /// `POST /cp/admin/tenants/redeploy-fleet`.
    RedeployFleet,
}

impl RouteId {
    /// Every route id, in table order.
    pub const ALL: [RouteId; 9] = [
        RouteId::Provision,
        RouteId::TenantsConfig,
        RouteId::EnsureImage,
        RouteId::Stop,
        RouteId::Status,
        RouteId::Console,
        RouteId::CreateOrg,
        RouteId::AuthMe,
        RouteId::RedeployFleet,
    ];

    /// The id as written in counters, journals, faults and replay files.
    pub const fn as_str(self) -> &'static str {
        match self {
            RouteId::Provision => "provision",
            RouteId::TenantsConfig => "tenants_config",
            RouteId::EnsureImage => "ensure_image",
            RouteId::Stop => "stop",
            RouteId::Status => "status",
            RouteId::Console => "console",
            RouteId::CreateOrg => "create_org",
            RouteId::AuthMe => "auth_me",
            RouteId::RedeployFleet => "redeploy_fleet",
        }
    }

    /// This route's row of [`ROUTES`].
    pub fn route(self) -> &'static Route {
        &ROUTES[self as usize]
    }
}

impl fmt::Display for RouteId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no route; its message lists the ones that exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown route `{0}` (known: {known})", known = known_routes())]
pub struct UnknownRoute(pub String);

fn known_routes() -> String {
    RouteId::ALL.map(RouteId::as_str).join(", ")
}

impl FromStr for RouteId {
    type Err = UnknownRoute;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RouteId::ALL
            .into_iter()
            .find(|id| id.as_str() == s)
            .ok_or_else(|| UnknownRoute(s.to_string()))
    }
}

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
    pub id: RouteId,
    /// HTTP method, upper case.
    pub method: &'static str,
    /// Path pattern; `{name}` matches one non-empty segment.
    pub path: &'static str,
    /// The status the stub answers on success.
    pub status: u16,
    /// What the real client accepts as success.
    pub success: Success,
    /// Statuses the real client retries whatever the body (provision only).
    pub retried: &'static [u16],
    /// Statuses the real client retries only when the JSON body's `error`
    /// is the given code (provision: 409 `provision_in_progress`).
    pub retried_if_error: &'static [(u16, &'static str)],
    /// Statuses that mean "the CP does not support this call": the client
    /// proceeds as if it had succeeded (ensure-image: 404 and 501).
    pub unsupported: &'static [u16],
    /// The legacy flat counter name in `/__/stub/state`.
    pub counter: &'static str,
    /// Schema of the request body, if the route takes one.
    pub request_schema: Option<SchemaId>,
    /// Schema of the success body.
    pub response_schema: SchemaId,
    /// Schema of documented error bodies (defaults to `error`).
    pub error_schema: SchemaId,
    /// Documented query parameters.
    pub query: &'static [QueryParam],
    /// Credentials the client sends.
    pub auth: Auth,
    /// One-line summary.
    pub summary: &'static str,
}

/// Stop: `instance_id` always, `provider` when known, `prune=true` only from
/// the permanent delete with erase.
const STOP_QUERY: &[QueryParam] = &[
    QueryParam {
        name: "instance_id",
        required: true,
    },
    QueryParam {
        name: "provider",
        required: false,
    },
    QueryParam {
        name: "prune",
        required: false,
    },
];

/// Status: one real probe (after an ensure-image 404) sends no query at all.
const STATUS_QUERY: &[QueryParam] = &[
    QueryParam {
        name: "instance_id",
        required: false,
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
        id: RouteId::Provision,
        method: "POST",
        path: "/cp/workspaces/provision",
        status: 201,
        success: Success::Exactly(&[201]),
        retried: PROVISION_RETRIED,
        retried_if_error: &[(409, "provision_in_progress")],
        unsupported: &[],
        counter: "provision_calls",
        request_schema: Some(SchemaId::ProvisionRequest),
        response_schema: SchemaId::ProvisionResponse,
        error_schema: SchemaId::Error,
        query: &[],
        auth: Auth::SharedSecretAndAdminToken,
        summary: "Provision a workspace; success is exactly 201 with instance_id and state.",
    },
    Route {
        id: RouteId::TenantsConfig,
        method: "GET",
        path: "/cp/tenants/config",
        status: 200,
        success: Success::Exactly(&[200]),
        retried: &[],
        retried_if_error: &[],
        unsupported: &[],
        counter: "tenants_config_calls",
        request_schema: None,
        response_schema: SchemaId::TenantConfig,
        error_schema: SchemaId::Error,
        query: &[],
        auth: Auth::AdminBearerAndOrg,
        summary: "The tenant's env refresh: a flat map of env var name to string value.",
    },
    Route {
        id: RouteId::EnsureImage,
        method: "POST",
        path: "/cp/workspaces/ensure-image",
        status: 200,
        success: Success::Any2xx,
        retried: &[],
        retried_if_error: &[],
        unsupported: &[404, 501],
        counter: "ensure_image_calls",
        request_schema: Some(SchemaId::EnsureImageRequest),
        response_schema: SchemaId::EnsureImageResponse,
        error_schema: SchemaId::Error,
        query: &[],
        auth: Auth::SharedSecretAndAdminToken,
        summary: "Pull-before-stop pre-flight; any 2xx is success, 404 and 501 mean unsupported (the client proceeds).",
    },
    Route {
        id: RouteId::Stop,
        method: "DELETE",
        path: "/cp/workspaces/{id}",
        status: 200,
        success: Success::Any2xx,
        retried: &[],
        retried_if_error: &[],
        unsupported: &[],
        counter: "stop_calls",
        request_schema: None,
        response_schema: SchemaId::StopResponse,
        error_schema: SchemaId::Error,
        query: STOP_QUERY,
        auth: Auth::SharedSecretAndAdminToken,
        summary: "Stop a workspace's compute (prune=true from a permanent delete with erase); any 2xx is success.",
    },
    Route {
        id: RouteId::Status,
        method: "GET",
        path: "/cp/workspaces/{id}/status",
        status: 200,
        success: Success::Any2xx,
        retried: &[],
        retried_if_error: &[],
        unsupported: &[],
        counter: "status_calls",
        request_schema: None,
        response_schema: SchemaId::StatusResponse,
        error_schema: SchemaId::Error,
        query: STATUS_QUERY,
        auth: Auth::SharedSecretAndAdminToken,
        summary: "Compute state; only state == \"running\" counts as running.",
    },
    Route {
        id: RouteId::Console,
        method: "GET",
        path: "/cp/admin/workspaces/{id}/console",
        status: 200,
        success: Success::Any2xx,
        retried: &[],
        retried_if_error: &[],
        unsupported: &[],
        counter: "console_calls",
        request_schema: None,
        response_schema: SchemaId::ConsoleResponse,
        error_schema: SchemaId::Error,
        query: &[],
        auth: Auth::AdminApiKey,
        summary: "The provider's boot log for a workspace.",
    },
    Route {
        id: RouteId::CreateOrg,
        method: "POST",
        path: "/cp/admin/orgs",
        status: 201,
        success: Success::Exactly(&[201]),
        retried: &[],
        retried_if_error: &[],
        unsupported: &[],
        counter: "admin_orgs_calls",
        request_schema: Some(SchemaId::CreateOrgRequest),
        response_schema: SchemaId::CreateOrgResponse,
        error_schema: SchemaId::CreateOrgError,
        query: &[],
        auth: Auth::AdminApiKey,
        summary: "Create an org; 400 names the missing fields.",
    },
    Route {
        id: RouteId::AuthMe,
        method: "GET",
        path: "/cp/auth/me",
        status: 200,
        success: Success::Exactly(&[200]),
        retried: &[],
        retried_if_error: &[],
        unsupported: &[],
        counter: "auth_me_calls",
        request_schema: None,
        response_schema: SchemaId::AuthMeResponse,
        error_schema: SchemaId::Error,
        query: &[],
        auth: Auth::Session,
        summary: "The signed-in user (canvas bootstrap).",
    },
    Route {
        id: RouteId::RedeployFleet,
        method: "POST",
        path: "/cp/admin/tenants/redeploy-fleet",
        status: 200,
        success: Success::Exactly(&[200]),
        retried: &[],
        retried_if_error: &[],
        unsupported: &[],
        counter: "redeploy_fleet_calls",
        request_schema: None,
        response_schema: SchemaId::RedeployFleetResponse,
        error_schema: SchemaId::Error,
        query: &[],
        auth: Auth::AdminApiKey,
        summary: "Redeploy every tenant; the answer lists each tenant's phase.",
    },
];

impl Route {
    /// Whether the real client retries an answer with `status` whose JSON
    /// body's `error` field is `error` (`None` when absent or not JSON).
    pub fn retries(&self, status: u16, error: Option<&str>) -> bool {
        self.retried.contains(&status)
            || self
                .retried_if_error
                .iter()
                .any(|(s, code)| *s == status && error == Some(*code))
    }
}

/// The route `id` (the table is in [`RouteId::ALL`] order).
pub fn route(id: RouteId) -> &'static Route {
    id.route()
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
    // This runs on every request a server answers. A path equal to a
    // pattern without parameters is decided by those routes alone (nothing
    // else fits it with as many literal segments): a few length checks and
    // one comparison. Otherwise the path is split once (on the stack, no
    // allocation) and compared with patterns split once per process.
    // Parameters are captured (the only allocation) for the route returned.
    let table = table();
    let mut exact = table
        .literal
        .iter()
        .filter(|(pattern, _)| pattern.len() == path.len() && *pattern == path)
        .peekable();
    if exact.peek().is_some() {
        let mut allow = Vec::new();
        for (_, index) in exact {
            let route = &ROUTES[*index];
            if route.method == method {
                return RouteMatch::Found {
                    route,
                    params: Vec::new(),
                };
            }
            if !allow.contains(&route.method) {
                allow.push(route.method);
            }
        }
        return RouteMatch::MethodNotAllowed { allow };
    }
    let Some(segments) = Segments::split(path) else {
        return RouteMatch::NotFound;
    };
    let patterns = &table.patterns;
    // Literal-segment count per route when the path fits its pattern.
    let mut fits = [None::<u8>; ROUTES.len()];
    let mut best: Option<u8> = None;
    for (slot, pattern) in fits.iter_mut().zip(patterns) {
        *slot = pattern.literals_if_fits(path, &segments);
        if let Some(literals) = *slot {
            best = Some(best.map_or(literals, |b| b.max(literals)));
        }
    }
    let Some(best) = best else {
        return RouteMatch::NotFound;
    };
    let mut allow = Vec::new();
    for ((route, pattern), literals) in ROUTES.iter().zip(patterns).zip(fits) {
        if literals != Some(best) {
            continue;
        }
        if route.method == method {
            return RouteMatch::Found {
                route,
                params: pattern.params(&segments),
            };
        }
        if !allow.contains(&route.method) {
            allow.push(route.method);
        }
    }
    RouteMatch::MethodNotAllowed { allow }
}

/// The most `/`-separated segments a route pattern has (checked by a test);
/// a longer path matches no route.
const MAX_SEGMENTS: usize = 8;

/// A path split on `/`, on the stack.
struct Segments<'a> {
    items: [&'a str; MAX_SEGMENTS],
    len: usize,
}

impl<'a> Segments<'a> {
    /// `None` when the path has more segments than any pattern.
    fn split(path: &'a str) -> Option<Self> {
        // By hand: `str::split` sets up a searcher per segment, which costs
        // more than these few bytes.
        let mut items = [""; MAX_SEGMENTS];
        let mut len = 0;
        let mut start = 0;
        for (i, b) in path.bytes().enumerate() {
            if b == b'/' {
                *items.get_mut(len)? = &path[start..i];
                len += 1;
                start = i + 1;
            }
        }
        *items.get_mut(len)? = &path[start..];
        len += 1;
        Some(Segments { items, len })
    }

    fn as_slice(&self) -> &[&'a str] {
        &self.items[..self.len]
    }
}

/// One segment of a route pattern.
#[derive(Debug, Clone, Copy)]
enum PatternSegment {
    Literal(&'static str),
    /// `{name}`: any non-empty segment.
    Param(&'static str),
}

/// A route pattern, split once.
#[derive(Debug)]
struct Pattern {
    /// The whole pattern when it has no parameter: one comparison decides.
    literal: Option<&'static str>,
    segments: Vec<PatternSegment>,
}

impl Pattern {
    fn new(path: &'static str) -> Self {
        let segments = path
            .split('/')
            .map(
                |seg| match seg.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                    Some(name) => PatternSegment::Param(name),
                    None => PatternSegment::Literal(seg),
                },
            )
            .collect::<Vec<_>>();
        let literal = segments
            .iter()
            .all(|s| matches!(s, PatternSegment::Literal(_)))
            .then_some(path);
        Pattern { literal, segments }
    }

    /// The number of literal segments when `path` fits this pattern.
    fn literals_if_fits(&self, path: &str, segments: &Segments<'_>) -> Option<u8> {
        let got = segments.as_slice();
        if got.len() != self.segments.len() {
            return None;
        }
        if let Some(literal) = self.literal {
            return (literal == path).then_some(got.len() as u8);
        }
        let mut literals = 0;
        for (pattern, segment) in self.segments.iter().zip(got) {
            match pattern {
                PatternSegment::Literal(lit) if lit == segment => literals += 1,
                PatternSegment::Literal(_) => return None,
                PatternSegment::Param(_) if segment.is_empty() => return None,
                PatternSegment::Param(_) => {}
            }
        }
        Some(literals)
    }

    /// The parameters of a path that fits, in pattern order.
    fn params(&self, path: &Segments<'_>) -> Params {
        self.segments
            .iter()
            .zip(path.as_slice())
            .filter_map(|(pattern, segment)| match pattern {
                PatternSegment::Param(name) => Some((*name, (*segment).to_string())),
                PatternSegment::Literal(_) => None,
            })
            .collect()
    }
}

/// [`ROUTES`]' patterns, prepared on first use.
#[derive(Debug)]
struct Table {
    /// Every pattern, split, in table order.
    patterns: Vec<Pattern>,
    /// The patterns without parameters and their route's index, in table order.
    literal: Vec<(&'static str, usize)>,
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let patterns: Vec<Pattern> = ROUTES.iter().map(|r| Pattern::new(r.path)).collect();
        let literal = patterns
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.literal.map(|l| (l, i)))
            .collect();
        Table { patterns, literal }
    })
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
            RouteMatch::Found { route, .. } => assert_eq!(route.id, RouteId::Provision),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn parameters_are_captured() {
        match match_route("GET", "/cp/workspaces/ws-1/status") {
            RouteMatch::Found { route, params } => {
                assert_eq!(route.id, RouteId::Status);
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
    fn patterns_fit_the_segment_buffer() {
        for route in ROUTES {
            assert!(
                route.path.split('/').count() <= MAX_SEGMENTS,
                "{}: raise MAX_SEGMENTS",
                route.path
            );
        }
        let deep = "/cp/a/b/c/d/e/f/g/h/i/j";
        assert_eq!(match_route("GET", deep), RouteMatch::NotFound);
    }

    /// The straightforward definition `match_route` implements without
    /// allocating: best literal count, then the method among those routes.
    fn reference_match(method: &str, path: &str) -> RouteMatch {
        let fit = |pattern: &'static str| -> Option<(usize, Params)> {
            let pat: Vec<&str> = pattern.split('/').collect();
            let got: Vec<&str> = path.split('/').collect();
            if pat.len() != got.len() {
                return None;
            }
            let mut literals = 0;
            let mut params = Vec::new();
            for (p, g) in pat.iter().zip(&got) {
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
            Some((literals, params))
        };
        let fits: Vec<_> = ROUTES
            .iter()
            .filter_map(|r| fit(r.path).map(|(l, p)| (r, l, p)))
            .collect();
        let Some(best) = fits.iter().map(|(_, l, _)| *l).max() else {
            return RouteMatch::NotFound;
        };
        let mut allow = Vec::new();
        for (route, literals, params) in fits {
            if literals != best {
                continue;
            }
            if route.method == method {
                return RouteMatch::Found { route, params };
            }
            if !allow.contains(&route.method) {
                allow.push(route.method);
            }
        }
        RouteMatch::MethodNotAllowed { allow }
    }

    #[test]
    fn matching_agrees_with_the_reference_definition() {
        let mut paths: Vec<String> = vec![
            "".into(),
            "/".into(),
            "//".into(),
            "/cp".into(),
            "/cp/".into(),
            "/healthz".into(),
            "/cp/workspaces".into(),
            "/cp/workspaces/".into(),
            "/cp/workspaces//".into(),
            "/cp/workspaces/provision/".into(),
            "/cp/workspaces/ws-1/status/".into(),
            "/cp/workspaces/ws%201/status".into(),
            "/cp/admin/workspaces//console".into(),
            "/cp/admin/workspaces/x/console/extra".into(),
            "/CP/workspaces/provision".into(),
            "cp/workspaces/provision".into(),
            "/cp/a/b/c/d/e/f/g".into(),
            "/cp/a/b/c/d/e/f/g/h".into(),
        ];
        for route in ROUTES {
            paths.push(route.path.to_string());
            paths.push(fill_path(route.path, "provision"));
            paths.push(fill_path(route.path, "ws-1"));
            paths.push(format!("{}/", fill_path(route.path, "ws-1")));
            paths.push(fill_path(route.path, "ws-1").replacen("/cp", "/cpx", 1));
        }
        let methods = [
            "GET", "get", "POST", "PUT", "DELETE", "delete", "PATCH", "HEAD", "",
        ];
        for path in &paths {
            for method in methods {
                assert_eq!(
                    match_route(method, path),
                    reference_match(method, path),
                    "{method} {path}"
                );
            }
        }
    }

    #[test]
    fn provision_retries_what_the_real_client_retries() {
        let provision = route(RouteId::Provision);
        for status in [408, 429, 500, 503, 527] {
            assert!(provision.retries(status, None), "{status}");
        }
        assert!(provision.retries(409, Some("provision_in_progress")));
        assert!(!provision.retries(409, Some("conflict")));
        assert!(!provision.retries(409, None));
        for status in [200, 400, 401, 404, 528] {
            assert!(!provision.retries(status, None), "{status}");
        }
        let ensure = route(RouteId::EnsureImage);
        assert!(ensure.success.accepts(202) && ensure.unsupported == [404, 501]);
    }

    #[test]
    fn methods_are_case_sensitive() {
        // RFC 9110 §9.1: the method token is case-sensitive.
        assert_eq!(
            match_route("post", "/cp/workspaces/provision"),
            RouteMatch::MethodNotAllowed {
                allow: vec!["POST"]
            }
        );
        assert!(matches!(
            match_route("delete", "/cp/workspaces/ws-1"),
            RouteMatch::MethodNotAllowed { .. }
        ));
    }

    #[test]
    fn the_table_is_keyed_by_route_id() {
        assert_eq!(ROUTES.len(), RouteId::ALL.len());
        for (i, id) in RouteId::ALL.into_iter().enumerate() {
            assert_eq!(id as usize, i, "{id}: RouteId::ALL is out of order");
            assert_eq!(ROUTES[i].id, id, "ROUTES[{i}] is not {id}");
            assert_eq!(id.as_str().parse::<RouteId>(), Ok(id));
            assert_eq!(serde_json::to_value(id).unwrap(), id.as_str());
        }
        let err = "nope".parse::<RouteId>().unwrap_err();
        assert!(
            err.to_string().contains("provision, tenants_config"),
            "{err}"
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
