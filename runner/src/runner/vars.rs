//! Variables: where values come from, their precedence, masking, and the
//! per-replay scope templates are expanded in.
//!
//! Precedence, highest first:
//!
//! 1. values captured by an earlier step of the same replay;
//! 2. built-ins: `REPLAY_NAME`, `REPLAY_ID` (unique per replay execution),
//!    `RUN_ID` (unique per `replays run`);
//! 3. `--var NAME=VALUE` flags;
//! 4. the process environment;
//! 5. the env file (`--env-file`, default `.seed.env`, read with dotenvy);
//! 6. the replay's own `[vars]` defaults.
//!
//! The environment beats the file, as with every dotenv tool: an exported
//! value is a deliberate override. `replays env` shows which source won.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::format::template::{self, Expand};

use super::mask::Secrets;

/// The default env file, written by `seed`.
pub(crate) const DEFAULT_ENV_FILE: &str = contract::defaults::SEED_ENV_FILE;

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Captured by an earlier step.
    Captured,
    /// Defined by the runner.
    Builtin,
    /// A `--var` flag.
    Flag,
    /// The process environment.
    Environment,
    /// The env file.
    EnvFile(PathBuf),
    /// The replay's `[vars]`.
    ReplayDefault,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Captured => f.write_str("captured"),
            Source::Builtin => f.write_str("built-in"),
            Source::Flag => f.write_str("--var"),
            Source::Environment => f.write_str("environment"),
            Source::EnvFile(p) => write!(f, "env file {}", p.display()),
            Source::ReplayDefault => f.write_str("replay [vars]"),
        }
    }
}

/// Which env file to read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum EnvFile {
    /// `.seed.env` if it exists.
    #[default]
    Default,
    /// This file, which must exist.
    Path(PathBuf),
    /// None.
    Disabled,
}

/// Errors of variable loading.
#[derive(Debug, thiserror::Error)]
pub enum VarsError {
    /// An explicit env file is missing or unreadable.
    #[error("cannot read env file {path}: {reason} (run seed to write it, pass another --env-file, or --no-env-file)")]
    EnvFile {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A `--var` flag is malformed.
    #[error("bad --var `{0}`: write NAME=VALUE")]
    BadFlag(String),
}

/// The run-wide variable sources. Its `Debug` masks secret-named values.
#[derive(Clone, Default, educe::Educe)]
#[educe(Debug)]
pub struct Resolver {
    #[educe(Debug(method(contract::redact::debug_env)))]
    flags: BTreeMap<String, String>,
    #[educe(Debug(method(contract::redact::debug_env)))]
    env: BTreeMap<String, String>,
    #[educe(Debug(method(contract::redact::debug_env)))]
    file: BTreeMap<String, String>,
    file_path: Option<PathBuf>,
    /// The env file name used in messages (even when absent).
    file_label: String,
    /// Values of the secret-named variables of every source.
    secrets: Secrets,
}

impl Resolver {
    /// Read the env file and take the process environment.
    pub fn load(
        env_file: &EnvFile,
        flags: &[(String, String)],
        process_env: BTreeMap<String, String>,
    ) -> Result<Resolver, VarsError> {
        let (path, must_exist) = match env_file {
            EnvFile::Default => (Some(PathBuf::from(DEFAULT_ENV_FILE)), false),
            EnvFile::Path(p) => (Some(p.clone()), true),
            EnvFile::Disabled => (None, false),
        };
        let mut file = BTreeMap::new();
        let mut file_path = None;
        if let Some(p) = &path {
            if p.exists() || must_exist {
                file = read_env_file(p)?;
                file_path = Some(p.clone());
            }
        }
        let flags: BTreeMap<String, String> = flags.iter().cloned().collect();
        let mut secrets = Secrets::default();
        for (k, v) in flags.iter().chain(&process_env).chain(&file) {
            secrets.add(k, v);
        }
        Ok(Resolver {
            flags,
            env: process_env,
            file,
            file_path,
            file_label: path
                .map_or_else(|| DEFAULT_ENV_FILE.to_string(), |p| p.display().to_string()),
            secrets,
        })
    }

