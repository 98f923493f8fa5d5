//! Sharding: `--shard K/N` runs the K-th of N disjoint parts of the
//! selected replays, so a CI matrix of N jobs runs the suite once.
//!
//! A replay's shard depends on its `name` alone: **FNV-1a 64** of the name's
//! UTF-8 bytes (offset basis `0xcbf29ce484222325`, prime `0x100000001b3`),
//! xor-folded (`h ^ (h >> 32)`: FNV's low bits depend only on the bytes' low
//! bits, so `h % 2` alone would be the parity of the odd bytes), and the
//! replay is in shard K when `folded % N == K - 1`. The algorithm is
//! fixed (no per-process keys, nothing from the build), so every machine
//! and every version of this tool puts a replay in the same shard, and a
//! replay keeps its shard when others are added, filtered out or left out.
//! It is applied after `--filter` (and the gate's opaque-tenant leave-out).
//!
//! A shard can be empty (more shards than replays): that is a PASS, with a
//! line saying it selected 0 of M replays, and valid empty reports.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::format::Replay;

/// FNV-1a 64 offset basis.
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
/// FNV-1a 64 prime.
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a 64 of `bytes`.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(FNV_OFFSET, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(FNV_PRIME)
    })
}

/// The stable hash shards are cut by: FNV-1a 64 of the name, xor-folded.
pub fn shard_hash(name: &str) -> u64 {
    let h = fnv1a64(name.as_bytes());
    h ^ (h >> 32)
}

/// One shard: the `index`-th (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shard {
    index: u32,
    count: u32,
}

/// Why a `--shard` value is not a shard.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    /// Not `K/N`.
    #[error("`{0}` is not a shard: write K/N with 1 <= K <= N, e.g. 2/4")]
    Syntax(String),
    /// N is 0.
    #[error("shard {0}/0: the shard count N must be at least 1 (K/N, e.g. 1/1)")]
    NoShards(u32),
    /// K is 0 or above N.
    #[error("shard {index}/{count}: K must be between 1 and {count} (shards are numbered from 1)")]
    OutOfRange {
        /// K.
        index: u32,
        /// N.
        count: u32,
    },
}

impl Shard {
    /// The `index`-th (1-based) of `count` shards.
    pub fn new(index: u32, count: u32) -> Result<Shard, ShardError> {
        if count == 0 {
            return Err(ShardError::NoShards(index));
        }
        if index == 0 || index > count {
            return Err(ShardError::OutOfRange { index, count });
        }
        Ok(Shard { index, count })
    }

    /// K, 1-based.
    pub fn index(self) -> u32 {
        self.index
    }

    /// N.
    pub fn count(self) -> u32 {
        self.count
    }

    /// The shard (1-based) a replay named `name` falls in, of `count`.
    pub fn of(name: &str, count: u32) -> u32 {
        let n = u64::from(count.max(1));
        // The remainder is below `count`, a u32.
        u32::try_from(shard_hash(name) % n).unwrap_or(0) + 1
    }

    /// Whether a replay named `name` is in this shard.
    pub fn contains(self, name: &str) -> bool {
        Shard::of(name, self.count) == self.index
    }

    /// `shard-K-of-N`: for file and project names that differ per shard.
    pub fn slug(self) -> String {
        format!("shard-{}-of-{}", self.index, self.count)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = ShardError;
    fn from_str(s: &str) -> Result<Shard, ShardError> {
        let syntax = || ShardError::Syntax(s.to_string());
        let (k, n) = s.trim().split_once('/').ok_or_else(syntax)?;
        let k: u32 = k.trim().parse().map_err(|_| syntax())?;
        let n: u32 = n.trim().parse().map_err(|_| syntax())?;
        Shard::new(k, n)
    }
}

/// Where a run's shard came from, as the reports carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardInfo {
    /// K, 1-based.
    pub index: u32,
    /// N.
    pub count: u32,
    /// The replays selected before sharding (by `--filter`, and the
    /// gate's leave-out): every shard of one suite agrees on it.
    pub selected: usize,
}

