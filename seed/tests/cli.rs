//! The `seed` binary: `check` (exit 2 naming missing / empty keys),
//! `clean`, a full run against an embedded stack with the input precedence
//! flags > env > `.env`, and exit codes.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use predicates::prelude::*;
use test_support::{stack::*, *};

fn repo_example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../.seed.env.example")
}

/// A complete, valid env file (the example's values).
fn valid_env_text() -> String {
    seed::KEYS
        .iter()
        .filter(|k| k.required)
        .map(|k| format!("{}={}\n", k.name, k.example))
        .collect()
}

/// `seed` with a clean environment, run in `dir`.
fn seed_cmd(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("seed").unwrap();
    cmd.env_clear().current_dir(dir);
    cmd
}

#[test]
fn check_accepts_a_complete_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".seed.env"), valid_env_text()).unwrap();
    seed_cmd(dir.path())
        .args(["check", "--example"])
        .arg(repo_example())
        .assert()
        .success()
        .stdout(predicate::str::contains(
            ".seed.env: ok (17 keys; stack 3f9c2a1b7d4e5f60",
        ));
}

#[test]
fn check_names_missing_and_empty_keys_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let text = valid_env_text()
        .replace("CP_STUB_BASE=http://localhost:9090\n", "")
        .replace(
            "ALPHA_PARENT_ID=00000000-0000-4000-8000-00000000a001",
            "ALPHA_PARENT_ID=",
        )
        + "STRAY_KEY=1\n";
    let file = dir.path().join("custom.env");
    std::fs::write(&file, text).unwrap();
    seed_cmd(dir.path())
        .args(["check", "--env-file", "custom.env", "--example"])
        .arg(repo_example())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("custom.env: 2 problem(s)"))
        .stderr(predicate::str::contains("missing key CP_STUB_BASE"))
        .stderr(predicate::str::contains("empty key ALPHA_PARENT_ID"))
        .stderr(predicate::str::contains("warning: STRAY_KEY is not declared"))
        .stderr(predicate::str::contains(
            "warning: ALPHA_ID (00000000-0000-4000-8000-00000000a001) should equal ALPHA_PARENT_ID",
        ).not());
}

#[test]
fn check_finds_the_example_beside_the_file_or_uses_the_built_in_list() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".seed.env"), "SEED_STACK_ID=x\n").unwrap();
    // No example beside it: the built-in key list.
    seed_cmd(dir.path())
        .arg("check")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("against the built-in key list"))
        .stderr(predicate::str::contains("missing key CP_STUB_BASE"));
    // An example beside it declares one key only: that is all it asks for.
    std::fs::write(
        dir.path().join(".seed.env.example"),
        "# doc\nSEED_STACK_ID=abc\n# OPTIONAL_KEY=1\n",
    )
    .unwrap();
    seed_cmd(dir.path())
        .arg("check")
        .assert()
        .success()
        .stdout(predicate::str::contains(".seed.env: ok (1 keys)"));
}

#[test]
fn check_of_a_missing_file_says_how_to_make_it() {
    let dir = tempfile::tempdir().unwrap();
    seed_cmd(dir.path())
        .arg("check")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(".seed.env not found: run `seed`"));
}

#[test]
fn clean_removes_the_file_and_leftover_temps() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".seed.env"), "A=1\n").unwrap();
    std::fs::write(dir.path().join(".seed.env.123-abcd.tmp"), "A=").unwrap();
    std::fs::write(dir.path().join(".seed.env.example"), "A=1\n").unwrap();
    seed_cmd(dir.path())
        .arg("clean")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "removed .seed.env and 1 leftover temp file(s)",
        ));
    assert_eq!(files_in(dir.path()), vec![".seed.env.example"]);
    seed_cmd(dir.path())
        .arg("clean")
        .assert()
        .success()
        .stdout(predicate::str::contains("did not exist; nothing to remove"));
}

