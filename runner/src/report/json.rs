//! The JSON report: the [`Summary`] with counts, as one document; a
//! shard's carries `shard: {index, count, selected}` (see
//! [`super::merge`] for putting the shards of a run back together).

use serde::{Deserialize, Serialize};

use super::{Counts, ReplayReport, Summary};
use crate::shard::ShardInfo;

/// The tool name every report carries.
pub(crate) const TOOL: &str = "replays";

#[derive(Serialize)]
struct Doc<'a> {
    tool: &'static str,
    version: &'static str,
    exit_code: i32,
    summary: Line,
    counts: Counts,
    duration_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    shard: Option<ShardInfo>,
    replays: &'a [ReplayReport],
}

/// The `summary` object: the summary line's numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Line {
    pub(crate) passed: usize,
    pub(crate) failed: usize,
    pub(crate) skipped: usize,
    pub(crate) total: usize,
    /// Reference-only steps and checks skipped (no tenant evidence).
    #[serde(default)]
    pub(crate) evidence_skipped: usize,
}

impl From<Counts> for Line {
    fn from(c: Counts) -> Line {
        Line {
            passed: c.passed(),
            failed: c.failed(),
            skipped: c.skipped(),
            total: c.total(),
            evidence_skipped: 0,
        }
    }
}

/// The JSON document, pretty-printed.
pub fn to_json(summary: &Summary) -> Result<String, serde_json::Error> {
    let c = summary.counts();
    serde_json::to_string_pretty(&Doc {
        tool: TOOL,
        version: env!("CARGO_PKG_VERSION"),
        exit_code: summary.exit_code(),
        summary: Line {
            evidence_skipped: summary.evidence_skipped().0,
            ..c.into()
        },
        counts: c,
        duration_ms: u64::try_from(summary.duration.as_millis()).unwrap_or(u64::MAX),
        shard: summary.shard,
        replays: &summary.replays,
    })
}
