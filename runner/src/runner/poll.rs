//! Running one step: send, check, capture — and with `[step.poll]`, again
//! until every expectation holds or the poll times out.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use contract::admin::{ScopeKind, ScopedCounts};

use crate::format::model::{CounterExpect, Step};
use crate::format::template::Expand;
use crate::report::{Check, StepReport};

use super::ctx::Ctx;
use super::expect::{check_response, expand_because};
use super::request::{prepare, send, Prepared, SendError};
use super::scoped::{delta, CounterScope, DeltaError};
use super::stub::StubClient;
use super::vars::Scope;
use crate::format::counter::signed;

/// Default wait between poll attempts.
pub(crate) const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(250);

/// How a step ended.
#[derive(Debug)]
pub(crate) struct StepRun {
    /// What happened.
    pub(crate) report: StepReport,
    /// The last request sent, for the curl line.
    pub(crate) request: Option<Prepared>,
    /// The step could not run (unreachable host, missing variable): ERROR, not FAIL.
    pub(crate) error: bool,
}

/// Everything a step needs from its replay.
#[derive(Debug)]
pub(crate) struct StepEnv<'a> {
    /// The run.
    pub(crate) ctx: &'a Ctx,
    /// The stub, when the replay uses it.
    pub(crate) stub: Option<&'a StubClient>,
    /// Counter baselines by step name.
    pub(crate) baselines: &'a BTreeMap<String, ScopedCounts>,
    /// The replay's deadline.
    pub(crate) deadline: Instant,
    /// The replay execution id.
    pub(crate) replay_id: &'a str,
    /// The replay's timeout (for messages).
    pub(crate) replay_timeout: Duration,
}

fn expand_error(name: &str, e: Expand) -> StepRun {
    StepRun {
        report: StepReport {
            name: name.to_string(),
            error: Some(e.to_string()),
            ..StepReport::default()
        },
        request: None,
        error: true,
    }
}

/// Run a step (with its poll, if any).
pub(crate) async fn run_step(
    env: &StepEnv<'_>,
    step: &Step,
    name: &str,
    this_step: &str,
    scope: &mut Scope<'_>,
) -> StepRun {
    let started = Instant::now();
    let poll_deadline = step.poll.as_ref().map_or(env.deadline, |p| {
        (started + p.timeout.get()).min(env.deadline)
    });
    let interval = step
        .poll
        .as_ref()
        .and_then(|p| p.interval)
        .map_or(DEFAULT_POLL_INTERVAL, |d| d.get());
    let step_timeout = step
        .request
        .as_ref()
        .and_then(|r| r.timeout)
        .map_or(env.ctx.step_timeout, |d| d.get());
    let mut attempts = 0;
    loop {
        attempts += 1;
        let mut report = StepReport {
            name: name.to_string(),
            attempts,
            ..StepReport::default()
        };
        let mut request = None;
        let mut error = false;
        if let Some(req) = &step.request {
            let remaining = env.deadline.saturating_duration_since(Instant::now());
            let timeout = step_timeout.min(remaining.max(Duration::from_millis(1)));
            let p = match prepare(req, scope, timeout) {
                Ok(p) => p,
                Err(e) => return expand_error(name, e),
            };
            report.method = Some(p.method.clone());
            report.url = Some(contract::redact::url(&p.url).into_owned());
            match send(&env.ctx.client, &p, env.replay_id).await {
                Ok(resp) => {
                    report.status = Some(resp.status);
                    // Captured first (no expectation of a step may use its own
                    // captures, `check` says so), so a secret-named capture
                    // is masked in this step's messages too.
                    let captured = super::capture::capture(&step.capture, &resp, scope);
                    env.ctx.learn(&scope.secrets());
                    match check_response(&step.expect, &resp, scope) {
                        Ok(c) => report.checks = c,
                        Err(e) => return expand_error(name, e),
                    }
                    report.checks.extend(captured);
                    if let Some(why) = journal_lost(&p.url, &resp, &report.checks) {
                        report.error = Some(why);
                        error = true;
                    }
                }
                Err(SendError::Timeout(t)) if t < step_timeout => {
                    report.error = Some(format!(
                        "the replay's timeout ran out while waiting for an answer (replay timeout {})",
                        crate::format::duration::format_duration(env.replay_timeout)
                    ));
                }
                Err(SendError::Timeout(t)) => {
                    report.error = Some(format!(
                        "no answer within the step timeout of {} (set [step.request] timeout or --step-timeout)",
                        crate::format::duration::format_duration(t)
                    ));
                }
                Err(e @ SendError::Unreachable { .. }) => {
                    report.error = Some(e.to_string());
                    error = true;
                }
                Err(e) => report.error = Some(e.to_string()),
            }
            request = Some(p);
        }
        if report.error.is_none() && !step.expect.counters.is_empty() {
            match counter_checks(env, &step.expect.counters, this_step, scope).await {
                Ok(c) => report.checks.extend(c),
                Err(e) => {
                    report.error = Some(e);
                    error = true;
                }
            }
        }
        let ok = report.ok();
        let next = Instant::now() + interval;
        if ok || step.poll.is_none() || next > poll_deadline {
            report.duration = started.elapsed();
            if !ok && step.poll.is_some() {
                let waited = crate::format::duration::format_duration(started.elapsed());
                let prefix = if poll_deadline >= env.deadline {
                    format!(
                        "the replay's timeout of {} ran out while polling ({attempts} attempts in {waited})",
                        crate::format::duration::format_duration(env.replay_timeout)
                    )
                } else {
                    format!("still failing after {attempts} attempts in {waited} of polling")
                };
                report.error = Some(match report.error.take() {
                    Some(e) => format!("{prefix}: {e}"),
                    None => prefix,
                });
            }
            if !ok && !error {
                report.because = step
                    .because
                    .as_ref()
                    .map(|b| expand_because(b.get_ref(), scope));
            }
            return StepRun {
                report,
                request,
                error: error && !ok,
            };
        }
        tokio::time::sleep(interval).await;
    }
}

