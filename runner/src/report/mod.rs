//! Results of a run and the ways they are written: text on the terminal
//! ([`text`]), JUnit XML ([`junit`]) and JSON ([`json`]); the JSON reports
//! of a run's shards put back together ([`merge`]).

pub(crate) mod json;
pub(crate) mod junit;
pub(crate) mod merge;
pub(crate) mod text;

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

/// The result of one replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Outcome {
    /// Every expectation held.
    Pass,
    /// An expectation did not hold.
    Fail,
    /// The replay could not run properly (missing variable, unreachable or stale stub, ...).
    Error,
    /// Not run (`skip = "..."`, a `__SKIP__` marker, or `--fail-fast`).
    Skip,
    /// Failed, as its `xfail` says it will. Not a pass.
    Xfail,
    /// Passed although marked `xfail`: the known drift is fixed, so the
    /// mark must go. Fails the run.
    Xpass,
}

impl Outcome {
    /// Upper-case label.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Pass => "PASS",
            Outcome::Fail => "FAIL",
            Outcome::Error => "ERROR",
            Outcome::Skip => "SKIP",
            Outcome::Xfail => "XFAIL",
            Outcome::Xpass => "XPASS",
        }
    }

    /// Whether it fails the run.
    pub fn is_failure(self) -> bool {
        matches!(self, Outcome::Fail | Outcome::Error | Outcome::Xpass)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// The report files `--report-dir DIR` writes: `DIR/junit.xml` and
/// `DIR/replays.json`, or for shard K/N `DIR/junit-shard-K-of-N.xml` and
/// `DIR/replays-shard-K-of-N.json` — distinct, so the shards of one run can
/// share a folder (or an artifact upload) without overwriting each other.
pub fn report_dir_files(
    dir: &std::path::Path,
    shard: Option<crate::shard::Shard>,
) -> (PathBuf, PathBuf) {
    let suffix = shard.map_or(String::new(), |s| format!("-{}", s.slug()));
    (
        dir.join(format!("junit{suffix}.xml")),
        dir.join(format!("replays{suffix}.json")),
    )
}

/// One checked expectation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    /// Whether it held.
    pub ok: bool,
    /// What was checked, e.g. `status is 201`.
    pub label: String,
    /// Expected value, when it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    /// Actual value, when it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
    /// More lines: violations, a shape diff, the body.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
    /// The expectation's `because` text, when it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub because: Option<String>,
    /// Why a reference-only (`evidence = true`) assertion was not checked:
    /// its tenant has no evidence. A skipped check does not fail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

impl Check {
    /// A check that held.
    pub(crate) fn pass(label: impl Into<String>) -> Check {
        Check {
            ok: true,
            label: label.into(),
            expected: None,
            actual: None,
            details: Vec::new(),
            because: None,
            skipped: None,
        }
    }

    /// A reference-only check not made, and why.
    pub(crate) fn skipped(label: impl Into<String>, reason: impl Into<String>) -> Check {
        Check {
            skipped: Some(reason.into()),
            ..Check::pass(label)
        }
    }

    /// A check that did not hold.
    pub(crate) fn fail(
        label: impl Into<String>,
        expected: impl Into<String>,
        actual: impl Into<String>,
    ) -> Check {
        Check {
            ok: false,
            label: label.into(),
            expected: Some(expected.into()),
            actual: Some(actual.into()),
            details: Vec::new(),
            because: None,
            skipped: None,
        }
    }

    /// Add detail lines.
    pub(crate) fn with_details(mut self, details: Vec<String>) -> Check {
        self.details = details;
        self
    }

    /// Attach a `because` text (kept only on a failed check).
    pub(crate) fn with_because(mut self, because: Option<String>) -> Check {
        if !self.ok {
            self.because = because;
        }
        self
    }
}

/// One executed step.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StepReport {
    /// Step name.
    pub name: String,
    /// Method, when the step sent a request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// URL, when the step sent a request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Status of the last answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Time of the step, all attempts included.
    #[serde(serialize_with = "ser_ms", rename = "duration_ms")]
    pub duration: Duration,
    /// Attempts (more than 1 when polling).
    pub attempts: u32,
    /// Checks of the last attempt.
    pub checks: Vec<Check>,
    /// Why the step could not complete (no answer, timeout).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The step's `because` text, when it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub because: Option<String>,
    /// Why the step was not run: it is reference-only (`evidence`) and its
    /// tenant has no evidence, or it uses what such a step would have
    /// captured. A skipped step does not fail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

impl StepReport {
    /// Whether every check held and nothing went wrong.
    pub fn ok(&self) -> bool {
        self.error.is_none() && self.checks.iter().all(|c| c.ok)
    }

    /// Reference-only parts not checked: 1 for a skipped step, else its
    /// skipped checks.
    pub fn evidence_skipped(&self) -> usize {
        if self.skipped.is_some() {
            1
        } else {
            self.checks.iter().filter(|c| c.skipped.is_some()).count()
        }
    }
}

/// What is printed and attached when a replay fails.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Bundle {
    /// A `curl` command that sends the failing request again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub curl: Option<String>,
    /// A command that runs the replay again on its own.
    pub rerun: String,
    /// The stub's journal entries of the replay's time window, one per line.
    pub journal: Vec<String>,
    /// Why the journal is missing or cut, if it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub journal_note: Option<String>,
}

