//! The contents of `.seed.env`: every key of [`contract::seed_env::KEYS`]
//! that has a value, in the declared order, the legacy aliases filled from
//! [`contract::seed_env::ALIASES`], and the stack stamp (`SEED_STACK_ID`,
//! `SEED_STAMP`) under a header that says where the file came from.

use std::time::SystemTime;

use contract::seed_env::{ALIASES, KEYS};

use crate::config::{trim_base, Config};
use crate::create::Pending;
use crate::envfile::{self, EnvFileError};

/// What a run writes.
pub(crate) struct Contents {
    /// `SEED_STACK_ID`.
    pub(crate) stack_id: String,
    /// `SEED_STAMP`.
    pub(crate) stamp: String,
    /// Every key written, in file order.
    pub(crate) vars: Vec<(String, String)>,
    /// The file's text.
    pub(crate) text: String,
}

/// The contents for a run of `config` that provisioned `workspaces`.
pub(crate) fn assemble(
    config: &Config,
    workspaces: &[Pending<'_>],
) -> Result<Contents, EnvFileError> {
    let stack_id = config
        .stack_id
        .clone()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| format!("{:016x}", fastrand::u64(..)));
    let stamp = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let host = |h: &Option<String>| h.clone().filter(|h| !h.is_empty());
    let mut values: Vec<(String, Option<String>)> = [
        ("SEED_STACK_ID", Some(stack_id.clone())),
        ("SEED_STAMP", Some(stamp.clone())),
        ("CP_STUB_BASE", Some(trim_base(&config.cp_stub_base))),
        ("ALPHA_BASE", Some(trim_base(&config.alpha.base))),
        ("ALPHA_ORG_ID", Some(config.alpha.org_id.clone())),
        ("ALPHA_ADMIN_TOKEN", Some(config.alpha.admin_token.clone())),
        ("ALPHA_HOST", host(&config.alpha.host)),
        ("BETA_BASE", Some(trim_base(&config.beta.base))),
        ("BETA_ORG_ID", Some(config.beta.org_id.clone())),
        ("BETA_ADMIN_TOKEN", Some(config.beta.admin_token.clone())),
        ("BETA_HOST", host(&config.beta.host)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    // `alpha-parent` is ALPHA_PARENT_ID, and so on.
    values.extend(workspaces.iter().map(|w| {
        let key = format!("{}_ID", w.name.to_ascii_uppercase().replace('-', "_"));
        (key, Some(w.id.clone()))
    }));
    for (alias, source) in ALIASES {
        let value = values
            .iter()
            .find(|(k, _)| k == source)
            .and_then(|(_, v)| v.clone());
        values.push((alias.to_string(), value));
    }
    // Keep file order = the declared key order.
    values.sort_by_key(|(k, _)| {
        KEYS.iter()
            .position(|key| key.name == k)
            .unwrap_or(usize::MAX)
    });
    let vars: Vec<(String, String)> = values
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect();
    let header = format!(
        "Written by seed {} for stack {stack_id} at {stamp}.\nDo not edit: re-run `seed` to refresh, `seed clean` to remove. Keys: .seed.env.example.\nBETA_ID = ALPHA_CHILD_ID on purpose (legacy quirk).",
        env!("CARGO_PKG_VERSION")
    );
    let text = envfile::render(&header, &vars)?;
    Ok(Contents {
        stack_id,
        stamp,
        vars,
        text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Tenant;

    fn contents(config: &Config) -> Contents {
        let tenants = [
            Tenant::new("alpha", &config.alpha),
            Tenant::new("beta", &config.beta),
        ];
        let workspaces: Vec<Pending<'_>> = [
            (0, "alpha-parent", "a1"),
            (0, "alpha-child", "a2"),
            (1, "beta-parent", "b1"),
            (1, "beta-child", "b2"),
        ]
        .into_iter()
        .map(|(t, name, id)| Pending::new(&tenants[t], name.into(), id.into()))
        .collect();
        assemble(config, &workspaces).unwrap()
    }

    fn get<'a>(c: &'a Contents, key: &str) -> Option<&'a str> {
        c.vars
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn every_required_key_in_the_declared_order_with_the_aliases() {
        let c = contents(&Config::default());
        let required: Vec<&str> = KEYS.iter().filter(|k| k.required).map(|k| k.name).collect();
        let written: Vec<&str> = c.vars.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(written, required, "optional keys are written only when set");
        assert_eq!(get(&c, "ALPHA_PARENT_ID"), Some("a1"));
        assert_eq!(get(&c, "ALPHA_ID"), Some("a1"));
        // The legacy quirk, kept on purpose.
        assert_eq!(get(&c, "BETA_ID"), Some("a2"));
        assert_eq!(get(&c, "BETA_WORKSPACE_ID"), Some("b1"));
        assert!(c.text.starts_with("# Written by seed "), "{}", c.text);
    }

    #[test]
    fn the_stamp_is_rfc3339_and_the_stack_id_random_unless_given() {
        let c = contents(&Config::default());
        assert_eq!(c.stack_id.len(), 16);
        assert!(c.stack_id.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(c.stack_id, contents(&Config::default()).stack_id);
        // e.g. 2026-01-01T12:00:00Z
        assert_eq!(c.stamp.len(), 20, "{}", c.stamp);
        assert!(humantime::parse_rfc3339(&c.stamp).is_ok(), "{}", c.stamp);
        let given = Config {
            stack_id: Some("gate-1".into()),
            ..Config::default()
        };
        assert_eq!(contents(&given).stack_id, "gate-1");
    }

    #[test]
    fn hosts_are_written_when_set_and_bases_without_a_trailing_slash() {
        let mut config = Config::default();
        config.alpha.host = Some("alpha.localhost".into());
        config.beta.host = Some(String::new());
        config.cp_stub_base = "http://stub:9090/".into();
        let c = contents(&config);
        assert_eq!(get(&c, "ALPHA_HOST"), Some("alpha.localhost"));
        assert_eq!(get(&c, "BETA_HOST"), None);
        assert_eq!(get(&c, "CP_STUB_BASE"), Some("http://stub:9090"));
    }
}
