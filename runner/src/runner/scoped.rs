//! Scoped counter deltas: which scope a counter expectation counts in
//! ([`CounterScope`]), the stub reads that serve a step (`GET
//! /__/stub/counts`, one call per read), and the rule that tells an exact
//! delta from one the stub's bounds made unknowable ([`delta`]).
//!
//! The rule: a scope's delta is exact when its entry has the same
//! `created_seq` in both reads, or when its map evicted nothing since the
//! baseline read. Otherwise the count is lost (ERROR, naming the bound and
//! its variable), or the scope was reset in between (FAIL, as a whole-stub
//! reset is).

use contract::admin::{Counts, ScopeCounts, ScopeKind, ScopedCounts};

use crate::format::counter::CounterKind;
use crate::format::model::CounterExpect;
use crate::format::template::Expand;

use super::vars::Scope;

/// Where a counter expectation counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CounterScope {
    /// The whole stub (`owns_stub` replays only).
    All,
    /// One scope.
    One(ScopeKind, String),
}

impl CounterScope {
    /// The scope of `ce`, its template expanded (`replay = true` is the
    /// replay's own id).
    pub(crate) fn of(
        ce: &CounterExpect,
        scope: &Scope<'_>,
        replay_id: &str,
    ) -> Result<CounterScope, Expand> {
        if ce.replay {
            return Ok(CounterScope::One(ScopeKind::Replay, replay_id.to_string()));
        }
        if let Some(o) = &ce.org {
            return Ok(CounterScope::One(ScopeKind::Org, scope.expand(o)?));
        }
        if let Some(w) = &ce.workspace {
            return Ok(CounterScope::One(ScopeKind::Workspace, scope.expand(w)?));
        }
        Ok(CounterScope::All)
    }

    /// ` for replay rp-1`, for labels.
    pub(crate) fn label(&self) -> String {
        match self {
            CounterScope::All => " (whole stub)".to_string(),
            CounterScope::One(kind, key) => format!(" for {kind} {key}"),
        }
    }
}

/// Why a delta is not reported as measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DeltaError {
    /// The scope was reset between the reads: FAIL, as a whole-stub reset.
    Reset(String),
    /// The stub's bound evicted data the delta needs: ERROR.
    Lost(String),
}

fn counts_in<'a>(read: &'a ScopedCounts, scope: &CounterScope) -> Option<&'a ScopeCounts> {
    match scope {
        CounterScope::All => None,
        CounterScope::One(kind, key) => read.of(*kind).get(key),
    }
}