impl ShardInfo {
    /// The shard.
    pub fn shard(&self) -> Result<Shard, ShardError> {
        Shard::new(self.index, self.count)
    }
}

/// The replays a run runs: the selected ones, cut to its shard.
#[derive(Debug, Clone)]
pub struct Selection {
    /// In file order.
    pub replays: Vec<Replay>,
    /// The shard, when the run is sharded.
    pub shard: Option<ShardInfo>,
}

impl Selection {
    /// Keep the replays of `shard` (all of them when `None`).
    pub fn new(selected: Vec<Replay>, shard: Option<Shard>) -> Selection {
        match shard {
            None => Selection {
                replays: selected,
                shard: None,
            },
            Some(s) => {
                let total = selected.len();
                Selection {
                    replays: selected
                        .into_iter()
                        .filter(|r| s.contains(&r.name))
                        .collect(),
                    shard: Some(ShardInfo {
                        index: s.index,
                        count: s.count,
                        selected: total,
                    }),
                }
            }
        }
    }

    /// `Shard 2/4: 3 of 10 replays (…)`, when sharded.
    pub fn note(&self) -> Option<String> {
        let s = self.shard?;
        let n = self.replays.len();
        Some(if n == 0 {
            format!(
                "Shard {}/{}: selected 0 of {} replays (by a hash of the name, mod {}): nothing to run in this shard, a PASS",
                s.index, s.count, s.selected, s.count
            )
        } else {
            format!(
                "Shard {}/{}: {} of {} replays (by a hash of the name, mod {})",
                s.index, s.count, n, s.selected, s.count
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a64_known_vectors() {
        // The reference values of the FNV specification.
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
        assert_eq!(shard_hash("a"), 0xaf63_dc4c_2962_30c0);
    }

    #[test]
    fn parses_and_names_bad_values() {
        assert_eq!("2/4".parse::<Shard>(), Ok(Shard { index: 2, count: 4 }));
        assert_eq!(
            " 1 / 1 ".parse::<Shard>().map(|s| s.to_string()),
            Ok("1/1".into())
        );
        for (bad, text) in [
            (
                "0/3",
                "shard 0/3: K must be between 1 and 3 (shards are numbered from 1)",
            ),
            (
                "4/3",
                "shard 4/3: K must be between 1 and 3 (shards are numbered from 1)",
            ),
            (
                "1/0",
                "shard 1/0: the shard count N must be at least 1 (K/N, e.g. 1/1)",
            ),
            (
                "x/y",
                "`x/y` is not a shard: write K/N with 1 <= K <= N, e.g. 2/4",
            ),
            (
                "3",
                "`3` is not a shard: write K/N with 1 <= K <= N, e.g. 2/4",
            ),
            (
                "-1/3",
                "`-1/3` is not a shard: write K/N with 1 <= K <= N, e.g. 2/4",
            ),
        ] {
            assert_eq!(bad.parse::<Shard>().unwrap_err().to_string(), text, "{bad}");
        }
        assert_eq!(Shard { index: 2, count: 4 }.slug(), "shard-2-of-4");
    }

    #[test]
    fn every_name_is_in_exactly_one_shard() {
        let names: Vec<String> = (0..200).map(|i| format!("replay-{i}")).collect();
        for n in 1..=7 {
            for name in &names {
                let hits = (1..=n)
                    .filter(|k| Shard::new(*k, n).unwrap().contains(name))
                    .count();
                assert_eq!(hits, 1, "{name} in {hits} of {n} shards");
            }
        }
        // 200 names over 4 shards: none empty (the hash spreads).
        for k in 1..=4 {
            let s = Shard::new(k, 4).unwrap();
            assert!(
                names.iter().filter(|n| s.contains(n)).count() > 20,
                "shard {s}"
            );
        }
    }
}