/// A failing check on a scoped journal page that says entries of its scope
/// were lost is not a measured failure: ERROR naming the bound (a passing
/// one stays PASS, what it found is there).
fn journal_lost(url: &str, resp: &super::request::Response, checks: &[Check]) -> Option<String> {
    let path = url.split('?').next().unwrap_or(url);
    if !path.ends_with(&format!("{}/requests", contract::admin::ADMIN_PREFIX))
        || checks.iter().all(|c| c.ok)
    {
        return None;
    }
    let lost = resp.json.as_ref()?.get("lost")?;
    let message = lost
        .get("message")
        .and_then(|m| m.as_str())
        .unwrap_or("the stub says entries of this scope were lost");
    Some(format!("the journal page may miss entries, so its failing check is not a measured failure: {message}"))
}

/// The scopes a set of counter expectations reads (deduplicated); one
/// whose template cannot be expanded yet is left out.
pub(crate) fn scopes_of<'c>(
    counters: impl IntoIterator<Item = &'c CounterExpect>,
    scope: &Scope<'_>,
    replay_id: &str,
) -> Vec<(ScopeKind, String)> {
    let mut out = Vec::new();
    for ce in counters {
        if let Ok(CounterScope::One(k, v)) = CounterScope::of(ce, scope, replay_id) {
            if !out.contains(&(k, v.clone())) {
                out.push((k, v));
            }
        }
    }
    out
}

async fn counter_checks(
    env: &StepEnv<'_>,
    counters: &[toml::Spanned<CounterExpect>],
    this_step: &str,
    scope: &Scope<'_>,
) -> Result<Vec<Check>, String> {
    let stub = env
        .stub
        .ok_or("counter expectations need the stub (set CP_STUB_BASE or `stub = ...`)")?;
    let remaining = env.deadline.saturating_duration_since(Instant::now());
    let mut scopes = Vec::new();
    for c in counters {
        let ce = c.get_ref();
        match CounterScope::of(ce, scope, env.replay_id) {
            Ok(s) => scopes.push(s),
            Err(e) => return Err(format!("scope of counter {}: {e}", ce.counter.get_ref())),
        }
    }
    let wanted = scopes_of(counters.iter().map(|c| c.get_ref()), scope, env.replay_id);
    // One read for every scope of the step: the deltas are of one instant.
    let now = stub
        .counts(
            &wanted,
            env.ctx
                .step_timeout
                .min(remaining.max(Duration::from_millis(1))),
        )
        .await
        .map_err(|e| format!("cannot read the stub's counters: {e}"))?;
    let mut out = Vec::new();
    for (c, cscope) in counters.iter().zip(&scopes) {
        let ce = c.get_ref();
        let Ok(kind) = ce.counter.get_ref().parsed else {
            continue; // rejected by `check`
        };
        let since = ce
            .since
            .as_ref()
            .map_or(this_step, |s| s.get_ref().as_str());
        let mut label = format!("counter {} {}", ce.counter.get_ref(), signed(ce.delta));
        label.push_str(&cscope.label());
        if since != this_step {
            label.push_str(&format!(" since step `{since}`"));
        }
        let Some(base) = env.baselines.get(since) else {
            out.push(Check::fail(
                label,
                signed(ce.delta),
                format!("no baseline for step `{since}`"),
            ));
            continue;
        };
        if base.generation != now.generation {
            out.push(Check::fail(
                label,
                signed(ce.delta),
                format!(
                    "unknown: the stub was reset after the baseline (generation {} → {}); measure since a step after the reset",
                    base.generation, now.generation
                ),
            ));
            continue;
        }
        let (before, after) = match delta(base, &now, cscope, kind) {
            Ok(v) => v,
            Err(DeltaError::Reset(why)) => {
                out.push(Check::fail(label, signed(ce.delta), why));
                continue;
            }
            Err(DeltaError::Lost(why)) => return Err(format!("{label}: {why}")),
        };
        let because = ce.because.as_deref().map(|b| expand_because(b, scope));
        let delta =
            i64::try_from(after).unwrap_or(i64::MAX) - i64::try_from(before).unwrap_or(i64::MAX);
        if delta == ce.delta {
            out.push(Check::pass(label));
        } else {
            out.push(
                Check::fail(
                    label,
                    signed(ce.delta),
                    format!("{} ({before} → {after})", signed(delta)),
                )
                .with_because(because),
            );
        }
    }
    Ok(out)
}
