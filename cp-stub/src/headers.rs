//! The request headers the stub reads besides `Authorization` and `Host`.

use http::header::HeaderName;
use http::HeaderMap;

/// The caller's org (beats the body's `org_id`).
pub(crate) static ORG_HEADER: HeaderName = HeaderName::from_static("x-molecule-org-id");
/// The tenant's admin token on provision-like routes.
pub(crate) static ADMIN_TOKEN_HEADER: HeaderName =
    HeaderName::from_static("x-molecule-admin-token");

/// A header's value, trimmed; `None` when absent, empty or not text.
pub(crate) fn header_str<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|s| !s.is_empty())
}
