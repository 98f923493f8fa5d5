//! `replays env`: what each variable resolves to, and from where.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use replay_runner::{display_value, load_dir, EnvFile, Resolver, VarsError};

/// The `replays env` listing: every variable the env file or `--var`
/// defines or a replay of `dir` needs, its value (secrets masked), its
/// source, and which replays use it.
pub fn env_listing(
    env_file: &EnvFile,
    vars: &[(String, String)],
    dir: &Path,
    process_env: BTreeMap<String, String>,
) -> Result<String, VarsError> {
    let resolver = Resolver::load(env_file, vars, process_env)?;
    let mut users: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut note = None;
    match load_dir(dir) {
        Ok(replays) => {
            for r in replays {
                for v in r.requires() {
                    users.entry(v).or_default().insert(r.name.clone());
                }
            }
        }
        Err(e) => {
            let first = e.to_string().lines().next().unwrap_or_default().to_string();
            note = Some(format!("(replays in {} not read: {first})", dir.display()));
        }
    }
    let mut names: BTreeSet<String> = users.keys().cloned().collect();
    names.extend(resolver.env_file_keys().map(str::to_string));
    names.extend(resolver.flag_keys().map(str::to_string));

    let mut out = String::new();
    out.push_str("Precedence: captured > built-in (REPLAY_NAME, REPLAY_ID, RUN_ID) > --var > environment > env file > replay [vars]\n");
    match resolver.env_file() {
        Some(p) => out.push_str(&format!("Env file: {}\n", p.display())),
        None => out.push_str(&format!(
            "Env file: {} (not found; run seed to write it)\n",
            resolver.env_file_label()
        )),
    }
    if let Some(n) = note {
        out.push_str(&n);
        out.push('\n');
    }
    let width = names.iter().map(String::len).max().unwrap_or(0);
    for n in &names {
        let used = users
            .get(n)
            .map(|u| {
                format!(
                    "  (used by {})",
                    u.iter().cloned().collect::<Vec<_>>().join(", ")
                )
            })
            .unwrap_or_default();
        match resolver.get(n) {
            Some((v, src)) => out.push_str(&format!(
                "{n:<width$}  {}  [{src}]{used}\n",
                display_value(n, v)
            )),
            None => {
                out.push_str(&format!("{n:<width$}  <not set>{used}\n"));
            }
        }
    }
    for n in names.iter().filter(|n| users.contains_key(*n)) {
        if resolver.get(n).is_none_or(|(v, _)| v.is_empty()) {
            out.push_str(&format!("  ! {}\n", resolver.missing_message(n)));
        }
    }
    Ok(out)
}
