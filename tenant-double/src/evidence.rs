//! The evidence served at `GET /__/tenant/cp` ([`CpReport`]), built from the
//! shared state: both bases as resolved now and at boot, the credentials
//! sent (names only), the last refresh, every workspace's runs and stops.

use std::collections::BTreeMap;

use crate::cp::{resolve_both, PRODUCTION_CP_URL};
use crate::report::{CpReport, Credentials};
use crate::state::Shared;

/// The tenant's evidence now.
pub(crate) fn report(shared: &Shared) -> CpReport {
    let inner = shared.lock();
    let now = resolve_both(&inner.env);
    let ignored: BTreeMap<String, String> = inner
        .env
        .value("CP_UPSTREAM_URL")
        .map(|v| ("CP_UPSTREAM_URL".to_string(), v))
        .into_iter()
        .collect();
    CpReport {
        org_id: shared.config.org_id.clone(),
        production_default: PRODUCTION_CP_URL.to_string(),
        provision: now.provision,
        config: now.config,
        boot: shared.boot.clone(),
        ignored,
        credentials: Credentials {
            shared_secret_from: inner.env.shared_secret().map(|(_, n)| n.to_string()),
            admin_token_set: !shared.config.admin_token.is_empty(),
        },
        config_refresh: inner.last_refresh.clone(),
        workspaces: inner
            .workspaces
            .iter()
            .map(|(id, ws)| (id.clone(), ws.report.clone()))
            .collect(),
        totals: inner.totals.clone(),
        log: inner.log.iter().cloned().collect(),
    }
}