    /// The values of the secret-named variables of every source.
    pub(crate) fn secrets(&self) -> &Secrets {
        &self.secrets
    }

    /// The env file actually read, if any.
    pub fn env_file(&self) -> Option<&Path> {
        self.file_path.as_deref()
    }

    /// The env file name for messages.
    pub fn env_file_label(&self) -> &str {
        &self.file_label
    }

    /// Keys defined in the env file.
    pub fn env_file_keys(&self) -> impl Iterator<Item = &str> {
        self.file.keys().map(String::as_str)
    }

    /// Keys given with `--var`.
    pub fn flag_keys(&self) -> impl Iterator<Item = &str> {
        self.flags.keys().map(String::as_str)
    }

    /// Run-level lookup (flags, environment, file).
    pub fn get(&self, name: &str) -> Option<(&str, Source)> {
        if let Some(v) = self.flags.get(name) {
            return Some((v, Source::Flag));
        }
        if let Some(v) = self.env.get(name) {
            return Some((v, Source::Environment));
        }
        if let (Some(v), Some(p)) = (self.file.get(name), &self.file_path) {
            return Some((v, Source::EnvFile(p.clone())));
        }
        None
    }

    /// Variables to export to a shell replay: the flags and the env file
    /// (the process environment is inherited anyway), flags winning.
    pub(crate) fn exports(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for (k, v) in &self.file {
            if !self.env.contains_key(k) {
                out.insert(k.clone(), v.clone());
            }
        }
        out.extend(self.flags.clone());
        out
    }

    /// The preflight message for a missing or empty variable.
    pub fn missing_message(&self, name: &str) -> String {
        let what = match self.get(name) {
            Some((_, src)) => format!("{name} is set but empty (from {src})"),
            None => format!("{name} is not set"),
        };
        let file = &self.file_label;
        if contract::seed_env::is_key(name) {
            format!("{what}: run seed (it writes {name} to {file}) or export it")
        } else {
            format!("{what}: export it, pass --var {name}=..., or add it to {file}")
        }
    }
}

/// Parse `NAME=VALUE` flags.
pub fn parse_flags(raw: &[String]) -> Result<Vec<(String, String)>, VarsError> {
    raw.iter()
        .map(|s| match s.split_once('=') {
            Some((k, v)) if template::valid_name(k) => Ok((k.to_string(), v.to_string())),
            _ => Err(VarsError::BadFlag(s.clone())),
        })
        .collect()
}

fn read_env_file(path: &Path) -> Result<BTreeMap<String, String>, VarsError> {
    let iter = dotenvy::from_path_iter(path).map_err(|e| VarsError::EnvFile {
        path: path.to_path_buf(),
        reason: describe_dotenv(path, &e),
    })?;
    let mut out = BTreeMap::new();
    for item in iter {
        let (k, v) = item.map_err(|e| VarsError::EnvFile {
            path: path.to_path_buf(),
            reason: describe_dotenv(path, &e),
        })?;
        out.insert(k, v);
    }
    Ok(out)
}

/// Why an env file cannot be read. A line that does not parse is named by
/// its number and its variable, never shown: it may hold a token.
fn describe_dotenv(path: &Path, e: &dotenvy::Error) -> String {
    match e {
        dotenvy::Error::Io(io) => io.to_string(),
        dotenvy::Error::LineParse(line, idx) => {
            let first = line.lines().next().unwrap_or_default();
            let number = std::fs::read_to_string(path)
                .ok()
                .and_then(|text| text.lines().position(|l| l == first))
                .map_or_else(String::new, |i| format!(" {}", i + 1));
            let name = first
                .split_once('=')
                .map(|(k, _)| k.trim().trim_start_matches("export ").trim())
                .filter(|k| template::valid_name(k))
                .map_or_else(String::new, |k| format!(" ({k}=…)"));
            format!("cannot parse line{number}{name} at character {idx}")
        }
        other => contract::redact::url(&other.to_string()).into_owned(),
    }
}

/// A value fit to print: masked when the name says it is a secret.
pub fn display_value(name: &str, value: &str) -> String {
    if value.is_empty() {
        "<empty>".to_string()
    } else if contract::redact::is_secret_name(name) {
        format!("<masked, {} chars>", value.chars().count())
    } else {
        value.to_string()
    }
}

/// The variables one replay execution sees. Its `Debug` masks values.
#[derive(Clone, educe::Educe)]
#[educe(Debug)]
pub(crate) struct Scope<'r> {
    resolver: &'r Resolver,
    builtins: BTreeMap<String, String>,
    #[educe(Debug(method(contract::redact::debug_env)))]
    local: BTreeMap<String, String>,
    /// Captures keep their JSON value (a string reads as its text).
    #[educe(Debug(method(contract::redact::debug_masked)))]
    captured: BTreeMap<String, serde_json::Value>,
}

