//! Running a legacy `*.sh` replay under bash.

use std::process::Stdio;
use std::time::Instant;

use crate::format::shell::{find_marker, Marker, ShellReplay};
use crate::format::Replay;
use crate::report::{Outcome, ReplayReport};

use super::ctx::{unix_ms, Ctx};
use super::execution::{finish, Execution};
use super::preflight::missing_vars;
use super::stub::StubClient;
use super::vars::Scope;

/// Run a shell replay to its report. Shell replays always run alone: the
/// runner cannot know what they touch.
pub(crate) async fn run_shell(
    ctx: &Ctx,
    r: &Replay,
    s: &ShellReplay,
    replay_id: String,
) -> ReplayReport {
    let mut report = ReplayReport::bare(&r.name, r.path.clone(), "sh", Outcome::Pass);
    let builtins = ctx.builtins(&r.name, &replay_id);
    let scope = Scope::new(&ctx.resolver, builtins.clone());
    let errors = missing_vars(&s.requires, &scope, &ctx.resolver);
    if !errors.is_empty() {
        report.outcome = Outcome::Error;
        report.errors = errors;
        return report;
    }
    let stub = match scope.get("CP_STUB_BASE").filter(|v| !v.is_empty()) {
        Some(base) if s.requires.contains("CP_STUB_BASE") => {
            let stub = StubClient::new(ctx.client.clone(), &base);
            if let Err(e) = ctx.check_stub(&stub, "CP_STUB_BASE").await {
                report.outcome = Outcome::Error;
                report.errors = vec![e];
                return report;
            }
            Some(stub)
        }
        _ => None,
    };

    let _guard = ctx.lock(r.exclusive()).await;
    let started = Instant::now();
    let mut exec = Execution {
        report,
        stub: stub.clone(),
        start_seq: None,
        started_ms: unix_ms(),
        failing: None,
        replay_id: replay_id.clone(),
        related: Vec::new(),
    };
    if let Some(st) = &stub {
        if let Ok(state) = st.state(ctx.step_timeout).await {
            exec.start_seq = Some(state.journal_seq);
        }
    }
    let timeout = ctx.replay_timeout;
    let mut cmd = tokio::process::Command::new("bash");
    cmd.arg("-c")
        .arg("bash \"$1\" 2>&1")
        .arg("replays")
        .arg(&r.path)
        .envs(ctx.resolver.exports())
        .envs(&builtins)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .kill_on_drop(true);
    let child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            exec.report.outcome = Outcome::Error;
            exec.report.errors = vec![format!("cannot start bash: {e} (is bash installed?)")];
            return finish(ctx, r, exec).await;
        }
    };
    let pid = child.id();
    match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(out)) => {
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            let code = out.status.code();
            exec.report.outcome = match (find_marker(&text), code) {
                (Some(Marker::Skip(reason)), _) => {
                    exec.report.reason = Some(reason);
                    Outcome::Skip
                }
                (Some(Marker::Xfail(reason)), _) => {
                    exec.report.reason = Some(reason);
                    Outcome::Xfail
                }
                (None, Some(0)) => Outcome::Pass,
                (None, code) => {
                    exec.report.reason = Some(match code {
                        Some(c) => format!("exit status {c}"),
                        None => "killed by a signal".to_string(),
                    });
                    exec.report.errors = vec![format!(
                        "{} {}",
                        r.path.display(),
                        exec.report.reason.as_deref().unwrap_or("")
                    )];
                    Outcome::Fail
                }
            };
            // The rule on each line (a `curl ...?token=` echoed by the
            // script); secret values are masked with the whole report.
            let shown: Vec<String> = text
                .lines()
                .map(|l| contract::redact::url(l).into_owned())
                .collect();
            exec.report.output =
                Some(shown.join("\n") + if text.ends_with('\n') { "\n" } else { "" });
        }
        Ok(Err(e)) => {
            exec.report.outcome = Outcome::Error;
            exec.report.errors = vec![format!("waiting for bash failed: {e}")];
        }
        Err(_) => {
            if let Some(pid) = pid {
                // Kill the whole process group (bash and whatever it started).
                let _ = std::process::Command::new("kill")
                    .arg("-KILL")
                    .arg(format!("-{pid}"))
                    .status();
            }
            exec.report.outcome = Outcome::Fail;
            exec.report.errors = vec![format!(
                "timed out after {} (the replay timeout; set --timeout)",
                crate::format::duration::format_duration(timeout)
            )];
        }
    }
    exec.report.duration = started.elapsed();
    finish(ctx, r, exec).await
}
