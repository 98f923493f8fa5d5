//! `compose.real-tenant.yml`, the real tenant in compose. It cannot run
//! here (no registry holds the image), so:
//!
//! - `docker-compose -f compose.yml -f compose.real-tenant.yml config`
//!   shows the stack tenant-stack.md lists (ignored, with the reason
//!   printed, when docker-compose is absent — never a silent pass);
//! - the gate's compose invocation, with a fake `COMPOSE` that records its
//!   arguments and env (a fake `docker` first on PATH, loopback servers on
//!   the published ports so the stack is ready): both `-f` files on every
//!   call, one fresh `SECRETS_ENCRYPTION_KEY` per run (32
//!   bytes, base64) that never reaches the gate's output, and
//!   `TENANT_DOUBLE_NO_EVIDENCE` following `--opaque-tenants`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use base64::Engine as _;
use libtest_mimic::{Arguments, Failed, Trial};
use test_support::FakeServer;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn check(ok: bool, what: impl FnOnce() -> String) -> Result<(), Failed> {
    if ok {
        Ok(())
    } else {
        Err(what().into())
    }
}

fn docker_compose_present() -> bool {
    Command::new("docker-compose")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `config` of both files: the services, their env and healthchecks.
fn compose_config() -> Result<(), Failed> {
    let run = |envs: &[(&str, &str)]| {
        let mut cmd = Command::new("docker-compose");
        cmd.current_dir(root())
            .args([
                "-f",
                "compose.yml",
                "-f",
                "compose.real-tenant.yml",
                "config",
            ])
            .env_remove("TENANT_IMAGE")
            .env_remove("SECRETS_ENCRYPTION_KEY");
        for (k, v) in envs {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    let out = run(&[
        ("TENANT_IMAGE", "example.invalid/workspace-server:test"),
        ("SECRETS_ENCRYPTION_KEY", "a-test-key"),
    ]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    check(out.status.success(), || format!("config failed: {err}"))?;
    for want in [
        "postgres-alpha:",
        "postgres-beta:",
        "redis:",
        "image: postgres:16",
        "image: redis:7",
        "pg_isready",
        "redis-cli",
        "image: example.invalid/workspace-server:test",
        "DATABASE_URL: postgres://harness:harness@postgres-alpha:5432/molecule?sslmode=disable",
        "DATABASE_URL: postgres://harness:harness@postgres-beta:5432/molecule?sslmode=disable",
        "REDIS_URL: redis://redis:6379",
        "MOLECULE_ENV: production",
        "SECRETS_ENCRYPTION_KEY: a-test-key",
        "MOLECULE_ORG_ID: org-alpha",
        "MOLECULE_ORG_ID: org-beta",
        "ADMIN_TOKEN: alpha-admin-token",
        "ADMIN_TOKEN: beta-admin-token",
        "CP_PROVISION_URL: http://cp-stub:9090",
        "MOLECULE_CP_URL: http://cp-stub:9090",
        "PLATFORM_URL: http://tenant-alpha:8080",
        "MOLECULE_LLM_USAGE_TOKEN:",
        "MOLECULE_LLM_USAGE_URL:",
        "MOLECULE_LLM_BASE_URL:",
        "MOLECULE_LLM_ANTHROPIC_BASE_URL:",
        "RATE_LIMIT: '1000'",
        "MEMORY_PLUGIN_DISABLE: '1'",
        "wget -q -O- http://localhost:8080/health",
    ] {
        check(text.contains(want), || format!("no `{want}` in:\n{text}"))?;
    }
    // The orgs and tokens are seed's defaults.
    for want in [
        contract::defaults::ALPHA_ORG_ID,
        contract::defaults::BETA_ORG_ID,
        contract::defaults::ALPHA_ADMIN_TOKEN,
        contract::defaults::BETA_ADMIN_TOKEN,
    ] {
        check(text.contains(want), || format!("no `{want}` in:\n{text}"))?;
    }
    // Without the key (or the image) compose refuses, naming it.
    let out = run(&[("TENANT_IMAGE", "example.invalid/workspace-server:test")]);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    check(
        !out.status.success() && err.contains("SECRETS_ENCRYPTION_KEY"),
        || format!("config without SECRETS_ENCRYPTION_KEY: {err}"),
    )?;
    let out = run(&[("SECRETS_ENCRYPTION_KEY", "k")]);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    check(
        !out.status.success() && err.contains("TENANT_IMAGE"),
        || format!("config without TENANT_IMAGE: {err}"),
    )?;
    Ok(())
}

const FAKE_COMPOSE: &str = r#"#!/bin/sh
# Records each invocation: its arguments, then the env the gate gave it.
{
  echo "ARGS $*"
  echo "KEY ${SECRETS_ENCRYPTION_KEY:-<unset>}"
  echo "OPAQUE ${TENANT_DOUBLE_NO_EVIDENCE:-<unset>}"
} >> "$FAKE_LOG"
last=""
for a in "$@"; do prev="$last"; last="$a"; done
case "$*" in
  *" ps -q "*) echo "cid-$last" ;;
  *" logs "*) echo "fake logs of $last" ;;
esac
exit 0
"#;

const FAKE_DOCKER: &str = r#"#!/bin/sh
# Every container is running and healthy (and has no id to remove);
# every image is present.
case "$*" in
  "ps -aq "*) ;;
  "ps "*) printf 'cp-stub\trunning\tUp 1 second (healthy)\ntenant-alpha\trunning\tUp 1 second (healthy)\ntenant-beta\trunning\tUp 1 second (healthy)\n' ;;
