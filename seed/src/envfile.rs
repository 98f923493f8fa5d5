//! Reading, writing and removing `.seed.env` (incident D6): the write is
//! atomic — temp file in the same folder, fsync, mode 0600, rename, fsync
//! of the folder — so a reader sees the old file or the new one, never half
//! of one, and a failed run leaves the previous file untouched.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
#[cfg(unix)]
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Errors of this module.
#[derive(Debug, thiserror::Error)]
pub enum EnvFileError {
    /// The file does not exist.
    #[error("{path} not found: run `seed` against a running stack to write it")]
    Missing {
        /// Path.
        path: PathBuf,
    },
    /// Reading failed.
    #[error("cannot read {path}: {source}")]
    Read {
        /// Path.
        path: PathBuf,
        /// Cause.
        source: io::Error,
    },
    /// A line does not parse.
    #[error("{path} does not parse as a dotenv file: {reason}; re-run `seed` to regenerate it")]
    Parse {
        /// Path.
        path: PathBuf,
        /// Parser message.
        reason: String,
    },
    /// Writing failed; the previous file (if any) is untouched.
    #[error("cannot write {path} ({step}): {source}; the previous file, if any, is untouched")]
    Write {
        /// Final path.
        path: PathBuf,
        /// Which step failed.
        step: &'static str,
        /// Cause.
        source: io::Error,
    },
    /// A value no env file can carry (a NUL byte).
    #[error("cannot write {key}: its value holds a NUL byte, which no env file can carry; fix the value")]
    Unwritable {
        /// The key.
        key: String,
    },
    /// Removing failed.
    #[error("cannot remove {path}: {source}")]
    Remove {
        /// Path.
        path: PathBuf,
        /// Cause.
        source: io::Error,
    },
}

/// Render `KEY=value` lines under a comment header. Values are quoted for
/// `sh` by shlex (bare when plain, else single quotes, double quotes with
/// backslash escapes where a `'` needs them, never a bare `$`): dotenvy
/// reads that back verbatim too, as the test below holds for spaces, both
/// quotes, `$`, `#`, backslashes and newlines.
pub(crate) fn render(header: &str, vars: &[(String, String)]) -> Result<String, EnvFileError> {
    let mut out = String::new();
    for line in header.lines() {
        out.push_str("# ");
        out.push_str(line);
        out.push('\n');
    }
    for (k, v) in vars {
        let quoted =
            shlex::try_quote(v).map_err(|_| EnvFileError::Unwritable { key: k.clone() })?;
        out.push_str(k);
        out.push('=');
        out.push_str(&quoted);
        out.push('\n');
    }
    Ok(out)
}

/// Read an env file as ordered `(key, value)` pairs.
pub fn read(path: &Path) -> Result<Vec<(String, String)>, EnvFileError> {
    let iter = dotenvy::from_path_iter(path).map_err(|e| match e {
        dotenvy::Error::Io(source) if source.kind() == io::ErrorKind::NotFound => {
            EnvFileError::Missing {
                path: path.to_path_buf(),
            }
        }
        dotenvy::Error::Io(source) => EnvFileError::Read {
            path: path.to_path_buf(),
            source,
        },
        other => EnvFileError::Parse {
            path: path.to_path_buf(),
            reason: other.to_string(),
        },
    })?;
    iter.map(|item| {
        item.map_err(|e| EnvFileError::Parse {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
    })
    .collect()
}

fn write_err<'a>(
    path: &'a Path,
    step: &'static str,
) -> impl FnOnce(io::Error) -> EnvFileError + 'a {
    move |source| EnvFileError::Write {
        path: path.to_path_buf(),
        step,
        source,
    }
}

/// Write `contents` to `path` atomically with mode 0600.
pub(crate) fn write_atomic(path: &Path, contents: &str) -> Result<(), EnvFileError> {
    write_atomic_with(path, contents, &|_| Ok(()))
}

/// [`write_atomic`] with a hook called after the temp file is written and
/// synced and before it is renamed over `path`; an error from the hook
/// aborts the write (the temp file is removed, `path` is untouched).
pub(crate) fn write_atomic_with(
    path: &Path,
    contents: &str,
    before_rename: &dyn Fn(&Path) -> io::Result<()>,
) -> Result<(), EnvFileError> {
    let name = path
        .file_name()
        .ok_or_else(|| EnvFileError::Write {
            path: path.to_path_buf(),
            step: "naming the file",
            source: io::Error::new(io::ErrorKind::InvalidInput, "the path has no file name"),
        })?
        .to_string_lossy()
        .into_owned();
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    // A writer killed mid-write (kill -9) leaves its temp file, tokens
    // inside: the next write removes it.
    remove_stale_temps(path);
    let tmp = dir.join(format!(
        "{name}.{}-{:08x}.tmp",
        std::process::id(),
        fastrand::u32(..)
    ));
    let result = write_temp(&tmp, contents, path)
        .and_then(|()| before_rename(&tmp).map_err(write_err(path, "before rename")))
        .and_then(|()| fs::rename(&tmp, path).map_err(write_err(path, "renaming the temp file")));
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    // Make the rename itself durable. Best effort: some filesystems refuse
    // to sync a directory, and the file is in place either way.
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn write_temp(tmp: &Path, contents: &str, path: &Path) -> Result<(), EnvFileError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options
        .open(tmp)
        .map_err(write_err(path, "creating the temp file"))?;
    file.write_all(contents.as_bytes())
        .map_err(write_err(path, "writing the temp file"))?;
    #[cfg(unix)]
    file.set_permissions(fs::Permissions::from_mode(0o600))
        .map_err(write_err(path, "setting mode 0600"))?;
    file.sync_all()
        .map_err(write_err(path, "syncing the temp file"))?;
    Ok(())
}