async fn run_seed(dir: &Path, envs: &[(&str, String)], args: &[String]) -> Output {
    let mut cmd = tokio::process::Command::new(assert_cmd::cargo::cargo_bin("seed"));
    cmd.env_clear().current_dir(dir).args(args);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_seeds_with_flags_over_env_over_dotenv() {
    let stack = Stack::start().await;
    let dir = tempfile::tempdir().unwrap();
    // .env: a wrong alpha org (env beats it), the right beta base and stub.
    std::fs::write(
        dir.path().join(".env"),
        format!(
            "ALPHA_ORG_ID=org-from-dotenv\nBETA_BASE={}\nCP_STUB_BASE={}\n",
            stack.beta.base_url(),
            stack.stub.base_url()
        ),
    )
    .unwrap();
    let envs = [
        ("ALPHA_ORG_ID", "org-alpha".to_string()),
        // A wrong alpha base in the env: the flag beats it.
        ("ALPHA_BASE", dead_base()),
        ("HARNESS_STACK_ID", "cli-stack".to_string()),
    ];
    let args = [
        "--alpha-base".to_string(),
        stack.alpha.base_url().to_string(),
        "--timeout".into(),
        "20".into(),
    ];
    let out = run_seed(dir.path(), &envs, &args).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    assert!(
        stdout.contains("seed: wrote .seed.env (stack cli-stack"),
        "{stdout}"
    );
    assert!(stdout.contains("alpha-parent"), "{stdout}");
    // Not a terminal: plain progress lines.
    assert!(stderr.contains("seed: ✓ tenant alpha is up"), "{stderr}");
    let file = dir.path().join(".seed.env");
    assert_eq!(mode(&file), 0o600);
    let vars: std::collections::BTreeMap<String, String> =
        seed::read_env_file(&file).unwrap().into_iter().collect();
    assert_eq!(vars["ALPHA_ORG_ID"], "org-alpha");
    assert_eq!(vars["ALPHA_BASE"], stack.alpha.base_url());
    assert_eq!(vars["BETA_BASE"], stack.beta.base_url());
    assert_eq!(vars["SEED_STACK_ID"], "cli-stack");
    // And `seed check` accepts what `seed` wrote.
    let out = tokio::process::Command::new(assert_cmd::cargo::cargo_bin("seed"))
        .env_clear()
        .current_dir(dir.path())
        .arg("check")
        .arg("--example")
        .arg(repo_example())
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_1_for_the_stack_and_2_for_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let dead = dead_base();
    let out = run_seed(
        dir.path(),
        &[("ALPHA_BASE", dead.clone())],
        &["--timeout".into(), "1".into(), "--quiet".into()],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("tenant alpha is not reachable at {dead}/health")),
        "{stderr}"
    );
    assert!(!stderr.contains("waiting for"), "--quiet: {stderr}");
    assert!(!dir.path().join(".seed.env").exists());

    let out = run_seed(dir.path(), &[("BETA_ORG_ID", "org-alpha".into())], &[]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ALPHA_ORG_ID and BETA_ORG_ID"));

    let out = run_seed(dir.path(), &[], &["--timeout".into(), "soon".into()]).await;
    assert_eq!(out.status.code(), Some(2), "clap usage errors exit 2");
}

/// No secret in seed's output: neither the tenants' admin tokens nor the
/// shared secret the stub serves, on success or when a CP answer that echoes
/// a token makes the run fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeds_output_holds_no_secret_on_success_or_failure() {
    const BODY_SECRET: &str = "seed-body-S3CRET-7";
    let stack = Stack::start().await;
    let envs = [
        ("ALPHA_BASE", stack.alpha.base_url().to_string()),
        ("BETA_BASE", stack.beta.base_url().to_string()),
        ("CP_STUB_BASE", stack.stub.base_url()),
    ];
    let secrets = [
        contract::defaults::ALPHA_ADMIN_TOKEN,
        contract::defaults::BETA_ADMIN_TOKEN,
        cp_stub::DEFAULT_SHARED_SECRET,
        BODY_SECRET,
    ];
    let args = ["--timeout".to_string(), "20".to_string()];
    let ok_dir = tempfile::tempdir().unwrap();
    let ok = run_seed(ok_dir.path(), &envs, &args).await;
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    // Now a provision answer that echoes a token fails the run.
    let fault = contract::admin::FaultSpec {
        route: contract::RouteId::Provision.into(),
        status: Some(400),
        body: Some(serde_json::json!({"error": format!("rejected: token={BODY_SECRET}")})),
        ..Default::default()
    };
    let resp = client()
        .post(format!("{}/__/stub/faults", stack.stub.base_url()))
        .json(&fault)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let bad_dir = tempfile::tempdir().unwrap();
    let bad = run_seed(bad_dir.path(), &envs, &args).await;
    assert!(!bad.status.success());
    let bad_text = String::from_utf8_lossy(&bad.stderr).into_owned();
    assert!(
        bad_text.contains("400"),
        "the failure names the stub's answer: {bad_text}"
    );
    for out in [&ok, &bad] {
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        for secret in secrets {
            assert!(!text.contains(secret), "seed printed {secret}:\n{text}");
        }
    }
    stack.shutdown().await;
}