esac
exit 0
"#;

fn script(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn route_key(_method: &str, _path: &str) -> &'static str {
    "any"
}

/// The published ports the gate probes: a loopback server answering 200
/// `{"status":"ok"}` to everything (ready; seed then fails on it).
async fn published_port() -> (FakeServer, String) {
    let fake =
        FakeServer::start(route_key, |_, _, _| (200, r#"{"status":"ok"}"#.to_string())).await;
    let port = fake.base.rsplit(':').next().unwrap().to_string();
    (fake, port)
}

struct Run {
    args: Vec<String>,
    keys: Vec<String>,
    opaque: Vec<String>,
    output: String,
}

fn gate_with_fake_compose(opaque: bool) -> Run {
    let tmp = tempfile::tempdir().unwrap();
    let compose = script(tmp.path(), "fake-compose", FAKE_COMPOSE);
    script(tmp.path(), "docker", FAKE_DOCKER);
    let log = tmp.path().join("calls.log");
    let path = format!(
        "{}:{}",
        tmp.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let root = root();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let ((_stub, stub), (_alpha, alpha), (_beta, beta)) = rt.block_on(async {
        (
            published_port().await,
            published_port().await,
            published_port().await,
        )
    });
    let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_replays"));
    cmd.env_clear()
        .env("PATH", path)
        .env("FAKE_LOG", &log)
        .env("COMPOSE", &compose)
        .env("SECRETS_ENCRYPTION_KEY", "must-not-be-used")
        .current_dir(tmp.path())
        .args(["gate", "--stack", "compose", "--color", "never"])
        .arg("--dir")
        .arg(root.join("replays/cases"))
        .arg("--compose-file")
        .arg(root.join("compose.yml"))
        .arg("--compose-file")
        .arg(root.join("compose.real-tenant.yml"))
        .args(["--tenant-image", "example.invalid/workspace-server:test"])
        .args([
            "--build",
            "never",
            "--seed-timeout",
            "1s",
            "--up-timeout",
            "10s",
        ])
        .args(["--stub-port", &stub])
        .args(["--alpha-port", &alpha])
        .args(["--beta-port", &beta])
        .timeout(Duration::from_secs(60));
    if opaque {
        cmd.arg("--opaque-tenants");
    }
    let out = cmd.output().unwrap();
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The ports answer only `{"status":"ok"}`: the stack is ready, seed
    // fails, the stack still goes down.
    assert_eq!(out.status.code(), Some(1), "{output}");
    let calls = std::fs::read_to_string(&log).unwrap_or_default();
    let pick = |prefix: &str| -> Vec<String> {
        calls
            .lines()
            .filter_map(|l| l.strip_prefix(prefix))
            .map(str::to_string)
            .collect()
    };
    Run {
        args: pick("ARGS "),
        keys: pick("KEY "),
        opaque: pick("OPAQUE "),
        output,
    }
}

fn gate_invocation() -> Result<(), Failed> {
    let root = root();
    let files = format!(
        "-f {} -f {} -p ",
        root.join("compose.yml").display(),
        root.join("compose.real-tenant.yml").display()
    );
    let first = gate_with_fake_compose(false);
    check(!first.args.is_empty(), || {
        format!("compose never called:\n{}", first.output)
    })?;
    for a in &first.args {
        check(a.starts_with(&files), || format!("`{a}` lacks `{files}`"))?;
    }
    for sub in ["up -d", "logs --no-color"] {
        check(first.args.iter().any(|a| a.contains(sub)), || {
            format!("no `{sub}` call in {:?}", first.args)
        })?;
    }
    // One key for the whole run, the gate's own (not the exported one).
    let key = &first.keys[0];
    check(first.keys.iter().all(|k| k == key), || {
        format!("keys differ: {:?}", first.keys)
    })?;
    check(key != "must-not-be-used" && key != "<unset>", || {
        format!("key {key}")
    })?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(key)
        .map_err(|e| format!("key {key} is not base64: {e}"))?;
    check(bytes.len() == 32, || {
        format!("key of {} bytes", bytes.len())
    })?;
    check(!first.output.contains(key.as_str()), || {
        format!("the key was printed:\n{}", first.output)
    })?;
    check(first.opaque.iter().all(|o| o == "false"), || {
        format!("{:?}", first.opaque)
    })?;
    // The compose files are named in the gate's progress lines.
    check(first.output.contains(&files), || first.output.clone())?;
    // Another run, another key; --opaque-tenants reaches compose.
    let second = gate_with_fake_compose(true);
    check(second.keys.first() != Some(key), || {
        "the key was reused".to_string()
    })?;
    check(
        !second.opaque.is_empty() && second.opaque.iter().all(|o| o == "true"),
        || format!("{:?}", second.opaque),
    )?;
    check(
        second
            .output
            .contains("opaque tenants: every replay runs; its reference-only steps and checks"),
        || second.output.clone(),
    )?;
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let present = docker_compose_present();
    if !present {
        eprintln!(
            "real_tenant_compose: docker-compose is not installed: compose_config_of_the_real_tenant_override is ignored (install docker-compose 1.29 to run it)"
        );
    }
    let trials = vec![
        Trial::test("compose_config_of_the_real_tenant_override", compose_config)
            .with_ignored_flag(!present),
        Trial::test(
            "gate_invokes_compose_with_both_files_and_a_fresh_key",
            gate_invocation,
        ),
    ];
    libtest_mimic::run(&args, trials).exit();
}
