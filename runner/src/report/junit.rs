//! JUnit XML (one `<testsuite name="replays">`, one `<testcase>` per replay).
//! A shard's suite is `replays (shard K/N)`, so the N files of a sharded run
//! merge in a CI's test view without a step of ours: every CI that reads
//! JUnit takes several files.
//!
//! | outcome | JUnit |
//! |---|---|
//! | PASS | success |
//! | FAIL | `<failure>` with the failing checks and the failure bundle |
//! | ERROR | `<error>` |
//! | SKIP | `<skipped>` |
//! | XFAIL | `<skipped type="xfail">` (pytest does the same) |
//! | XPASS | `<failure type="xpass">` |
//!
//! Reference-only steps and checks skipped for want of tenant evidence
//! leave the testcase's result as it is (a replay whose other steps pass
//! is a success); they are counted in the property `evidence_skipped` of
//! the testcase and of the suite, and named with their reason in the
//! testcase's `<system-out>`.

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::text::{render_replay, Style};
use super::{Outcome, Summary};

/// `replays`, or `replays (shard K/N)`.
pub(crate) fn suite_name(summary: &Summary) -> String {
    match summary.shard {
        Some(s) => format!("replays (shard {}/{})", s.index, s.count),
        None => "replays".to_string(),
    }
}

/// Build the JUnit document.
pub fn to_junit(summary: &Summary) -> Result<String, quick_junit::SerializeError> {
    let mut report = Report::new("replays");
    let mut suite = TestSuite::new(suite_name(summary));
    for r in &summary.replays {
        let plain = render_replay(
            r,
            &Style {
                color: false,
                quiet: false,
            },
        );
        let status = match r.outcome {
            Outcome::Pass => TestCaseStatus::success(),
            Outcome::Fail | Outcome::Error | Outcome::Xpass => {
                let kind = if r.outcome == Outcome::Error {
                    NonSuccessKind::Error
                } else {
                    NonSuccessKind::Failure
                };
                let mut s = TestCaseStatus::non_success(kind);
                s.set_message(r.headline());
                s.set_type(r.outcome.label());
                s.set_description(plain.clone());
                s
            }
            Outcome::Skip | Outcome::Xfail => {
                let mut s = TestCaseStatus::skipped();
                s.set_message(r.reason.clone().unwrap_or_default());
                if r.outcome == Outcome::Xfail {
                    s.set_type("xfail");
                }
                s
            }
        };
        let mut case = TestCase::new(r.name.clone(), status);
        case.set_classname(r.file.display().to_string());
        case.set_time(r.duration);
        case.set_assertions(r.steps.iter().map(|s| s.checks.len()).sum());
        let notes = r.evidence_notes();
        let mut out = r.output.clone().unwrap_or_default();
        if !notes.is_empty() {
            case.add_property(("evidence_skipped", r.evidence_skipped.to_string().as_str()));
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
            for n in notes {
                out.push_str(&format!("evidence skipped: {n}\n"));
            }
        }
        if !out.is_empty() {
            case.set_system_out(out);
        }
        suite.add_test_case(case);
    }
    let (skipped, _) = summary.evidence_skipped();
    if skipped > 0 {
        suite.add_property(("evidence_skipped", skipped.to_string().as_str()));
    }
    suite.set_time(summary.duration);
    report.add_test_suite(suite);
    report.set_time(summary.duration);
    report.to_string()
}
