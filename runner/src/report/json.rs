//! The JSON report: the [`Summary`] with counts, as one document.

use serde::Serialize;

use super::{Counts, ReplayReport, Summary};

#[derive(Serialize)]
struct Doc<'a> {
    tool: &'static str,
    version: &'static str,
    exit_code: i32,
    summary: Line,
    counts: Counts,
    duration_ms: u64,
    replays: &'a [ReplayReport],
}

#[derive(Serialize)]
struct Line {
    passed: usize,
    failed: usize,
    skipped: usize,
    total: usize,
    /// Reference-only steps and checks skipped (no tenant evidence).
    evidence_skipped: usize,
}

/// The JSON document, pretty-printed.
pub fn to_json(summary: &Summary) -> Result<String, serde_json::Error> {
    let c = summary.counts();
    serde_json::to_string_pretty(&Doc {
        tool: "replays",
        version: env!("CARGO_PKG_VERSION"),
        exit_code: summary.exit_code(),
        summary: Line {
            passed: c.passed(),
            failed: c.failed(),
            skipped: c.skipped(),
            total: c.total(),
            evidence_skipped: summary.evidence_skipped().0,
        },
        counts: c,
        duration_ms: u64::try_from(summary.duration.as_millis()).unwrap_or(u64::MAX),
        replays: &summary.replays,
    })
}
