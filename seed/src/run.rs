//! The run: validate, wait for the stack, check the boot config calls,
//! create, wait for provisioning, verify attribution, write the env file —
//! each step in its own module.

use std::fmt;
use std::path::PathBuf;

use contract::redact;
use educe::Educe;

use crate::attribution::{stub_state, verify_attribution, verify_no_cross_org, Attribution};
use crate::config::{trim_base, Config};
use crate::config_check::{self, check_config_calls, ConfigCall};
use crate::create::{create_all, wait_provisioned};
use crate::envfile;
use crate::error::SeedError;
use crate::http::{Http, Tenant};
use crate::progress::Reporter;
use crate::wait::wait_ready;

/// Run seed: wait for the stack, check each tenant's boot config call at
/// the stub (D1), create the four workspaces, wait until the stub answered
/// each provision 201 under its tenant's org (D2, D3, D10), verify
/// attribution at the stub (D4), then write the env file atomically (D5,
/// D6). Every decision reads the stub's journal, never tenant-only fields,
/// so it holds for the real (opaque) tenant. On any error the previous
/// file is untouched.
pub async fn run(config: &Config) -> Result<Outcome, SeedError> {
    config.validate()?;
    let http =
        Http::new(config.timeout).map_err(|e| SeedError::Config(format!("HTTP client: {e}")))?;
    let reporter = Reporter::new(config.progress);
    let stub = trim_base(&config.cp_stub_base);
    let tenants = [
        Tenant::new("alpha", &config.alpha),
        Tenant::new("beta", &config.beta),
    ];

    wait_ready(&http, config, &tenants, &reporter).await?;
    let before = stub_state(&http, &stub).await?;
    reporter.step("checking each tenant's boot config call at the stub");
    let config_calls = check_config_calls(&http, &stub, &tenants, &before).await?;
    for call in &config_calls {
        if let ConfigCall::Unknown(why) = call {
            reporter.done(format!("D1 not checked: {why}"));
        }
    }
    let missing: Vec<&str> = tenants
        .iter()
        .zip(&config_calls)
        .filter(|(_, c)| **c == ConfigCall::Missing)
        .map(|(t, _)| t.label)
        .collect();
    let mut pending = create_all(&http, &tenants, &reporter, &missing).await?;
    wait_provisioned(
        &http,
        config,
        &mut pending,
        &reporter,
        &stub,
        before.journal_seq,
        &missing,
    )
    .await?;
    reporter.step("checking attribution at the stub");
    let attribution = verify_attribution(&http, &stub, &before, &pending).await?;
    verify_no_cross_org(&http, &stub, &before, &pending).await?;
    // Provisions reached the stub, so a config call that did not is D1/D2.
    if let Some(t) = tenants.iter().find(|t| missing.contains(&t.label)) {
        return Err(config_check::missing(t, &stub));
    }
    reporter.done("each tenant's config and provision calls reached the stub under its own org, none under the other's");

    let contents = crate::env::assemble(config, &pending)?;
    reporter.step(format!("writing {}", config.out.display()));
    match &config.before_rename {
        Some(hook) => envfile::write_atomic_with(&config.out, &contents.text, &*hook.0)?,
        None => envfile::write_atomic(&config.out, &contents.text)?,
    }
    reporter.done(format!("wrote {}", config.out.display()));
    reporter.finish();
    Ok(Outcome {
        path: config.out.clone(),
        stack_id: contents.stack_id,
        stamp: contents.stamp,
        workspaces: pending
            .iter()
            .map(|p| Seeded {
                tenant: p.tenant.label,
                name: p.name.clone(),
                id: p.id.clone(),
                instance_id: p.instance_id.clone().unwrap_or_default(),
            })
            .collect(),
        vars: contents.vars,
        attribution,
    })
}

/// One seeded workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seeded {
    /// `alpha` or `beta`.
    pub tenant: &'static str,
    /// Workspace name (`alpha-parent`, ...).
    pub name: String,
    /// Workspace id.
    pub id: String,
    /// Instance id the stub answered (from its journal).
    pub instance_id: String,
}

/// What a successful run did.
#[derive(Clone, Educe)]
#[educe(Debug)]
pub struct Outcome {
    /// File written.
    pub path: PathBuf,
    /// `SEED_STACK_ID`.
    pub stack_id: String,
    /// `SEED_STAMP`.
    pub stamp: String,
    /// The four workspaces, in creation order.
    pub workspaces: Vec<Seeded>,
    /// Every key written, in file order (tokens included; `{:?}` masks them).
    #[educe(Debug(method(redact::debug_pairs)))]
    pub vars: Vec<(String, String)>,
    /// How attribution was checked.
    pub attribution: Attribution,
}

impl Outcome {
    /// A value written, by key.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// The summary the `seed` binary prints: the file, the stamp, how
/// attribution was checked, then one line per workspace.
impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let how = match self.attribution {
            Attribution::Journal => "journal",
            Attribution::Counters => "counters",
        };
        write!(
            f,
            "wrote {} (stack {}, {}; attribution checked by {how})",
            self.path.display(),
            self.stack_id,
            self.stamp
        )?;
        for ws in &self.workspaces {
            write!(f, "\n  {:<13} {}  {}", ws.name, ws.id, ws.instance_id)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome() -> Outcome {
        Outcome {
            path: ".seed.env".into(),
            stack_id: "s1".into(),
            stamp: "2026-01-01T12:00:00Z".into(),
            workspaces: vec![Seeded {
                tenant: "alpha",
                name: "alpha-parent".into(),
                id: "a1".into(),
                instance_id: "i-1".into(),
            }],
            vars: vec![
                ("ALPHA_ADMIN_TOKEN".into(), "t0p-secret".into()),
                ("ALPHA_ORG_ID".into(), "org-alpha".into()),
            ],
            attribution: Attribution::Journal,
        }
    }

    #[test]
    fn debug_hides_tokens() {
        let text = format!("{:?}", outcome());
        assert!(!text.contains("t0p-secret"), "{text}");
        assert!(text.contains(redact::REDACTED) && text.contains("org-alpha"));
    }

    #[test]
    fn the_summary_names_the_file_and_each_workspace() {
        assert_eq!(
            outcome().to_string(),
            "wrote .seed.env (stack s1, 2026-01-01T12:00:00Z; attribution checked by journal)\n  alpha-parent  a1  i-1"
        );
    }
}
