//! The keys of `.seed.env`: what seed writes and what the replay runner
//! preflights (incident D5: a key nobody wrote is named before any replay
//! runs, not discovered by a shell `:?` guard mid-replay). seed generates
//! `.seed.env.example` from [`KEYS`] and holds files to it (`seed check`).

/// One key of `.seed.env`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    /// Variable name.
    pub name: &'static str,
    /// Whether every `.seed.env` must carry a non-empty value.
    pub required: bool,
    /// An example value for `.seed.env.example`.
    pub example: &'static str,
    /// What it is, one or more comment lines.
    pub doc: &'static str,
}

const fn req(name: &'static str, example: &'static str, doc: &'static str) -> Key {
    Key {
        name,
        required: true,
        example,
        doc,
    }
}

/// Legacy names and the key each one repeats (`BETA_ID` = `ALPHA_CHILD_ID`
/// is the old harness's quirk, kept on purpose): seed writes them from this
/// table and `seed check` holds a file to it.
pub const ALIASES: &[(&str, &str)] = &[
    ("ALPHA_ID", "ALPHA_PARENT_ID"),
    ("BETA_ID", "ALPHA_CHILD_ID"),
    ("ALPHA_WORKSPACE_ID", "ALPHA_PARENT_ID"),
    ("BETA_WORKSPACE_ID", "BETA_PARENT_ID"),
];

/// Every key seed writes, in file order.
pub const KEYS: &[Key] = &[
    req("SEED_STACK_ID", "3f9c2a1b7d4e5f60", "Id of the stack this file was seeded against: random per seed run unless\n--stack-id / HARNESS_STACK_ID passes one. Ids from another stack are stale (D6)."),
    req("SEED_STAMP", "2026-01-01T12:00:00Z", "When seed wrote this file (RFC 3339, UTC)."),
    req("CP_STUB_BASE", "http://localhost:9090", "Base URL of cp-stub as the replays reach it (env CP_STUB_BASE, default\nhttp://localhost:9090). Always written: its absence aborted every replay (D5)."),
    req("ALPHA_BASE", "http://127.0.0.1:8081", "Tenant alpha's base URL."),
    req("ALPHA_ORG_ID", "org-alpha", "Tenant alpha's org, sent as X-Molecule-Org-Id."),
    req("ALPHA_ADMIN_TOKEN", "alpha-admin-token", "Tenant alpha's admin bearer token."),
    Key {
        name: "ALPHA_HOST",
        required: false,
        example: "alpha.localhost",
        doc: "Optional: Host header for tenant alpha behind a proxy (written only when set).",
    },
    req("BETA_BASE", "http://127.0.0.1:8082", "Tenant beta's base URL."),
    req("BETA_ORG_ID", "org-beta", "Tenant beta's org, sent as X-Molecule-Org-Id."),
    req("BETA_ADMIN_TOKEN", "beta-admin-token", "Tenant beta's admin bearer token."),
    Key {
        name: "BETA_HOST",
        required: false,
        example: "beta.localhost",
        doc: "Optional: Host header for tenant beta behind a proxy (written only when set).",
    },
    req("ALPHA_PARENT_ID", "00000000-0000-4000-8000-00000000a001", "Workspace alpha-parent (tier 0) on tenant alpha."),
    req("ALPHA_CHILD_ID", "00000000-0000-4000-8000-00000000a002", "Workspace alpha-child (tier 1, under alpha-parent) on tenant alpha."),
    req("BETA_PARENT_ID", "00000000-0000-4000-8000-00000000b001", "Workspace beta-parent (tier 0) on tenant beta."),
    req("BETA_CHILD_ID", "00000000-0000-4000-8000-00000000b002", "Workspace beta-child (tier 1, under beta-parent) on tenant beta."),
    req("ALPHA_ID", "00000000-0000-4000-8000-00000000a001", "Legacy name: = ALPHA_PARENT_ID."),
    req("BETA_ID", "00000000-0000-4000-8000-00000000a002", "Legacy name: = ALPHA_CHILD_ID, NOT a beta workspace. A quirk of the old\nharness kept on purpose: old replays use it as \"the second workspace of alpha\"."),
    req("ALPHA_WORKSPACE_ID", "00000000-0000-4000-8000-00000000a001", "Legacy name: = ALPHA_PARENT_ID."),
    req("BETA_WORKSPACE_ID", "00000000-0000-4000-8000-00000000b001", "Legacy name: = BETA_PARENT_ID."),
];

/// The keys that are a tenant's base URL. A replay step whose request URL
/// starts with one of them talks to a tenant, so `replays check` holds its
/// assertions to what the real tenant answers (no `/__/tenant/*` evidence,
/// no `instance_id`, no `running`) unless the step declares `evidence`.
pub const TENANT_BASES: &[&str] = &["ALPHA_BASE", "BETA_BASE"];

/// Whether `name` is a key seed writes.
pub fn is_key(name: &str) -> bool {
    KEYS.iter().any(|k| k.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tenant_base_is_a_required_key() {
        for b in TENANT_BASES {
            assert!(
                KEYS.iter().any(|k| k.name == *b && k.required),
                "{b} is not a required key"
            );
        }
    }
}