/// The counter's value before and after, or why it cannot be known.
pub(crate) fn delta(
    base: &ScopedCounts,
    now: &ScopedCounts,
    scope: &CounterScope,
    kind: CounterKind,
) -> Result<(u64, u64), DeltaError> {
    let CounterScope::One(sk, key) = scope else {
        return Ok((kind.value(&base.all), kind.value(&now.all)));
    };
    let zero = Counts::default();
    let Some(after) = counts_in(now, scope) else {
        // The end read always asks for the step's scopes.
        return Err(DeltaError::Lost(format!(
            "the stub's answer lacks {sk} {key} (is it a current cp-stub?)"
        )));
    };
    let bound = now.bounds.get(sk).cloned().unwrap_or_default();
    let evicted_since = bound.evicted_at_seq.is_some_and(|s| s > base.seq);
    let lost = || {
        DeltaError::Lost(format!(
            "the stub's {} ({}={}) evicted entries during this step; the count for {sk} {key} is lost — raise the bound",
            sk.map_name(),
            bound.env,
            bound.cap
        ))
    };
    let reset = || {
        DeltaError::Reset(format!(
            "unknown: {sk} {key} was reset at the stub after the baseline; measure since a step after the reset"
        ))
    };
    let before = match counts_in(base, scope) {
        Some(b) => b.clone(),
        // The baseline could not name the scope (its template uses a later
        // capture): exact only if the scope was created after it.
        None => match after.created_seq {
            Some(c) if c <= base.seq => {
                return Err(DeltaError::Lost(format!(
                    "{sk} {key} could not be named at the baseline (its variable is set later) and already had calls then; measure since a step where it is known"
                )))
            }
            _ => ScopeCounts::default(),
        },
    };
    let exact = match (before.created_seq, after.created_seq) {
        (Some(b), Some(a)) if a == b => true,
        (Some(_), _) => return Err(if evicted_since { lost() } else { reset() }),
        (None, _) => !evicted_since,
    };
    if !exact {
        return Err(lost());
    }
    let b = if before.created_seq.is_some() {
        &before.counts
    } else {
        &zero
    };
    Ok((kind.value(b), kind.value(&after.counts)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use contract::admin::ScopeBound;
    use contract::RouteId;

    fn read(seq: u64, entry: Option<(u64, u64)>, evicted_at: Option<u64>) -> ScopedCounts {
        let mut r = ScopedCounts {
            seq,
            ..ScopedCounts::default()
        };
        r.all.total_requests = seq;
        let sc = entry.map_or_else(ScopeCounts::default, |(created, n)| ScopeCounts {
            created_seq: Some(created),
            counts: Counts {
                total_requests: n,
                routes: [("provision".to_string(), n)].into(),
                ..Counts::default()
            },
        });
        r.replays.insert("rp-1".into(), sc);
        r.bounds.insert(
            ScopeKind::Replay,
            ScopeBound {
                setting: "max_replay_scopes".into(),
                env: "CP_STUB_MAX_REPLAY_SCOPES".into(),
                cap: 4096,
                evicted_at_seq: evicted_at,
                ..ScopeBound::default()
            },
        );
        r
    }

    #[test]
    fn the_delta_rule() {
        let me = CounterScope::One(ScopeKind::Replay, "rp-1".into());
        let t = CounterKind::Total;
        // Same entry in both reads: exact, whatever was evicted.
        assert_eq!(
            delta(
                &read(10, Some((3, 2)), None),
                &read(20, Some((3, 5)), Some(15)),
                &me,
                t
            ),
            Ok((2, 5))
        );
        // Created after the baseline, nothing evicted since: exact from 0.
        assert_eq!(
            delta(
                &read(10, None, Some(4)),
                &read(20, Some((12, 1)), Some(4)),
                &me,
                t
            ),
            Ok((0, 1))
        );
        assert_eq!(
            delta(&read(10, None, None), &read(20, None, None), &me, t),
            Ok((0, 0))
        );
        // An eviction since the baseline, entry not the same: lost.
        for (b, a) in [
            (None, Some((12, 1))),
            (Some((3, 2)), None),
            (Some((3, 2)), Some((14, 1))),
            (None, None),
        ] {
            let Err(DeltaError::Lost(why)) =
                delta(&read(10, b, None), &read(20, a, Some(13)), &me, t)
            else {
                panic!("{b:?} → {a:?} must be lost");
            };
            assert!(why.contains("replay-scope map (CP_STUB_MAX_REPLAY_SCOPES=4096) evicted entries during this step; the count for replay rp-1 is lost — raise the bound"), "{why}");
        }
        // Gone or recreated with no eviction: a scoped reset.
        assert!(matches!(
            delta(&read(10, Some((3, 2)), None), &read(20, None, None), &me, t),
            Err(DeltaError::Reset(_))
        ));
        // Not named at the baseline but existing before it: unknowable.
        let mut base = read(10, None, None);
        base.replays.clear();
        assert!(matches!(
            delta(&base, &read(20, Some((4, 3)), None), &me, t),
            Err(DeltaError::Lost(_))
        ));
        assert_eq!(
            delta(&base, &read(20, Some((11, 3)), None), &me, t),
            Ok((0, 3))
        );
        // The whole stub: what an unscoped expectation reads, moved by anyone.
        assert_eq!(
            delta(
                &read(10, None, None),
                &read(20, None, None),
                &CounterScope::All,
                t
            ),
            Ok((10, 20))
        );
        let p = CounterKind::Route(RouteId::Provision);
        assert_eq!(
            delta(
                &read(10, Some((3, 2)), None),
                &read(20, Some((3, 5)), None),
                &me,
                p
            ),
            Ok((2, 5))
        );
    }
}
