//! The tenant config map `GET /cp/tenants/config` serves: its default
//! entries, the placeholders its values may use, and the contract check of
//! extra entries (a flat map of strings, incident D1, whose keys are
//! environment variable names).

use std::collections::BTreeMap;

use serde_json::Value;

/// Placeholder replaced by the stub's public base URL in tenant config values.
pub const BASE_URL_PLACEHOLDER: &str = "{base_url}";
/// Placeholder replaced by the configured shared secret in tenant config values.
pub const SHARED_SECRET_PLACEHOLDER: &str = "{shared_secret}";

/// The default tenant config map, before placeholders are filled in.
pub const DEFAULT_TENANT_CONFIG: &[(&str, &str)] = &[
    ("MOLECULE_CP_SHARED_SECRET", SHARED_SECRET_PLACEHOLDER),
    ("MOLECULE_CP_URL", BASE_URL_PLACEHOLDER),
    ("MOLECULE_LLM_USAGE_TOKEN", "harness-llm-usage-token"),
    ("MOLECULE_LLM_USAGE_URL", "{base_url}/llm/usage"),
    ("MOLECULE_LLM_BASE_URL", "{base_url}/llm/v1"),
    (
        "MOLECULE_LLM_ANTHROPIC_BASE_URL",
        "{base_url}/llm/anthropic",
    ),
    ("MOLECULE_LLM_DEFAULT_MODEL", "stub-model"),
];

/// The defaults with `extra` laid over them, placeholders filled in.
pub(crate) fn render(
    extra: &BTreeMap<String, String>,
    base_url: &str,
    shared_secret: &str,
) -> BTreeMap<String, String> {
    let fill = |v: &str| {
        v.replace(BASE_URL_PLACEHOLDER, base_url)
            .replace(SHARED_SECRET_PLACEHOLDER, shared_secret)
    };
    let mut out = BTreeMap::new();
    // `extend` inserts in order: an extra entry replaces a default.
    out.extend(
        DEFAULT_TENANT_CONFIG
            .iter()
            .map(|(k, v)| (k.to_string(), fill(v))),
    );
    out.extend(extra.iter().map(|(k, v)| (k.clone(), fill(v))));
    out
}

/// Tenant config entries from a JSON (or TOML) document, checked against
/// the contract's `tenant_config` schema and for env-var-like keys; the
/// error is a JSON pointer and why.
pub(crate) fn from_value(doc: &Value) -> Result<BTreeMap<String, String>, String> {
    const D1: &str = "the tenant's client decodes a flat map of strings (incident D1)";
    let violations =
        contract::validate(contract::SchemaId::TenantConfig, doc).map_err(|e| e.to_string())?;
    if let Some(v) = violations.first() {
        return Err(format!("{v} — {D1}"));
    }
    let Some(map) = doc.as_object() else {
        return Ok(BTreeMap::new());
    };
    check_env_keys(map.keys().map(String::as_str))?;
    Ok(map
        .iter()
        .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
        .collect())
}

/// Every key must be an environment variable name: the tenant applies each
/// one as an env var.
pub(crate) fn check_env_keys<'a>(keys: impl IntoIterator<Item = &'a str>) -> Result<(), String> {
    for key in keys {
        let ok = !key.is_empty()
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !key.starts_with(|c: char| c.is_ascii_digit());
        if !ok {
            return Err(format!(
                "/{key}: not an environment variable name (letters, digits and _, not starting with a digit) — the tenant applies each key as an env var"
            ));
        }
    }
    Ok(())
}
