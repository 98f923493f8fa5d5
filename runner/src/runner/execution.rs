//! The end of a replay execution: `xfail` applied, and the failure bundle
//! attached to a FAIL or ERROR.

use crate::format::Replay;
use crate::report::{Outcome, ReplayReport};

use super::bundle;
use super::ctx::Ctx;
use super::request::Prepared;
use super::stub::StubClient;

/// A replay execution in progress, for [`finish`].
#[derive(Debug)]
pub(crate) struct Execution {
    pub(crate) report: ReplayReport,
    pub(crate) stub: Option<StubClient>,
    pub(crate) start_seq: Option<u64>,
    pub(crate) started_ms: u64,
    pub(crate) failing: Option<Prepared>,
    pub(crate) replay_id: String,
    /// The replay's own variable values (workspace ids among them), for
    /// the bundle's journal on a busy stub.
    pub(crate) related: Vec<String>,
}

/// Apply `xfail`, and attach the failure bundle to failures.
pub(crate) async fn finish(ctx: &Ctx, r: &Replay, mut exec: Execution) -> ReplayReport {
    if let Some(reason) = &r.xfail {
        match exec.report.outcome {
            Outcome::Fail => {
                exec.report.outcome = Outcome::Xfail;
                exec.report.reason = Some(reason.clone());
            }
            Outcome::Pass => {
                exec.report.outcome = Outcome::Xpass;
                exec.report.reason = Some(format!(
                    "marked xfail ({reason}) but passed: the known failure is fixed, remove `xfail` from {}",
                    r.path.display()
                ));
            }
            _ => {}
        }
    }
    if matches!(exec.report.outcome, Outcome::Fail | Outcome::Error) {
        let rerun = ctx.rerun(&r.name);
        exec.report.bundle = Some(
            bundle::build(
                exec.stub.as_ref(),
                exec.start_seq,
                exec.started_ms,
                exec.failing.as_ref(),
                &exec.replay_id,
                &exec.related,
                rerun,
            )
            .await,
        );
    }
    exec.report
}