/// What [`clean`] removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CleanOutcome {
    /// The env file.
    pub path: PathBuf,
    /// Whether the env file existed and was removed.
    pub removed: bool,
    /// Leftover temp files (`<name>.*.tmp`) removed beside it.
    pub temps_removed: usize,
}

/// What the `seed clean` binary prints.
impl fmt::Display for CleanOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        match (self.removed, self.temps_removed) {
            (true, 0) => write!(f, "removed {path}"),
            (true, n) => write!(f, "removed {path} and {n} leftover temp file(s)"),
            (false, 0) => write!(f, "{path} did not exist; nothing to remove"),
            (false, n) => write!(f, "removed {n} leftover temp file(s)"),
        }
    }
}

/// Remove the env file and any leftover temp files of an interrupted write.
/// A missing file is not an error.
pub fn clean(path: &Path) -> Result<CleanOutcome, EnvFileError> {
    let mut outcome = CleanOutcome {
        path: path.to_path_buf(),
        ..CleanOutcome::default()
    };
    match fs::remove_file(path) {
        Ok(()) => outcome.removed = true,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(source) => {
            return Err(EnvFileError::Remove {
                path: path.to_path_buf(),
                source,
            })
        }
    }
    for (temp, _) in leftover_temps(path) {
        if fs::remove_file(temp).is_ok() {
            outcome.temps_removed += 1;
        }
    }
    Ok(outcome)
}

/// The temp files (`<name>.<pid>-<rand>.tmp`) beside `path`, with the pid
/// of the writer that made each one when the name carries it.
fn leftover_temps(path: &Path) -> Vec<(PathBuf, Option<u32>)> {
    let (Some(name), Some(dir)) = (path.file_name(), path.parent()) else {
        return Vec::new();
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let prefix = format!("{}.", name.to_string_lossy());
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let file = entry.file_name().to_string_lossy().into_owned();
            let middle = file.strip_prefix(&prefix)?.strip_suffix(".tmp")?;
            let pid = middle.split_once('-').and_then(|(pid, _)| pid.parse().ok());
            Some((entry.path(), pid))
        })
        .collect()
}

/// Whether process `pid` is alive (Linux: `/proc/<pid>` exists). Elsewhere
/// every writer counts as alive, so nothing but `seed clean` removes its file.
fn alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new("/proc").join(pid.to_string()).exists()
    } else {
        true
    }
}

/// Remove the temp files a killed writer left beside `path` (they hold the
/// tokens): those whose writer is no longer alive. Best effort.
fn remove_stale_temps(path: &Path) {
    for (temp, pid) in leftover_temps(path) {
        if pid.is_some_and(|pid| !alive(pid)) {
            let _ = fs::remove_file(temp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_removes_the_temp_files_of_dead_writers_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".seed.env");
        // A pid that has exited: a child we reaped.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let stale = dir.path().join(format!(".seed.env.{dead}-0badf00d.tmp"));
        let live = dir
            .path()
            .join(format!(".seed.env.{}-00c0ffee.tmp", std::process::id()));
        let other = dir.path().join(".seed.env.notes");
        for p in [&stale, &live, &other] {
            fs::write(p, "ALPHA_ADMIN_TOKEN=secret\n").unwrap();
        }
        write_atomic_with(&path, "A=1\n", &|_| Ok(())).unwrap();
        assert!(!stale.exists(), "the dead writer's temp file is gone");
        assert!(live.exists(), "a live writer's temp file is left alone");
        assert!(other.exists(), "only temp files are touched");
        assert_eq!(fs::read_to_string(&path).unwrap(), "A=1\n");
    }

    /// Values that need quoting for one reason or another.
    const VALUES: &[&str] = &[
        "http://127.0.0.1:8081",
        "plain-token",
        "with space",
        "it's",
        "$HOME",
        "a\"b\\c",
        "",
        "a#b",
        "x #y",
        "${A}",
        "it's $HOME",
        "x'\"$\\`#",
        "line\nbreak",
        "a=b,c%d",
    ];

    fn vars() -> Vec<(String, String)> {
        VALUES
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("K{i}"), v.to_string()))
            .collect()
    }

    #[test]
    fn quoting_round_trips_through_dotenvy() {
        let vars = vars();
        let text = render("header", &vars).unwrap();
        let parsed: Vec<(String, String)> = dotenvy::from_read_iter(text.as_bytes())
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(parsed, vars, "{text}");
    }

    #[cfg(unix)]
    #[test]
    fn quoting_round_trips_through_sh() {
        let vars = vars();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(".seed.env");
        fs::write(&file, render("header", &vars).unwrap()).unwrap();
        // Print each value followed by an ASCII record separator.
        let names: Vec<String> = vars.iter().map(|(k, _)| format!("\"${k}\"")).collect();
        let script = format!(". \"$1\" && printf '%s\\036' {}", names.join(" "));
        let out = std::process::Command::new("sh")
            .args(["-c", &script, "sh"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        let read: Vec<&str> = stdout.split('\x1e').collect();
        assert_eq!(&read[..VALUES.len()], VALUES);
    }

    #[test]
    fn plain_values_stay_bare_and_a_nul_is_refused() {
        let vars = [("URL".to_string(), "http://127.0.0.1:8081/x".to_string())];
        assert_eq!(
            render("h", &vars).unwrap(),
            "# h\nURL=http://127.0.0.1:8081/x\n"
        );
        let vars = [("K".to_string(), "a\0b".to_string())];
        assert!(matches!(
            render("h", &vars),
            Err(EnvFileError::Unwritable { key }) if key == "K"
        ));
    }
}
