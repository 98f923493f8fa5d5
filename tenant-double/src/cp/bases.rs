//! CP base resolution: which variable each of the tenant's two CP clients
//! reads, in which order, and why there is no base when none is set.

use crate::env::EffectiveEnv;
use crate::report::{BaseResolution, BootResolution};

/// The production CP base the real tenant falls back to when none of its
/// variables is set. The double never sends a request there (incident D2).
pub const PRODUCTION_CP_URL: &str = "https://api.moleculesai.app";

/// Which of the tenant's two CP clients resolves a base.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CpClientKind {
    /// The provisioner (provision, stop): `CP_PROVISION_URL` first.
    Provision,
    /// The config fetch: never reads `CP_PROVISION_URL`.
    Config,
}

impl CpClientKind {
    /// The variables this client reads, in order.
    fn order(self) -> &'static [&'static str] {
        match self {
            CpClientKind::Provision => &[
                "CP_PROVISION_URL",
                "MOLECULE_CP_URL",
                "MOLECULE_CP_DEFAULT_URL",
            ],
            CpClientKind::Config => &["MOLECULE_CP_URL", "MOLECULE_CP_DEFAULT_URL"],
        }
    }
}

/// Resolve a CP base from the effective env. Never falls back to production:
/// when nothing is set the resolution carries the reason instead (D2).
pub(crate) fn resolve(env: &EffectiveEnv, kind: CpClientKind) -> BaseResolution {
    let order = kind.order();
    let order_names = order.iter().map(|s| s.to_string()).collect();
    for name in order {
        if let Some((value, origin)) = env.var(name) {
            return BaseResolution {
                base: Some(value.trim_end_matches('/').to_string()),
                source: Some((*name).to_string()),
                origin: Some(origin),
                order: order_names,
                error: None,
            };
        }
    }
    let mut reason = match kind {
        CpClientKind::Provision => format!(
            "no CP base configured: CP_PROVISION_URL, MOLECULE_CP_URL and MOLECULE_CP_DEFAULT_URL \
             are all unset — the real tenant would call production ({PRODUCTION_CP_URL}) and stall \
             (incident D2); set CP_PROVISION_URL or MOLECULE_CP_URL to the stub"
        ),
        CpClientKind::Config => format!(
            "no CP base configured for the config fetch: MOLECULE_CP_URL and \
             MOLECULE_CP_DEFAULT_URL are both unset — the real tenant would call production \
             ({PRODUCTION_CP_URL}) and stall (incident D2); set MOLECULE_CP_URL to the stub"
        ),
    };
    if kind == CpClientKind::Config {
        if let Some(v) = env.value("CP_PROVISION_URL") {
            reason.push_str(&format!(
                " (CP_PROVISION_URL is set to {v}, but the config fetch does not read it)"
            ));
        }
    }
    if let Some(v) = env.value("CP_UPSTREAM_URL") {
        reason.push_str(&format!(
            " (CP_UPSTREAM_URL is set to {v}, but neither CP client reads it: it only feeds the \
             tenant's /cp/* reverse proxy)"
        ));
    }
    BaseResolution {
        base: None,
        source: None,
        origin: None,
        order: order_names,
        error: Some(reason),
    }
}

/// Both clients' resolutions from one env.
pub(crate) fn both(env: &EffectiveEnv) -> BootResolution {
    BootResolution {
        provision: resolve(env, CpClientKind::Provision),
        config: resolve(env, CpClientKind::Config),
    }
}