/// The result of one replay.
#[derive(Debug, Clone, Serialize)]
pub struct ReplayReport {
    /// Replay name.
    pub name: String,
    /// Its file.
    pub file: PathBuf,
    /// `toml` or `sh`.
    pub kind: &'static str,
    /// The result.
    pub outcome: Outcome,
    /// Skip / xfail reason, or the summary of the failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Error messages (preflight and the like), one per line.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    /// Steps run.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<StepReport>,
    /// Output of a shell replay.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// Failure bundle.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bundle: Option<Bundle>,
    /// Reference-only steps and checks skipped because their tenant has no
    /// evidence ([`StepReport::evidence_skipped`] summed).
    pub evidence_skipped: usize,
    /// Wall time.
    #[serde(serialize_with = "ser_ms", rename = "duration_ms")]
    pub duration: Duration,
}

impl ReplayReport {
    /// A report with no steps.
    pub fn bare(name: &str, file: PathBuf, kind: &'static str, outcome: Outcome) -> ReplayReport {
        ReplayReport {
            name: name.to_string(),
            file,
            kind,
            outcome,
            reason: None,
            errors: Vec::new(),
            steps: Vec::new(),
            output: None,
            bundle: None,
            evidence_skipped: 0,
            duration: Duration::ZERO,
        }
    }

    /// Lines naming each skipped reference-only step and check with its reason.
    pub(crate) fn evidence_notes(&self) -> Vec<String> {
        let mut out = Vec::new();
        for s in &self.steps {
            if let Some(r) = &s.skipped {
                out.push(format!("step `{}` skipped: {r}", s.name));
                continue;
            }
            for c in &s.checks {
                if let Some(r) = &c.skipped {
                    out.push(format!("step `{}`: {} skipped: {r}", s.name, c.label));
                }
            }
        }
        out
    }

    /// The first failing check or error, in one line.
    pub(crate) fn headline(&self) -> String {
        if let Some(e) = self.errors.first() {
            return e.clone();
        }
        for s in &self.steps {
            let because = |line: String, check: Option<&Check>| match check
                .and_then(|c| c.because.as_ref())
                .or(s.because.as_ref())
            {
                Some(b) => format!("{line} — because: {b}"),
                None => line,
            };
            if let Some(e) = &s.error {
                return because(format!("step `{}`: {e}", s.name), None);
            }
            if let Some(c) = s.checks.iter().find(|c| !c.ok) {
                let mut line = format!("step `{}`: {}", s.name, c.label);
                if let (Some(e), Some(a)) = (&c.expected, &c.actual) {
                    line.push_str(&format!(" (expected {e}, actual {a})"));
                }
                return because(line, Some(c));
            }
        }
        self.reason
            .clone()
            .unwrap_or_else(|| self.outcome.label().to_string())
    }
}

fn ser_ms<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Counts per outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Counts {
    /// PASS.
    pub pass: usize,
    /// FAIL.
    pub fail: usize,
    /// ERROR.
    pub error: usize,
    /// SKIP.
    pub skip: usize,
    /// XFAIL.
    pub xfail: usize,
    /// XPASS.
    pub xpass: usize,
}

impl Counts {
    /// Replays counted.
    pub fn total(&self) -> usize {
        self.pass + self.fail + self.error + self.skip + self.xfail + self.xpass
    }
    /// "passed" of the summary line: PASS.
    pub fn passed(&self) -> usize {
        self.pass
    }
    /// "failed" of the summary line: FAIL + ERROR + XPASS.
    pub fn failed(&self) -> usize {
        self.fail + self.error + self.xpass
    }
    /// "skipped" of the summary line: SKIP + XFAIL (neither passed nor failed).
    pub fn skipped(&self) -> usize {
        self.skip + self.xfail
    }
}

/// Everything a run produced.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// One report per replay, in file order.
    pub replays: Vec<ReplayReport>,
    /// Wall time of the whole run.
    #[serde(serialize_with = "ser_ms", rename = "duration_ms")]
    pub duration: Duration,
    /// The run's shard, when it ran one (`--shard K/N`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<crate::shard::ShardInfo>,
}