impl<'r> Scope<'r> {
    /// A scope with these built-ins.
    pub(crate) fn new(resolver: &'r Resolver, builtins: BTreeMap<String, String>) -> Scope<'r> {
        Scope {
            resolver,
            builtins,
            local: BTreeMap::new(),
            captured: BTreeMap::new(),
        }
    }

    /// Add the replay's `[vars]` defaults, expanded against outside values.
    pub(crate) fn set_local(&mut self, name: &str, template: &str) -> Result<(), Expand> {
        let v = self.expand(template)?;
        self.local.insert(name.to_string(), v);
        Ok(())
    }

    /// Record a captured value. Strings are kept as text; other JSON values
    /// also keep their type, so `equals = "${ID}"` or a body field
    /// `"${ID}"` alone substitutes the number, boolean, array or object.
    pub(crate) fn capture(&mut self, name: &str, value: &serde_json::Value) {
        self.captured.insert(name.to_string(), value.clone());
    }

    /// The values of the replay's own variables (`[vars]` and captures,
    /// as text): what its journal entries may be about (workspace ids).
    pub(crate) fn own_values(&self) -> Vec<String> {
        self.local
            .values()
            .cloned()
            .chain(
                self.captured
                    .values()
                    .filter_map(|v| v.as_str().map(str::to_string)),
            )
            .collect()
    }

    /// Look a variable up.
    pub(crate) fn get(&self, name: &str) -> Option<String> {
        self.captured
            .get(name)
            .map(|v| match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .or_else(|| self.builtins.get(name).cloned())
            .or_else(|| self.resolver.get(name).map(|(v, _)| v.to_string()))
            .or_else(|| self.local.get(name).cloned())
    }

    /// The secret values this scope knows: the run's, and those of its
    /// secret-named `[vars]` and captures.
    pub(crate) fn secrets(&self) -> Secrets {
        let mut s = self.resolver.secrets().clone();
        for (k, v) in &self.local {
            s.add(k, v);
        }
        for (k, v) in &self.captured {
            match v {
                serde_json::Value::String(text) => s.add(k, text),
                other => s.add(k, &other.to_string()),
            };
        }
        s
    }

    /// Whether a variable has a non-empty value.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.get(name).is_some_and(|v| !v.is_empty())
    }

    /// Expand a template.
    pub(crate) fn expand(&self, t: &str) -> Result<String, Expand> {
        template::expand_with(t, |n| self.get(n))
    }

    /// Expand every string inside a JSON value.
    pub(crate) fn expand_json(&self, v: &serde_json::Value) -> Result<serde_json::Value, Expand> {
        use serde_json::Value;
        Ok(match v {
            Value::String(s) => {
                let whole = s
                    .strip_prefix("${")
                    .and_then(|r| r.strip_suffix('}'))
                    .filter(|n| template::valid_name(n));
                match whole
                    .and_then(|n| self.captured.get(n))
                    .filter(|v| !v.is_string())
                {
                    Some(typed) => typed.clone(),
                    None => Value::String(self.expand(s)?),
                }
            }
            Value::Array(a) => Value::Array(
                a.iter()
                    .map(|x| self.expand_json(x))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, x)| Ok((k.clone(), self.expand_json(x)?)))
                    .collect::<Result<_, Expand>>()?,
            ),
            other => other.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn precedence_flag_env_file_default() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("x.env");
        std::fs::write(&f, "A=file\nB=file\nC=file\n# comment\nD='quoted value'\n").unwrap();
        let r = Resolver::load(
            &EnvFile::Path(f.clone()),
            &[("A".into(), "flag".into())],
            env(&[("A", "env"), ("B", "env")]),
        )
        .unwrap();
        assert_eq!(r.get("A"), Some(("flag", Source::Flag)));
        assert_eq!(r.get("B"), Some(("env", Source::Environment)));
        assert_eq!(r.get("C"), Some(("file", Source::EnvFile(f.clone()))));
        assert_eq!(r.get("D").unwrap().0, "quoted value");
        let mut s = Scope::new(&r, env(&[("REPLAY_ID", "r1")]));
        s.set_local("C", "local").unwrap();
        s.set_local("E", "local-${C}").unwrap();
        assert_eq!(s.get("C").as_deref(), Some("file"));
        assert_eq!(s.get("E").as_deref(), Some("local-file"));
        s.capture("A", &serde_json::json!("captured"));
        assert_eq!(s.expand("${A}/${REPLAY_ID}").unwrap(), "captured/r1");
        s.capture("N", &serde_json::json!(7));
        assert_eq!(
            s.expand_json(&serde_json::json!({"n": "${N}", "s": "n=${N}", "a": "${A}"}))
                .unwrap(),
            serde_json::json!({"n": 7, "s": "n=7", "a": "captured"})
        );
    }

    #[test]
    fn missing_explicit_file_is_an_error_default_is_not() {
        let e = Resolver::load(
            &EnvFile::Path("/nonexistent/x.env".into()),
            &[],
            BTreeMap::new(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("/nonexistent/x.env"));
        let r = Resolver::load(&EnvFile::Disabled, &[], BTreeMap::new()).unwrap();
        assert!(r.env_file().is_none());
    }

    #[test]
    fn a_bad_env_file_line_is_named_not_shown() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("x.env");
        std::fs::write(&f, "A=1\nADMIN_TOKEN='s3cr3t-value\n").unwrap();
        let e = Resolver::load(&EnvFile::Path(f), &[], BTreeMap::new())
            .unwrap_err()
            .to_string();
        assert!(!e.contains("s3cr3t"), "{e}");
        assert!(e.contains("cannot parse line 2 (ADMIN_TOKEN=…)"), "{e}");
    }

    #[test]
    fn missing_messages_name_the_key_and_fix() {
        let r = Resolver::load(&EnvFile::Disabled, &[], env(&[("EMPTY", "")])).unwrap();
        assert_eq!(
            r.missing_message("CP_STUB_BASE"),
            "CP_STUB_BASE is not set: run seed (it writes CP_STUB_BASE to .seed.env) or export it"
        );
        assert_eq!(
            r.missing_message("EMPTY"),
            "EMPTY is set but empty (from environment): export it, pass --var EMPTY=..., or add it to .seed.env"
        );
    }

    #[test]
    fn secrets_are_masked() {
        assert!(contract::redact::is_secret_name("ALPHA_ADMIN_TOKEN"));
        assert!(contract::redact::is_secret_name(
            "MOLECULE_CP_SHARED_SECRET"
        ));
        assert!(!contract::redact::is_secret_name("ALPHA_ORG_ID"));
        assert_eq!(display_value("X_TOKEN", "abcd"), "<masked, 4 chars>");
        assert_eq!(display_value("X_URL", "http://x"), "http://x");
        assert!(parse_flags(&["A=1".into(), "B=x=y".into()]).unwrap()[1].1 == "x=y");
        assert!(parse_flags(&["nope".into()]).is_err());
    }
}
