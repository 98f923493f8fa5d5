//! Running one declarative replay.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use crate::format::{Replay, TomlReplay};
use crate::report::{Outcome, ReplayReport, StepReport};

use super::ctx::{unix_ms, Ctx};
use super::evidence::{decide, withheld_reason, Decision};
use super::execution::{finish, Execution};
use super::poll::{run_step, scopes_of, StepEnv};
use super::preflight::missing_vars;
use super::stub::StubClient;
use super::vars::Scope;

/// Run a TOML replay to its report.
pub(crate) async fn run_toml(
    ctx: &Ctx,
    r: &Replay,
    t: &TomlReplay,
    replay_id: String,
) -> ReplayReport {
    let mut report = ReplayReport::bare(&r.name, r.path.clone(), "toml", Outcome::Pass);
    let mut scope = Scope::new(&ctx.resolver, ctx.builtins(&r.name, &replay_id));
    // Preflight: variables.
    let mut errors = missing_vars(&t.requires, &scope, &ctx.resolver);
    if errors.is_empty() {
        // In file order: a [vars] value may use the ones above it.
        for k in &t.var_order {
            let Some(v) = t.doc.vars.get(k) else { continue };
            if let Err(e) = scope.set_local(k, v.get_ref()) {
                errors.push(format!("[vars] {k}: {e}"));
            }
        }
    }
    ctx.learn(&scope.secrets());
    if !errors.is_empty() {
        report.outcome = Outcome::Error;
        report.errors = errors;
        return report;
    }
    // Preflight: the stub.
    let stub = if t.needs_stub {
        let template = t
            .doc
            .stub
            .as_ref()
            .map_or("${CP_STUB_BASE}", |s| s.get_ref().as_str());
        match scope.expand(template) {
            Ok(base) => {
                let stub = StubClient::new(ctx.client.clone(), &base);
                if let Err(e) = ctx.check_stub(&stub, var_of(template)).await {
                    report.outcome = Outcome::Error;
                    report.errors = vec![e];
                    return report;
                }
                Some(stub)
            }
            Err(e) => {
                report.outcome = Outcome::Error;
                report.errors = vec![format!("stub = \"{template}\": {e}")];
                return report;
            }
        }
    } else {
        None
    };

    let _guard = ctx.lock(r.exclusive()).await;
    let started = Instant::now();
    let started_ms = unix_ms();
    let timeout = t.doc.timeout.map_or(ctx.replay_timeout, |d| d.get());
    let deadline = started + timeout;
    let mut exec = Execution {
        report,
        stub: stub.clone(),
        start_seq: None,
        started_ms,
        failing: None,
        replay_id: replay_id.clone(),
        related: Vec::new(),
    };
    if let Some(s) = &stub {
        match s.state(ctx.step_timeout).await {
            Ok(st) => exec.start_seq = Some(st.journal_seq),
            Err(e) => {
                exec.report.outcome = Outcome::Error;
                exec.report.errors = vec![format!("cannot read the stub's state: {e}")];
                exec.report.duration = started.elapsed();
                return finish(ctx, r, exec).await;
            }
        }
    }

    let since_targets: BTreeSet<&str> = t
        .doc
        .steps
        .iter()
        .zip(&t.step_names)
        .flat_map(|(s, name)| {
            s.get_ref().expect.counters.iter().map(move |c| {
                c.get_ref()
                    .since
                    .as_ref()
                    .map_or(name.as_str(), |x| x.get_ref().as_str())
            })
        })
        .collect();
    let mut baselines = BTreeMap::new();
    // Variables a skipped step would have captured → why they have no value.
    let mut withheld: BTreeMap<String, String> = BTreeMap::new();
    for ((step, name), uses) in t.doc.steps.iter().zip(&t.step_names).zip(&t.step_vars) {
        if since_targets.contains(name.as_str()) {
            let Some(s) = &stub else { break };
            // Every scope measured from this step, in one read.
            let measured = t.doc.steps.iter().zip(&t.step_names).flat_map(|(s, n)| {
                s.get_ref()
                    .expect
                    .counters
                    .iter()
                    .map(|c| c.get_ref())
                    .filter(move |c| {
                        c.since
                            .as_ref()
                            .map_or(n.as_str(), |x| x.get_ref().as_str())
                            == name.as_str()
                    })
            });
            let wanted = scopes_of(measured, &scope, &replay_id);
            match s.counts(&wanted, ctx.step_timeout).await {
                Ok(st) => {
                    baselines.insert(name.clone(), st);
                }
                Err(e) => {
                    exec.report.outcome = Outcome::Error;
                    exec.report.errors = vec![format!(
                        "step `{name}`: cannot read the stub's counters for the baseline: {e}"
                    )];
                    break;
                }
            }
        }
        let skip_evidence = match decide(ctx, step.get_ref(), uses, &scope, &withheld).await {
            Decision::Run(skip) => skip,
            Decision::Skip(reason) => {
                for var in step.get_ref().capture.keys() {
                    withheld.insert(var.clone(), withheld_reason(name, &reason));
                }
                exec.report.steps.push(StepReport {
                    name: name.clone(),
                    skipped: Some(reason),
                    ..StepReport::default()
                });
                continue;
            }
            Decision::Fail(reason) => {
                exec.report.steps.push(StepReport {
                    name: name.clone(),
                    error: Some(reason),
                    ..StepReport::default()
                });
                exec.report.outcome = Outcome::Fail;
                break;
            }
        };
        let env = StepEnv {
            ctx,
            stub: stub.as_ref(),
            baselines: &baselines,
            deadline,
            replay_id: &replay_id,
            replay_timeout: timeout,
            skip_evidence,
        };
        let run = run_step(&env, step.get_ref(), name, name, &mut scope).await;
        let ok = run.report.ok();
        exec.report.steps.push(run.report);
        if !ok {
            exec.report.outcome = if run.error {
                Outcome::Error
            } else {
                Outcome::Fail
            };
            exec.failing = run.request;
            break;
        }
    }
    exec.report.duration = started.elapsed();
    exec.report.evidence_skipped = exec
        .report
        .steps
        .iter()
        .map(StepReport::evidence_skipped)
        .sum();
    exec.related = scope.own_values();
    finish(ctx, r, exec).await
}

/// The variable a `${VAR}` template names, for messages.
fn var_of(template: &str) -> &str {
    template
        .strip_prefix("${")
        .and_then(|t| t.split('}').next())
        .unwrap_or("stub")
}