impl Summary {
    /// Counts per outcome.
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for r in &self.replays {
            match r.outcome {
                Outcome::Pass => c.pass += 1,
                Outcome::Fail => c.fail += 1,
                Outcome::Error => c.error += 1,
                Outcome::Skip => c.skip += 1,
                Outcome::Xfail => c.xfail += 1,
                Outcome::Xpass => c.xpass += 1,
            }
        }
        c
    }

    /// Reference-only steps and checks skipped in the run (their tenant has
    /// no evidence), and in how many replays.
    pub fn evidence_skipped(&self) -> (usize, usize) {
        let n = self.replays.iter().map(|r| r.evidence_skipped).sum();
        let replays = self
            .replays
            .iter()
            .filter(|r| r.evidence_skipped > 0)
            .count();
        (n, replays)
    }

    /// `Evidence skipped: …`, when anything was.
    pub(crate) fn evidence_line(&self) -> Option<String> {
        let (n, replays) = self.evidence_skipped();
        (n > 0).then(|| {
            format!(
                "Evidence skipped: {n} reference-only step(s) and check(s) in {replays} replay(s): their tenant has no evidence (GET {} answered 404: an opaque tenant)",
                crate::format::evidence::EVIDENCE_PROBE
            )
        })
    }

    /// 0 when nothing failed, 1 on any FAIL, ERROR or XPASS.
    pub fn exit_code(&self) -> i32 {
        i32::from(self.replays.iter().any(|r| r.outcome.is_failure()))
    }

    /// `Replay summary: P passed, F failed, S skipped (of N total)`.
    pub(crate) fn summary_line(&self) -> String {
        let c = self.counts();
        format!(
            "Replay summary: {} passed, {} failed, {} skipped (of {} total)",
            c.passed(),
            c.failed(),
            c.skipped(),
            c.total()
        )
    }

    /// The per-kind breakdown line.
    pub(crate) fn breakdown_line(&self) -> String {
        let c = self.counts();
        format!(
            "Results: {} PASS, {} FAIL, {} ERROR, {} SKIP, {} XFAIL, {} XPASS",
            c.pass, c.fail, c.error, c.skip, c.xfail, c.xpass
        )
    }

    /// The plain `N passed, N failed, N skipped` line CI tools read.
    pub(crate) fn plain_line(&self) -> String {
        let c = self.counts();
        format!(
            "{} passed, {} failed, {} skipped",
            c.passed(),
            c.failed(),
            c.skipped()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(outcomes: &[Outcome]) -> Summary {
        Summary {
            replays: outcomes
                .iter()
                .map(|o| ReplayReport::bare("r", "r.toml".into(), "toml", *o))
                .collect(),
            duration: Duration::ZERO,
            shard: None,
        }
    }

    #[test]
    fn headline_carries_the_because() {
        let mut r = ReplayReport::bare("r", "r.toml".into(), "toml", Outcome::Fail);
        r.steps.push(StepReport {
            name: "reached".into(),
            checks: vec![Check::fail("counter provision_calls +1", "+1", "0")
                .with_because(Some("provision never reached the stub (D4)".into()))],
            because: Some("step text".into()),
            ..StepReport::default()
        });
        assert_eq!(
            r.headline(),
            "step `reached`: counter provision_calls +1 (expected +1, actual 0) — because: provision never reached the stub (D4)"
        );
        r.steps[0].checks[0].because = None;
        assert!(r.headline().ends_with("— because: step text"));
        // A check that held keeps no because.
        assert!(Check::pass("ok")
            .with_because(Some("x".into()))
            .because
            .is_none());
    }

    #[test]
    fn xfail_is_not_a_pass_and_xpass_fails() {
        let s = summary(&[Outcome::Pass, Outcome::Xfail, Outcome::Skip]);
        assert_eq!(
            s.summary_line(),
            "Replay summary: 1 passed, 0 failed, 2 skipped (of 3 total)"
        );
        assert_eq!(s.exit_code(), 0);
        let s = summary(&[Outcome::Pass, Outcome::Xpass]);
        assert_eq!(s.exit_code(), 1);
        assert_eq!(s.plain_line(), "1 passed, 1 failed, 0 skipped");
        let s = summary(&[Outcome::Error]);
        assert_eq!(s.exit_code(), 1);
        assert_eq!(
            s.breakdown_line(),
            "Results: 0 PASS, 0 FAIL, 1 ERROR, 0 SKIP, 0 XFAIL, 0 XPASS"
        );
    }
}
