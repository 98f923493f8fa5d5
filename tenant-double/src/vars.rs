//! Settings from variables. A setting is defined once, as a clap argument
//! (flag, variable, default, help); this module makes that one definition
//! serve the library too: read from an explicit variable list instead of the
//! process env ([`from_vars`]), its defaults ([`defaults`]), the settings back
//! as variables ([`to_vars`]) and a `Debug` that masks secrets with the one
//! redaction rule ([`redacted_debug`]).

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use clap::builder::{BoolValueParser, TypedValueParser};
use clap::error::{ContextKind, ContextValue};
use clap::{Args, Command, FromArgMatches};
use serde::Serialize;
use serde_json::Value;

/// Errors reading the configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A variable has a value that does not parse.
    #[error("{name}={value:?} is not valid: {reason}")]
    Invalid {
        /// Variable name.
        name: String,
        /// The value found.
        value: String,
        /// What was expected.
        reason: String,
    },
    /// The settings' own definition does not parse (a bug in this crate).
    #[error("tenant-double settings: {0}")]
    Definition(String),
}

/// The clap command holding `T`'s arguments, parsed without a binary name.
fn command<T: Args>() -> Command {
    T::augment_args(Command::new(env!("CARGO_PKG_NAME")).no_binary_name(true))
}

/// `cmd` reading no variable (its defaults stand in for them).
fn without_env(cmd: Command) -> Command {
    cmd.mut_args(|arg| arg.env(None::<&str>))
}

fn parse<T: FromArgMatches>(cmd: Command) -> Result<T, ConfigError> {
    cmd.try_get_matches_from(Vec::<String>::new())
        .and_then(|matches| T::from_arg_matches(&matches))
        .map_err(|e| ConfigError::Definition(e.to_string()))
}

/// `T` from its defaults alone: no flag, no variable.
pub(crate) fn defaults<T: Args + FromArgMatches>() -> T {
    parse(without_env(command::<T>())).expect("the settings' defaults parse (unit-tested)")
}

/// `T` from a variable list, exactly as clap reads the process env (the same
/// parsers and defaults), except that empty values count as unset, as in the
/// real tenant. Variables that name no setting are ignored.
pub(crate) fn from_vars<T, I, K, V>(vars: I) -> Result<T, ConfigError>
where
    T: Args + FromArgMatches,
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    let vars: BTreeMap<String, String> = vars
        .into_iter()
        .filter(|(_, v)| !v.as_ref().is_empty())
        .map(|(k, v)| (k.as_ref().to_string(), v.as_ref().to_string()))
        .collect();
    /// A setting whose variable is in the list.
    struct Given {
        var: String,
        value: String,
        id: String,
        /// The argument as clap names it in errors (`--port <PORT>`).
        shown: String,
    }
    let mut built = command::<T>();
    built.build();
    let given: Vec<Given> = built
        .get_arguments()
        .filter_map(|arg| {
            let var = arg.get_env()?.to_str()?;
            Some(Given {
                var: var.to_string(),
                value: vars.get(var)?.clone(),
                id: arg.get_id().to_string(),
                shown: arg.to_string(),
            })
        })
        .collect();
    // A variable's value becomes its argument's default: clap parses both
    // the same way, flags included.
    let cmd = given.iter().fold(without_env(command::<T>()), |cmd, g| {
        cmd.mut_arg(&g.id, |arg| arg.default_value(g.value.clone()))
    });
    cmd.try_get_matches_from(Vec::<String>::new())
        .and_then(|matches| T::from_arg_matches(&matches))
        .map_err(|e| {
            // Name the variable, not the flag clap names.
            let culprit = match e.get(ContextKind::InvalidArg) {
                Some(ContextValue::String(shown)) => given.iter().find(|g| &g.shown == shown),
                _ => None,
            };
            match culprit {
                Some(g) => ConfigError::Invalid {
                    name: g.var.clone(),
                    value: g.value.clone(),
                    reason: reason(&e),
                },
                None => ConfigError::Definition(e.to_string()),
            }
        })
}

/// What a value parser expected, without clap's usage text.
fn reason(e: &clap::Error) -> String {
    if let Some(source) = std::error::Error::source(e) {
        return source.to_string();
    }
    match e.get(ContextKind::ValidValue) {
        Some(ContextValue::Strings(valid)) => format!("expected one of {}", valid.join(", ")),
        _ => e.kind().to_string(),
    }
}

/// Every string-valued setting with a non-empty value, keyed by the variable
/// that carries it.
pub(crate) fn to_vars<T: Args + Serialize>(value: &T) -> BTreeMap<String, String> {
    let Ok(Value::Object(fields)) = serde_json::to_value(value) else {
        return BTreeMap::new();
    };
    command::<T>()
        .get_arguments()
        .filter_map(|arg| {
            let name = arg.get_env()?.to_str()?;
            match fields.get(arg.get_id().as_str()) {
                Some(Value::String(v)) if !v.is_empty() => Some((name.to_string(), v.clone())),
                _ => None,
            }
        })
        .collect()
}

