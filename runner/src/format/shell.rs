//! Legacy shell replays (`*.sh`).
//!
//! They run under `bash` with the resolved variables exported; exit status 0
//! is a pass. The runner reads a few things from the file itself:
//!
//! - header comments in the leading comment block: `# name: ...`,
//!   `# description: ...`, `# requires: CP_STUB_BASE ALPHA_ID`,
//!   `# tags: a, b`, `# xfail: reason`, `# skip: reason`;
//! - every `${NAME:?...}` guard, as a required variable, so the runner's
//!   preflight names the missing key instead of the shell aborting (D5).
//!
//! While running, a line `[replay] __SKIP__: reason` on the output makes the
//! result SKIP, and `[replay] __XFAIL__: reason` makes it XFAIL (the script
//! reports a known failure). A script whose header says `# xfail:` and that
//! exits 0 without the marker is an XPASS.

use std::collections::BTreeSet;
use std::path::Path;

use super::{template, Diagnostic};

/// What the runner knows about a shell replay before running it.
#[derive(Debug, Clone, Default)]
pub(crate) struct ShellReplay {
    /// `# name:` or the file stem.
    pub(crate) name: String,
    /// `# description:`.
    pub(crate) description: String,
    /// `# requires:` plus `${NAME:?}` guards.
    pub(crate) requires: BTreeSet<String>,
    /// `# tags:`.
    pub(crate) tags: Vec<String>,
    /// `# xfail:`.
    pub(crate) xfail: Option<String>,
    /// `# skip:`.
    pub(crate) skip: Option<String>,
}

/// Read a shell replay's header and guards; checks its syntax with `bash -n`.
pub(crate) fn parse(path: &Path, src: &str) -> Result<ShellReplay, Vec<Diagnostic>> {
    let mut s = ShellReplay {
        name: path
            .file_stem()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        ..ShellReplay::default()
    };
    let mut diags = Vec::new();
    for (i, line) in src.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with("#!") {
            continue;
        }
        let Some(comment) = t.strip_prefix('#') else {
            break;
        };
        let Some((key, value)) = comment.split_once(':') else {
            continue;
        };
        let value = value.trim().to_string();
        match key.trim() {
            "name" => s.name = value,
            "description" => s.description = value,
            "requires" => {
                for v in value.split([' ', ',']).filter(|v| !v.is_empty()) {
                    if template::valid_name(v) {
                        s.requires.insert(v.to_string());
                    } else {
                        diags.push(Diagnostic {
                            file: path.to_path_buf(),
                            line: i + 1,
                            column: 1,
                            message: format!("`{v}` in `# requires:` is not a variable name"),
                        });
                    }
                }
            }
            "tags" => {
                s.tags = value
                    .split([' ', ','])
                    .filter(|v| !v.is_empty())
                    .map(str::to_string)
                    .collect();
            }
            "xfail" => s.xfail = Some(value),
            "skip" => s.skip = Some(value),
            _ => {}
        }
    }
    let mut rest = src;
    while let Some(i) = rest.find("${") {
        let after = &rest[i + 2..];
        let end = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        if after[end..].starts_with(":?") && template::valid_name(&after[..end]) {
            s.requires.insert(after[..end].to_string());
        }
        rest = &after[end..];
    }
    match std::process::Command::new("bash")
        .arg("-n")
        .arg(path)
        .output()
    {
        Ok(out) if !out.status.success() => {
            let msg = String::from_utf8_lossy(&out.stderr);
            for l in msg.lines() {
                // bash: "path: line N: message"
                let (line, message) = l
                    .split_once(": line ")
                    .and_then(|(_, r)| r.split_once(": "))
                    .and_then(|(n, m)| n.parse::<usize>().ok().map(|n| (n, m.to_string())))
                    .unwrap_or((0, l.to_string()));
                diags.push(Diagnostic {
                    file: path.to_path_buf(),
                    line,
                    column: usize::from(line > 0),
                    message: format!("bash syntax error: {message}"),
                });
            }
        }
        Ok(_) => {}
        Err(e) => diags.push(Diagnostic {
            file: path.to_path_buf(),
            line: 0,
            column: 0,
            message: format!("cannot run `bash -n` to check this file: {e} (is bash installed?)"),
        }),
    }
    if diags.is_empty() {
        Ok(s)
    } else {
        Err(diags)
    }
}

/// A marker line printed by a running shell replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Marker {
    /// `[replay] __SKIP__: reason`.
    Skip(String),
    /// `[replay] __XFAIL__: reason`.
    Xfail(String),
}

/// The first marker in a script's output, if any.
pub(crate) fn find_marker(output: &str) -> Option<Marker> {
    output.lines().find_map(|l| {
        let t = l.trim().strip_prefix("[replay]")?.trim_start();
        let reason = |r: &str| r.trim_start_matches(':').trim().to_string();
        if let Some(r) = t.strip_prefix("__SKIP__") {
            Some(Marker::Skip(reason(r)))
        } else {
            t.strip_prefix("__XFAIL__")
                .map(|r| Marker::Xfail(reason(r)))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_guards() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("old-replay.sh");
        let src = "#!/usr/bin/env bash\n# description: the old one\n# requires: ALPHA_ID, BETA_ID\n# xfail: drift D1\nset -eu\n: \"${CP_STUB_BASE:?seed must write it}\"\necho ${NOT_REQUIRED:-x}\n";
        std::fs::write(&p, src).unwrap();
        let s = parse(&p, src).unwrap();
        assert_eq!(s.name, "old-replay");
        assert_eq!(s.description, "the old one");
        assert_eq!(s.xfail.as_deref(), Some("drift D1"));
        let req: Vec<_> = s.requires.iter().map(String::as_str).collect();
        assert_eq!(req, vec!["ALPHA_ID", "BETA_ID", "CP_STUB_BASE"]);
    }

    #[test]
    fn syntax_errors_have_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("broken.sh");
        let src = "echo ok\nif true; then\n";
        std::fs::write(&p, src).unwrap();
        let d = parse(&p, src).unwrap_err();
        assert!(d[0].message.starts_with("bash syntax error"), "{d:?}");
        assert!(d[0].line > 0);
    }

    #[test]
    fn markers() {
        assert_eq!(
            find_marker("x\n[replay] __SKIP__: no tenant\n"),
            Some(Marker::Skip("no tenant".into()))
        );
        assert_eq!(
            find_marker("[replay] __XFAIL__ D3 drift"),
            Some(Marker::Xfail("D3 drift".into()))
        );
        assert_eq!(find_marker("[replay] PASS: x"), None);
    }
}
