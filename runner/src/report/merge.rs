//! `replays report merge`: the JSON reports of the N shards of one run
//! (`--shard K/N`) as one document.
//!
//! The inputs must be the shards 1..N of the same N, each once, all of
//! the same selection (`shard.selected`), with no replay in two of them
//! (a replay in two shards means they were cut differently). The result
//! has the JSON report's shape: `counts` and `summary` summed, `exit_code`
//! 1 when any shard failed, `duration_ms` the longest shard's (they ran at
//! once), `replays` in shard order, and `shards: [{index, count, selected,
//! file, exit_code, total, duration_ms}]` in place of `shard`.
//!
//! JUnit needs no merge: each shard's file has its own suite
//! (`replays (shard K/N)`), and CI systems read several files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::json::{Line, TOOL};
use super::Counts;
use crate::shard::ShardInfo;

/// Why reports do not merge (exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// No file given.
    #[error("no report to merge: pass the JSON report of every shard (replays run --shard K/N --json F)")]
    NoInput,
    /// A file is not a JSON report of this tool.
    #[error("{path}: not a replays JSON report ({reason})")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A report of an unsharded run.
    #[error("{path}: not a shard's report (no `shard`): write each shard's with replays run --shard K/N --json F")]
    NotSharded {
        /// The file.
        path: PathBuf,
    },
    /// Shards of different N.
    #[error("{path} is shard {index}/{count} but {first} is of {first_count} shards: merge the shards of one run")]
    CountMismatch {
        /// The file.
        path: PathBuf,
        /// Its K.
        index: u32,
        /// Its N.
        count: u32,
        /// The first file.
        first: PathBuf,
        /// The first file's N.
        first_count: u32,
    },
    /// Shards of different selections (another filter, the gate's leave-out).
    #[error("{path} sharded {selected} selected replays but {first} sharded {first_selected}: the shards ran with different --filter / --dir / --opaque-tenants")]
    SelectionMismatch {
        /// The file.
        path: PathBuf,
        /// Its `selected`.
        selected: usize,
        /// The first file.
        first: PathBuf,
        /// The first file's `selected`.
        first_selected: usize,
    },
    /// The same shard twice.
    #[error("shard {index}/{count} twice: {first} and {second}")]
    Duplicate {
        /// K.
        index: u32,
        /// N.
        count: u32,
        /// One file.
        first: PathBuf,
        /// The other.
        second: PathBuf,
    },
    /// Shards absent.
    #[error("shard(s) {} of {count} missing: pass every shard's report (a failed CI job may not have uploaded one)", join(missing))]
    Missing {
        /// The K of each absent shard.
        missing: Vec<u32>,
        /// N.
        count: u32,
    },
    /// One replay in two shards.
    #[error("replay `{name}` is in {first} and in {second}: the shards were cut differently (another tool version or replay folder?)")]
    DuplicateReplay {
        /// The replay.
        name: String,
        /// One file.
        first: PathBuf,
        /// The other.
        second: PathBuf,
    },
}

fn join(ks: &[u32]) -> String {
    ks.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
}

/// What `merge_json` reads of each report.
#[derive(Deserialize)]
struct Input {
    tool: String,
    exit_code: i32,
    counts: Counts,
    duration_ms: u64,
    #[serde(default)]
    shard: Option<ShardInfo>,
    #[serde(default)]
    summary: Option<Line>,
    replays: Vec<Value>,
}

#[derive(Serialize)]
struct ShardEntry {
    index: u32,
    count: u32,
    selected: usize,
    file: String,
    exit_code: i32,
    total: usize,
    duration_ms: u64,
}

#[derive(Serialize)]
struct Merged<'a> {
    tool: &'static str,
    version: &'static str,
    exit_code: i32,
    summary: Line,
    counts: Counts,
    duration_ms: u64,
    shards: Vec<ShardEntry>,
    replays: Vec<&'a Value>,
}

/// The merged report.
#[derive(Debug, Clone)]
pub struct MergedReport {
    /// The JSON document, pretty-printed.
    pub json: String,
    /// 1 when any shard failed, else 0.
    pub exit_code: i32,
    /// Summed counts.
    pub counts: Counts,
    /// N.
    pub shards: u32,
}

