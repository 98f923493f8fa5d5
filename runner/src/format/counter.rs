//! Counter expectations: names, values in a scope's [`Counts`], exact deltas.

use std::str::FromStr;

use contract::admin::Counts;
use contract::RouteId;

/// What a counter name refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CounterKind {
    /// A route's calls: its legacy name (`provision_calls`) or its id (`provision`).
    Route(RouteId),
    /// Every non-admin request (`total_requests`).
    Total,
    /// Contract violations seen in requests (`violations_total`).
    Violations,
    /// Requests no route served, summed over methods and paths (`unmatched`).
    Unmatched,
    /// Answers with this status (`status_501`).
    Status(u16),
}

impl FromStr for CounterKind {
    type Err = String;

    /// Parse a counter name; the error lists the valid names.
    fn from_str(name: &str) -> Result<CounterKind, String> {
        if let Ok(id) = name.parse::<RouteId>() {
            return Ok(CounterKind::Route(id));
        }
        if let Some(r) = contract::ROUTES.iter().find(|r| r.counter == name) {
            return Ok(CounterKind::Route(r.id));
        }
        match name {
            "total_requests" => return Ok(CounterKind::Total),
            "violations_total" => return Ok(CounterKind::Violations),
            "unmatched" => return Ok(CounterKind::Unmatched),
            _ => {}
        }
        if let Some(code) = name.strip_prefix("status_") {
            if let Ok(c) = code.parse::<u16>() {
                if (100..=599).contains(&c) {
                    return Ok(CounterKind::Status(c));
                }
            }
        }
        let legacy: Vec<&str> = contract::ROUTES.iter().map(|r| r.counter).collect();
        Err(format!(
            "unknown counter `{name}` (use a route counter: {}; a route id; total_requests, violations_total, unmatched, or status_<code>)",
            legacy.join(", ")
        ))
    }
}

impl CounterKind {
    /// The counter's value in one scope's (or the whole stub's) counts.
    pub(crate) fn value(self, c: &Counts) -> u64 {
        match self {
            CounterKind::Route(id) => c.routes.get(id.as_str()).copied().unwrap_or(0),
            CounterKind::Total => c.total_requests,
            CounterKind::Violations => c.violations,
            CounterKind::Unmatched => c.unmatched,
            CounterKind::Status(code) => c.statuses.get(&code.to_string()).copied().unwrap_or(0),
        }
    }
}

/// Render a signed delta as `+1`, `0`, `-2`.
pub(crate) fn signed(delta: i64) -> String {
    if delta > 0 {
        format!("+{delta}")
    } else {
        delta.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(matches!(
            "provision_calls".parse::<CounterKind>(),
            Ok(CounterKind::Route(RouteId::Provision))
        ));
        assert!(
            matches!("tenants_config".parse::<CounterKind>(), Ok(CounterKind::Route(r)) if r.route().counter == "tenants_config_calls")
        );
        assert_eq!(
            "status_501".parse::<CounterKind>(),
            Ok(CounterKind::Status(501))
        );
        assert_eq!(
            "unmatched".parse::<CounterKind>(),
            Ok(CounterKind::Unmatched)
        );
        let e = "provision_call".parse::<CounterKind>().unwrap_err();
        assert!(e.contains("unknown counter `provision_call`") && e.contains("provision_calls"));
        assert!("status_9".parse::<CounterKind>().is_err());
    }

    #[test]
    fn values() {
        let mut c = Counts::default();
        c.routes.insert("provision".into(), 3);
        c.statuses.insert("501".into(), 4);
        c.unmatched = 2;
        let p = "provision_calls".parse::<CounterKind>().unwrap();
        assert_eq!(p.value(&c), 3);
        assert_eq!(CounterKind::Route(RouteId::Stop).value(&c), 0);
        assert_eq!(CounterKind::Status(501).value(&c), 4);
        assert_eq!(CounterKind::Unmatched.value(&c), 2);
        assert_eq!(signed(1), "+1");
        assert_eq!(signed(0), "0");
    }
}
