//! The keys of `.seed.env`, the `.seed.env.example` that declares them, and
//! `seed check` (incident D5: a key nobody wrote is named, not discovered by
//! a shell `:?` guard mid-replay).

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::envfile::{self, EnvFileError};

/// One key of `.seed.env`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    /// Variable name.
    pub name: &'static str,
    /// Whether every `.seed.env` must carry a non-empty value.
    pub required: bool,
    /// An example value for `.seed.env.example`.
    pub example: &'static str,
    /// What it is, one or more comment lines.
    pub doc: &'static str,
}

const fn req(name: &'static str, example: &'static str, doc: &'static str) -> Key {
    Key {
        name,
        required: true,
        example,
        doc,
    }
}

/// Legacy names and the key each one repeats (`BETA_ID` = `ALPHA_CHILD_ID`
/// is the old harness's quirk, kept on purpose): seed writes them from this
/// table and `seed check` holds a file to it.
pub(crate) const ALIASES: &[(&str, &str)] = &[
    ("ALPHA_ID", "ALPHA_PARENT_ID"),
    ("BETA_ID", "ALPHA_CHILD_ID"),
    ("ALPHA_WORKSPACE_ID", "ALPHA_PARENT_ID"),
    ("BETA_WORKSPACE_ID", "BETA_PARENT_ID"),
];

/// Every key seed writes, in file order.
pub const KEYS: &[Key] = &[
    req("SEED_STACK_ID", "3f9c2a1b7d4e5f60", "Id of the stack this file was seeded against: random per seed run unless\n--stack-id / HARNESS_STACK_ID passes one. Ids from another stack are stale (D6)."),
    req("SEED_STAMP", "2026-01-01T12:00:00Z", "When seed wrote this file (RFC 3339, UTC)."),
    req("CP_STUB_BASE", "http://localhost:9090", "Base URL of cp-stub as the replays reach it (env CP_STUB_BASE, default\nhttp://localhost:9090). Always written: its absence aborted every replay (D5)."),
    req("ALPHA_BASE", "http://127.0.0.1:8081", "Tenant alpha's base URL."),
    req("ALPHA_ORG_ID", "org-alpha", "Tenant alpha's org, sent as X-Molecule-Org-Id."),
    req("ALPHA_ADMIN_TOKEN", "alpha-admin-token", "Tenant alpha's admin bearer token."),
    Key {
        name: "ALPHA_HOST",
        required: false,
        example: "alpha.localhost",
        doc: "Optional: Host header for tenant alpha behind a proxy (written only when set).",
    },
    req("BETA_BASE", "http://127.0.0.1:8082", "Tenant beta's base URL."),
    req("BETA_ORG_ID", "org-beta", "Tenant beta's org, sent as X-Molecule-Org-Id."),
    req("BETA_ADMIN_TOKEN", "beta-admin-token", "Tenant beta's admin bearer token."),
    Key {
        name: "BETA_HOST",
        required: false,
        example: "beta.localhost",
        doc: "Optional: Host header for tenant beta behind a proxy (written only when set).",
    },
    req("ALPHA_PARENT_ID", "00000000-0000-4000-8000-00000000a001", "Workspace alpha-parent (tier 0) on tenant alpha."),
    req("ALPHA_CHILD_ID", "00000000-0000-4000-8000-00000000a002", "Workspace alpha-child (tier 1, under alpha-parent) on tenant alpha."),
    req("BETA_PARENT_ID", "00000000-0000-4000-8000-00000000b001", "Workspace beta-parent (tier 0) on tenant beta."),
    req("BETA_CHILD_ID", "00000000-0000-4000-8000-00000000b002", "Workspace beta-child (tier 1, under beta-parent) on tenant beta."),
    req("ALPHA_ID", "00000000-0000-4000-8000-00000000a001", "Legacy name: = ALPHA_PARENT_ID."),
    req("BETA_ID", "00000000-0000-4000-8000-00000000a002", "Legacy name: = ALPHA_CHILD_ID, NOT a beta workspace. A quirk of the old\nharness kept on purpose: old replays use it as \"the second workspace of alpha\"."),
    req("ALPHA_WORKSPACE_ID", "00000000-0000-4000-8000-00000000a001", "Legacy name: = ALPHA_PARENT_ID."),
    req("BETA_WORKSPACE_ID", "00000000-0000-4000-8000-00000000b001", "Legacy name: = BETA_PARENT_ID."),
];

/// The text of `.seed.env.example`, generated from [`KEYS`] (a test keeps
/// the checked-in file equal to it).
pub fn example_text() -> String {
    let mut out = String::from(
        "# .seed.env.example: every key that `seed` writes to .seed.env.\n\
         #\n\
         # Generated from seed/src/keys.rs (regenerate it with\n\
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
            "the built-in key list (seed/src/keys.rs)".to_string(),
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
