//! Replays that need the reference tenant's evidence: they read
//! `/__/tenant/*` (the reference tenant's evidence endpoints) or a tenant
//! field or status the real tenant does not have (`running`,
//! `instance_id`). Each says so with the tag [`EVIDENCE_TAG`]; with opaque
//! tenants the gate leaves them out and names them. Interim: once the
//! runner can SKIP evidence steps against a tenant without evidence, those
//! replays run and only their evidence steps are skipped.

use replay_runner::Replay;

/// The tag of a replay that needs tenant evidence.
pub const EVIDENCE_TAG: &str = "evidence";

/// Whether a replay is tagged [`EVIDENCE_TAG`].
pub fn needs_evidence(replay: &Replay) -> bool {
    replay.tags.iter().any(|t| t == EVIDENCE_TAG)
}

/// Split a selection into the replays that run against opaque tenants and
/// those left out (tagged [`EVIDENCE_TAG`]), order kept.
pub(crate) fn split(replays: Vec<Replay>) -> (Vec<Replay>, Vec<Replay>) {
    replays.into_iter().partition(|r| !needs_evidence(r))
}
