//! The `docker` CLI as a subprocess: one invocation, its error type, and the
//! label and names every container and network of these tests get.

use std::io::Read;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Label on every container and network the tests create, so a leftover is
/// easy to find: `docker ps -a --filter label=cp-harness.test`.
pub const LABEL: &str = "cp-harness.test=containers-tests";

/// Lines of `docker logs` quoted in a startup failure.
pub(crate) const LOG_TAIL: &str = "50";

/// What can go wrong driving Docker.
#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    #[error("the docker CLI cannot run (`{command}`: {source}); install Docker (Debian: apt-get install -y docker.io)")]
    Spawn {
        command: String,
        source: std::io::Error,
    },
    #[error("`{command}` failed ({status}): {stderr}")]
    Failed {
        command: String,
        status: std::process::ExitStatus,
        stderr: String,
    },
    #[error("`{command}` did not finish within {after:?}: is the Docker engine hung? (`docker info`; restart dockerd)")]
    TimedOut { command: String, after: Duration },
    #[error("the image {image} is not present locally and these tests never pull: build it with docker/build-images.sh")]
    ImageMissing { image: String },
    #[error("the image {image} has no HEALTHCHECK, so container {name} cannot turn healthy: wait for its exit instead")]
    NoHealthcheck { image: String, name: String },
    /// `container` is `<name> (<image>)`.
    #[error("container {container} {what}; last state: {state}\n{logs}")]
    Startup {
        container: String,
        what: String,
        state: String,
        logs: String,
    },
    #[error("container {name} has no host port for {port}/tcp (`docker port`: {output:?})")]
    NoHostPort {
        name: String,
        port: u16,
        output: String,
    },
    #[error("unexpected output of `{command}`: {output:?}")]
    Parse { command: String, output: String },
}

/// How long one `docker` call may take: a hung engine fails the test
/// naming the call instead of hanging it (the slowest call, `run` of a
/// local image, takes about a second).
pub(crate) const CALL_TIMEOUT: Duration = Duration::from_secs(120);

/// `docker <args>`; its stdout, trimmed. The error quotes the command with
/// the values of `--env NAME=VALUE` left out (they may be secrets).
pub(crate) fn docker<S: AsRef<str>>(args: &[S]) -> Result<String, DockerError> {
    let out = output(args)?;
    if !out.status.success() {
        return Err(DockerError::Failed {
            command: shown(args),
            status: out.status,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// `docker <args>` run to its end (whatever its status), within
/// [`CALL_TIMEOUT`]: its status, stdout and stderr.
pub fn output<S: AsRef<str>>(args: &[S]) -> Result<Output, DockerError> {
    let mut child = Command::new("docker")
        .args(args.iter().map(AsRef::as_ref))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| DockerError::Spawn {
            command: shown(args),
            source,
        })?;
    // Each pipe drained on its own thread, so a chatty call cannot block
    // on a full pipe while it is waited for.
    fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<Vec<u8>> {
        std::thread::spawn(move || {
            let mut out = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut out);
            }
            out
        })
    }
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let deadline = Instant::now() + CALL_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            Ok(None) | Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(DockerError::TimedOut {
                    command: shown(args),
                    after: CALL_TIMEOUT,
                });
            }
        }
    };
    Ok(Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// A failed cleanup (in a `Drop`): said on stderr, never a panic.
pub(crate) fn report_leftover(error: &DockerError) {
    eprintln!(
        "containers-tests: cleanup failed, remove the leftovers by hand \
         (`docker ps -a --filter label={LABEL}`, `docker network ls --filter label={LABEL}`): {error}"
    );
}

/// The command line as shown in errors, environment values redacted.
fn shown<S: AsRef<str>>(args: &[S]) -> String {
    let mut out = String::from("docker");
    let mut env_next = false;
    for arg in args.iter().map(AsRef::as_ref) {
        out.push(' ');
        match arg.split_once('=') {
            Some((name, _)) if env_next => {
                out.push_str(name);
                out.push_str("=…");
            }
            _ => out.push_str(arg),
        }
        env_next = matches!(arg, "-e" | "--env");
    }
    out
}

/// A container or network name no other test or run uses at the same time
/// (names are global to the engine): `cph-<what>-<pid>-<counter>`.
pub fn unique_name(what: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("cph-{what}-{}-{n}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_values_are_not_shown() {
        let args = [
            "run",
            "-e",
            "ADMIN_TOKEN=secret",
            "--env",
            "X=y",
            "img",
            "a=b",
        ];
        assert_eq!(
            shown(&args),
            "docker run -e ADMIN_TOKEN=… --env X=… img a=b"
        );
    }

    #[test]
    fn names_are_unique_within_a_run() {
        assert_ne!(unique_name("net"), unique_name("net"));
    }
}