/// `Debug` as JSON with every secret-named field masked
/// (`contract::redact`): secrets never reach a log, not even through `{:?}`.
pub(crate) fn redacted_debug<T: Serialize>(
    name: &str,
    value: &T,
    f: &mut fmt::Formatter<'_>,
) -> fmt::Result {
    let mut json = serde_json::to_value(value).map_err(|_| fmt::Error)?;
    contract::redact::redact_json(&mut json);
    write!(f, "{name} {json}")
}

/// A duration given in milliseconds.
pub(crate) fn millis(value: &str) -> Result<Duration, std::num::ParseIntError> {
    value.trim().parse().map(Duration::from_millis)
}

/// A duration in Go's `time.ParseDuration` syntax (`90s`, `1m30s`, `250ms`,
/// `1.5h`, `0`), as the real tenant reads `MOLECULE_CP_CONFIG_RETRY_WINDOW`.
/// Negative durations are refused.
pub(crate) fn go_duration(value: &str) -> Result<Duration, String> {
    let bad = || format!("time: invalid duration {value:?} (Go syntax, e.g. 90s, 1m30s, 250ms)");
    let text = value.trim();
    let text = text.strip_prefix('+').unwrap_or(text);
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    if text.is_empty() || text.starts_with('-') {
        return Err(bad());
    }
    let mut rest = text;
    let mut total = 0f64;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let number: f64 = rest[..number_len].parse().map_err(|_| bad())?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let nanos_per = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        total += number * nanos_per;
    }
    if !total.is_finite() || total > u64::MAX as f64 {
        return Err(bad());
    }
    Ok(Duration::from_nanos(total as u64))
}

/// A `--no-…` flag for a setting that is on by default: the flag (or its
/// variable set to `true`) turns the setting off.
pub(crate) fn negated_flag() -> impl TypedValueParser<Value = bool> {
    BoolValueParser::new().map(|given: bool| !given)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two settings, one of each kind `from_vars` must handle.
    #[derive(Debug, Clone, PartialEq, clap::Args, Serialize)]
    struct Demo {
        /// A number.
        #[arg(long, env = "DEMO_N", default_value_t = 7)]
        n: u16,
        /// On unless `--no-thing`.
        #[arg(long = "no-thing", env = "DEMO_NO_THING", action = clap::ArgAction::SetTrue, value_parser = negated_flag())]
        thing: bool,
        /// A secret.
        #[arg(long, env = "DEMO_TOKEN")]
        token: Option<String>,
    }

    #[test]
    fn variables_defaults_and_errors() {
        let d: Demo = defaults();
        assert_eq!((d.n, d.thing, d.token), (7, true, None));
        let d: Demo = from_vars([
            ("DEMO_N", "9"),
            ("DEMO_NO_THING", "true"),
            ("DEMO_TOKEN", ""),
            ("OTHER", "x"),
        ])
        .unwrap();
        assert_eq!((d.n, d.thing, d.token), (9, false, None));
        let err = from_vars::<Demo, _, _, _>([("DEMO_N", "x")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "DEMO_N=\"x\" is not valid: invalid digit found in string"
        );
        let err = from_vars::<Demo, _, _, _>([("DEMO_NO_THING", "1")]).unwrap_err();
        assert!(
            err.to_string().contains("expected one of true, false"),
            "{err}"
        );
    }

    #[test]
    fn go_durations_parse_as_go_does() {
        for (text, ms) in [
            ("90s", 90_000),
            ("1m30s", 90_000),
            ("250ms", 250),
            ("1.5s", 1_500),
            ("0", 0),
            ("1h", 3_600_000),
        ] {
            assert_eq!(go_duration(text), Ok(Duration::from_millis(ms)), "{text}");
        }
        for text in ["", "90", "-1s", "1x", "s"] {
            assert!(go_duration(text).is_err(), "{text}");
        }
    }

    #[test]
    fn settings_back_as_variables_and_a_redacted_debug() {
        let d: Demo = from_vars([("DEMO_TOKEN", "t0p")]).unwrap();
        assert_eq!(
            to_vars(&d),
            BTreeMap::from([("DEMO_TOKEN".to_string(), "t0p".to_string())])
        );
        struct Shown(Demo);
        impl fmt::Debug for Shown {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                redacted_debug("Demo", &self.0, f)
            }
        }
        let text = format!("{:?}", Shown(d));
        assert!(
            !text.contains("t0p") && text.contains(contract::redact::REDACTED),
            "{text}"
        );
    }
}
