//! The keys of `.seed.env`, the `.seed.env.example` that declares them, and
//! `seed check` (incident D5: a key nobody wrote is named, not discovered by
//! a shell `:?` guard mid-replay).

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use contract::seed_env::{ALIASES, KEYS};

use crate::envfile::{self, EnvFileError};

/// The text of `.seed.env.example`, generated from [`KEYS`] (a test keeps
/// the checked-in file equal to it).
pub fn example_text() -> String {
    let mut out = String::from(
        "# .seed.env.example: every key that `seed` writes to .seed.env.\n\
         #\n\
         # Generated from contract/src/seed_env.rs (regenerate it with\n\
         # `UPDATE_SEED_EXAMPLE=1 cargo test -p seed --test example`).\n\
         # Assignment lines are required keys (non-empty in every .seed.env);\n\
         # commented-out assignment lines are optional keys.\n\
         # `seed check [--env-file F]` validates a .seed.env against this file\n\
         # (missing or empty keys are named; exit 2). `seed clean` removes it.\n",
    );
    for key in KEYS {
        out.push('\n');
        for line in key.doc.lines() {
            out.push_str("# ");
            out.push_str(line);
            out.push('\n');
        }
        if !key.required {
            out.push_str("# ");
        }
        out.push_str(key.name);
        out.push('=');
        out.push_str(key.example);
        out.push('\n');
    }
    out
}

/// Keys declared by an example file: `(name, required)`, in file order.
/// `KEY=value` lines are required; `# KEY=value` lines are optional.
pub fn parse_example(text: &str) -> Vec<(String, bool)> {
    let mut keys: Vec<(String, bool)> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        let (body, required) = match line.strip_prefix('#') {
            Some(rest) => (rest.trim_start(), false),
            None => (line, true),
        };
        let body = body.strip_prefix("export ").unwrap_or(body);
        let Some((name, _)) = body.split_once('=') else {
            continue;
        };
        let is_key = name.chars().next().is_some_and(|c| c.is_ascii_uppercase())
            && name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if !is_key {
            continue;
        }
        match keys.iter_mut().find(|(n, _)| n == name) {
            Some(existing) => existing.1 |= required,
            None => keys.push((name.to_string(), required)),
        }
    }
    keys
}

/// The outcome of [`check`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// File checked.
    pub path: PathBuf,
    /// Where the declared keys came from (a file, or the built-in list).
    pub example: String,
    /// Required keys absent from the file.
    pub missing: Vec<String>,
    /// Required keys present with an empty value.
    pub empty: Vec<String>,
    /// Keys in the file the example does not declare (a warning).
    pub unknown: Vec<String>,
    /// Legacy aliases that disagree with their source (a warning), e.g.
    /// `ALPHA_ID != ALPHA_PARENT_ID`.
    pub inconsistent: Vec<String>,
    /// `SEED_STACK_ID` and `SEED_STAMP`, when present.
    pub stamp: Option<(String, String)>,
    /// Keys found.
    pub keys: usize,
}

impl CheckReport {
    /// No missing and no empty required key.
    pub fn is_ok(&self) -> bool {
        self.missing.is_empty() && self.empty.is_empty()
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        if self.is_ok() {
            write!(f, "{path}: ok ({} keys", self.keys)?;
            if let Some((id, stamp)) = &self.stamp {
                write!(f, "; stack {id}, seeded {stamp}")?;
            }
            writeln!(f, ")")?;
        } else {
            writeln!(
                f,
                "{path}: {} problem(s) against {}",
                self.missing.len() + self.empty.len(),
                self.example
            )?;
            for key in &self.missing {
                writeln!(
                    f,
                    "  missing key {key}: declared in {}; re-run `seed` to regenerate the file",
                    self.example
                )?;
            }
            for key in &self.empty {
                writeln!(
                    f,
                    "  empty key {key}: it needs a value; re-run `seed` to regenerate the file"
                )?;
            }
        }
        for key in &self.unknown {
            writeln!(
                f,
                "  warning: {key} is not declared in {}; declare it there or stop writing it",
                self.example
            )?;
        }
        for what in &self.inconsistent {
            writeln!(f, "  warning: {what}")?;
        }
        Ok(())
    }
}

/// The example `seed check` holds `env_file` to by default: the
/// `.seed.env.example` beside it, if there is one (else the built-in list).
pub fn default_example(env_file: &Path) -> Option<PathBuf> {
    let dir = env_file
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let example = dir.join(".seed.env.example");
    example.exists().then_some(example)
}

/// Validate the env file at `path` against the keys declared by `example`
/// (a `.seed.env.example`), or against the built-in [`KEYS`] when `None`.
pub fn check(path: &Path, example: Option<&Path>) -> Result<CheckReport, EnvFileError> {
    let (declared, example_name) = match example {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|source| EnvFileError::Read {
                path: p.to_path_buf(),
                source,
            })?;
            (parse_example(&text), p.display().to_string())
        }
        None => (
            KEYS.iter()
                .map(|k| (k.name.to_string(), k.required))
                .collect(),
            "the built-in key list (contract/src/seed_env.rs)".to_string(),
        ),
    };
    let vars = envfile::read(path)?;
    let get = |name: &str| {
        vars.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let mut report = CheckReport {
        path: path.to_path_buf(),
        example: example_name,
        keys: vars.len(),
        ..CheckReport::default()
    };
    for (name, required) in &declared {
        match get(name) {
            None if *required => report.missing.push(name.clone()),
            Some(v) if *required && v.trim().is_empty() => report.empty.push(name.clone()),
            _ => {}
        }
    }
    let declared_names: BTreeSet<&str> = declared.iter().map(|(n, _)| n.as_str()).collect();
    let mut seen = BTreeSet::new();
    for (k, _) in &vars {
        if !declared_names.contains(k.as_str()) && seen.insert(k.clone()) {
            report.unknown.push(k.clone());
        }
    }
    for (alias, source) in ALIASES {
        if let (Some(a), Some(s)) = (get(alias), get(source)) {
            if !a.is_empty() && !s.is_empty() && a != s {
                report.inconsistent.push(format!(
                    "{alias} ({a}) should equal {source} ({s}); the file was edited or mixed from two runs"
                ));
            }
        }
    }
    if let (Some(id), Some(stamp)) = (get("SEED_STACK_ID"), get("SEED_STAMP")) {
        report.stamp = Some((id.to_string(), stamp.to_string()));
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_declares_every_key_with_its_requirement() {
        let parsed = parse_example(&example_text());
        let expected: Vec<(String, bool)> = KEYS
            .iter()
            .map(|k| (k.name.to_string(), k.required))
            .collect();
        assert_eq!(parsed, expected);
    }

    #[test]
    fn prose_is_not_a_key() {
        let keys = parse_example("# Lines KEY=value are keys\n# see x=y\nA_B=1\n# C=2\n");
        assert_eq!(keys, vec![("A_B".into(), true), ("C".into(), false)]);
    }
}