/// Merge the JSON reports of every shard of one run: `(file, its text)`.
pub fn merge_json(inputs: &[(PathBuf, String)]) -> Result<MergedReport, MergeError> {
    if inputs.is_empty() {
        return Err(MergeError::NoInput);
    }
    let mut parsed: Vec<(&Path, ShardInfo, Input)> = Vec::new();
    for (path, text) in inputs {
        let input: Input = serde_json::from_str(text).map_err(|e| MergeError::Parse {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        if input.tool != TOOL {
            return Err(MergeError::Parse {
                path: path.clone(),
                reason: format!("`tool` is `{}`, not `{TOOL}`", input.tool),
            });
        }
        let shard = input
            .shard
            .ok_or_else(|| MergeError::NotSharded { path: path.clone() })?;
        shard.shard().map_err(|e| MergeError::Parse {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        parsed.push((path, shard, input));
    }
    let (first, first_shard, _) = &parsed[0];
    let count = first_shard.count;
    let mut by_index: BTreeMap<u32, usize> = BTreeMap::new();
    for (i, (path, s, _)) in parsed.iter().enumerate() {
        if s.count != count {
            return Err(MergeError::CountMismatch {
                path: path.to_path_buf(),
                index: s.index,
                count: s.count,
                first: first.to_path_buf(),
                first_count: count,
            });
        }
        if s.selected != first_shard.selected {
            return Err(MergeError::SelectionMismatch {
                path: path.to_path_buf(),
                selected: s.selected,
                first: first.to_path_buf(),
                first_selected: first_shard.selected,
            });
        }
        if let Some(j) = by_index.insert(s.index, i) {
            return Err(MergeError::Duplicate {
                index: s.index,
                count,
                first: parsed[j].0.to_path_buf(),
                second: path.to_path_buf(),
            });
        }
    }
    let missing: Vec<u32> = (1..=count).filter(|k| !by_index.contains_key(k)).collect();
    if !missing.is_empty() {
        return Err(MergeError::Missing { missing, count });
    }
    // In shard order from here on.
    let ordered: Vec<&(&Path, ShardInfo, Input)> = by_index.values().map(|i| &parsed[*i]).collect();
    let mut seen: BTreeMap<&str, &Path> = BTreeMap::new();
    let mut counts = Counts::default();
    let mut exit_code = 0;
    let mut duration_ms = 0;
    let mut evidence_skipped = 0;
    let mut shards = Vec::new();
    let mut replays = Vec::new();
    for (path, s, input) in ordered {
        for r in &input.replays {
            // The gate's own `gate:stack` / `gate:seed` entries repeat per shard.
            let gate_entry = r.get("kind").and_then(Value::as_str) == Some("gate");
            if let (false, Some(name)) = (gate_entry, r.get("name").and_then(Value::as_str)) {
                if let Some(other) = seen.insert(name, path) {
                    return Err(MergeError::DuplicateReplay {
                        name: name.to_string(),
                        first: other.to_path_buf(),
                        second: path.to_path_buf(),
                    });
                }
            }
            replays.push(r);
        }
        evidence_skipped += input.summary.map_or(0, |l| l.evidence_skipped);
        let c = input.counts;
        counts.pass += c.pass;
        counts.fail += c.fail;
        counts.error += c.error;
        counts.skip += c.skip;
        counts.xfail += c.xfail;
        counts.xpass += c.xpass;
        if input.exit_code != 0 || c.failed() > 0 {
            exit_code = 1;
        }
        duration_ms = duration_ms.max(input.duration_ms);
        shards.push(ShardEntry {
            index: s.index,
            count: s.count,
            selected: s.selected,
            file: path.display().to_string(),
            exit_code: input.exit_code,
            total: c.total(),
            duration_ms: input.duration_ms,
        });
    }
    let json = serde_json::to_string_pretty(&Merged {
        tool: TOOL,
        version: env!("CARGO_PKG_VERSION"),
        exit_code,
        summary: Line {
            evidence_skipped,
            ..counts.into()
        },
        counts,
        duration_ms,
        shards,
        replays,
    })
    .map_err(|e| MergeError::Parse {
        path: PathBuf::from("(merged)"),
        reason: e.to_string(),
    })?;
    Ok(MergedReport {
        json,
        exit_code,
        counts,
        shards: count,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::report::json::to_json;
    use crate::report::{Outcome, ReplayReport, Summary};

    /// A shard's report as `to_json` writes it.
    fn report(index: u32, count: u32, selected: usize, replays: &[(&str, Outcome)]) -> String {
        to_json(&Summary {
            replays: replays
                .iter()
                .map(|(n, o)| ReplayReport::bare(n, format!("{n}.toml").into(), "toml", *o))
                .collect(),
            duration: std::time::Duration::from_millis(u64::from(index) * 10),
            shard: Some(ShardInfo {
                index,
                count,
                selected,
            }),
        })
        .unwrap()
    }

    fn files(reports: Vec<String>) -> Vec<(PathBuf, String)> {
        reports
            .into_iter()
            .enumerate()
            .map(|(i, r)| (PathBuf::from(format!("s{}.json", i + 1)), r))
            .collect()
    }

    #[test]
    fn merges_every_shard_in_order() {
        let m = merge_json(&files(vec![
            report(2, 3, 4, &[("b", Outcome::Fail)]),
            report(1, 3, 4, &[("a", Outcome::Pass), ("c", Outcome::Xfail)]),
            report(3, 3, 4, &[("d", Outcome::Pass)]),
        ]))
        .unwrap();
        assert_eq!(m.exit_code, 1);
        assert_eq!((m.counts.pass, m.counts.fail, m.counts.xfail), (2, 1, 1));
        let v: Value = serde_json::from_str(&m.json).unwrap();
        assert_eq!(v["summary"]["total"], 4);
        assert_eq!(v["summary"]["failed"], 1);
        assert_eq!(v["summary"]["skipped"], 1);
        assert_eq!(v["exit_code"], 1);
        assert_eq!(v["duration_ms"], 30);
        let names: Vec<&str> = v["replays"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["a", "c", "b", "d"]);
        assert_eq!(v["shards"][1]["file"], "s1.json");
        assert_eq!(v["shards"][1]["exit_code"], 1);
        assert!(v.get("shard").is_none());
        // All green: exit 0; an empty shard merges too.
        let m = merge_json(&files(vec![
            report(1, 2, 1, &[("a", Outcome::Pass)]),
            report(2, 2, 1, &[]),
        ]))
        .unwrap();
        assert_eq!((m.exit_code, m.counts.total(), m.shards), (0, 1, 2));
    }

    #[test]
    fn sums_the_skipped_evidence_of_the_shards() {
        let with_evidence = |index: u32, skipped: usize| {
            let mut r =
                ReplayReport::bare(&format!("r{index}"), "r.toml".into(), "toml", Outcome::Pass);
            r.evidence_skipped = skipped;
            to_json(&Summary {
                replays: vec![r],
                duration: std::time::Duration::ZERO,
                shard: Some(ShardInfo {
                    index,
                    count: 2,
                    selected: 2,
                }),
            })
            .unwrap()
        };
        let m = merge_json(&files(vec![with_evidence(1, 3), with_evidence(2, 4)])).unwrap();
        let v: Value = serde_json::from_str(&m.json).unwrap();
        assert_eq!(v["summary"]["evidence_skipped"], 7);
        assert_eq!(v["replays"][1]["evidence_skipped"], 4);
    }

    #[test]
    fn refuses_what_is_not_one_run() {
        let dup = merge_json(&files(vec![
            report(1, 2, 2, &[("a", Outcome::Pass)]),
            report(1, 2, 2, &[("a", Outcome::Pass)]),
        ]))
        .unwrap_err();
        assert_eq!(dup.to_string(), "shard 1/2 twice: s1.json and s2.json");
        let missing =
            merge_json(&files(vec![report(2, 4, 3, &[("a", Outcome::Pass)])])).unwrap_err();
        assert_eq!(
            missing.to_string(),
            "shard(s) 1, 3, 4 of 4 missing: pass every shard's report (a failed CI job may not have uploaded one)"
        );
        let n = merge_json(&files(vec![
            report(1, 2, 2, &[("a", Outcome::Pass)]),
            report(2, 3, 2, &[("b", Outcome::Pass)]),
        ]))
        .unwrap_err();
        assert_eq!(
            n.to_string(),
            "s2.json is shard 2/3 but s1.json is of 2 shards: merge the shards of one run"
        );
        let sel = merge_json(&files(vec![
            report(1, 2, 2, &[("a", Outcome::Pass)]),
            report(2, 2, 5, &[("b", Outcome::Pass)]),
        ]))
        .unwrap_err();
        assert!(matches!(sel, MergeError::SelectionMismatch { .. }), "{sel}");
        let twice = merge_json(&files(vec![
            report(1, 2, 2, &[("a", Outcome::Pass)]),
            report(2, 2, 2, &[("a", Outcome::Pass)]),
        ]))
        .unwrap_err();
        assert!(
            twice
                .to_string()
                .starts_with("replay `a` is in s1.json and in s2.json"),
            "{twice}"
        );
        let plain = to_json(&Summary::default()).unwrap();
        let e = merge_json(&files(vec![plain])).unwrap_err();
        assert!(matches!(e, MergeError::NotSharded { .. }), "{e}");
        let e = merge_json(&files(vec!["{}".into()])).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("s1.json: not a replays JSON report (missing field"),
            "{e}"
        );
        assert!(matches!(merge_json(&[]), Err(MergeError::NoInput)));
    }

    #[test]
    fn the_gate_entries_of_failed_shards_are_not_duplicates() {
        let gate = |index| {
            to_json(&Summary {
                replays: vec![ReplayReport::bare(
                    "gate:stack",
                    "replays gate --stack compose".into(),
                    "gate",
                    Outcome::Error,
                )],
                duration: std::time::Duration::ZERO,
                shard: Some(ShardInfo {
                    index,
                    count: 2,
                    selected: 3,
                }),
            })
            .unwrap()
        };
        let m = merge_json(&files(vec![gate(1), gate(2)])).unwrap();
        assert_eq!((m.exit_code, m.counts.error), (1, 2));
    }
}
