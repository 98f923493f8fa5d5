//! The tenant's effective env: the variables it started with, overlaid by
//! the values its config refreshes applied. Every CP call reads it afresh,
//! so a refreshed `MOLECULE_CP_URL` or secret takes effect for later calls.

use std::collections::BTreeMap;

use crate::report::Origin;

/// The variables a CP call sees.
#[derive(Debug, Default)]
pub(crate) struct EffectiveEnv {
    /// Variables from the start environment.
    start: BTreeMap<String, String>,
    /// Values applied by config refreshes (an empty value unsets).
    overlay: BTreeMap<String, String>,
}

impl EffectiveEnv {
    pub(crate) fn new(start: BTreeMap<String, String>) -> EffectiveEnv {
        EffectiveEnv {
            start,
            overlay: BTreeMap::new(),
        }
    }

    /// A variable and where it came from; empty counts as unset.
    pub(crate) fn var(&self, name: &str) -> Option<(String, Origin)> {
        if let Some(v) = self.overlay.get(name) {
            return (!v.is_empty()).then(|| (v.clone(), Origin::ConfigRefresh));
        }
        self.start
            .get(name)
            .filter(|v| !v.is_empty())
            .map(|v| (v.clone(), Origin::Env))
    }

    /// A variable's value; empty counts as unset.
    pub(crate) fn value(&self, name: &str) -> Option<String> {
        self.var(name).map(|(v, _)| v)
    }

    /// The provision bearer and the variable it came from.
    pub(crate) fn shared_secret(&self) -> Option<(String, &'static str)> {
        ["MOLECULE_CP_SHARED_SECRET", "PROVISION_SHARED_SECRET"]
            .into_iter()
            .find_map(|name| self.value(name).map(|v| (v, name)))
    }

    /// Overlay the values of a config refresh.
    pub(crate) fn apply(&mut self, values: BTreeMap<String, String>) {
        self.overlay.extend(values);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_wins_and_empty_unsets() {
        let mut env = EffectiveEnv::new(BTreeMap::from([(
            "MOLECULE_CP_URL".to_string(),
            "http://a".to_string(),
        )]));
        assert_eq!(
            env.var("MOLECULE_CP_URL"),
            Some(("http://a".into(), Origin::Env))
        );
        env.apply(BTreeMap::from([(
            "MOLECULE_CP_URL".to_string(),
            "http://b".to_string(),
        )]));
        assert_eq!(
            env.var("MOLECULE_CP_URL"),
            Some(("http://b".into(), Origin::ConfigRefresh))
        );
        env.apply(BTreeMap::from([(
            "MOLECULE_CP_URL".to_string(),
            String::new(),
        )]));
        assert_eq!(env.var("MOLECULE_CP_URL"), None);
    }
}
