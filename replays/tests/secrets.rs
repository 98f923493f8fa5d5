//! No secret in any output of `replays run`: the `secrets-masked` golden
//! case's replays (a secret sent in a query, headers, a JSON body, from
//! `${SECRET_VAR}`, `--var` and the env file, captured under a secret name,
//! received in the tenant config, printed by a shell replay), run against
//! an in-process cp-stub with and without `-q`; none of the values may
//! appear on stdout, on stderr, in the JUnit or in the JSON report (whose
//! failure bundles hold the curl lines and journal lines).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use test_support::stub::start_default;

/// Every secret value of the case, and what makes it one.
const SECRETS: &[(&str, &str)] = &[
    ("var-s3cret-0001", "SECRET_TOKEN in the environment"),
    ("adm1n-t0ken-0002", "ADMIN_TOKEN in the environment"),
    ("query-s3cret-0003", "a ?token= query value"),
    ("hdr-s3cret-0004", "an X-Api-Key header"),
    ("db-pw-0005", "a password in a URL in a JSON body"),
    (
        "sh-s3cret-0007",
        "an api_key= query printed by a shell replay",
    ),
    ("sh-pw-0008", "a URL password printed by a shell replay"),
    ("file-s3cret-0009", "FILE_TOKEN in the env file"),
    ("flag-s3cret-0010", "FLAG_SECRET given with --var"),
    (
        "harness-shared-secret",
        "MOLECULE_CP_SHARED_SECRET in the tenant config answer",
    ),
    (
        "harness-llm-usage-token",
        "MOLECULE_LLM_USAGE_TOKEN in the tenant config answer",
    ),
    ("mol-ws-ws-sec", "captured as SESSION_TOKEN"),
];

fn case_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/secrets-masked")
}

struct Outputs {
    stdout: String,
    stderr: String,
    junit: String,
    json: String,
}

fn run(base: &str, quiet: bool) -> Outputs {
    let tmp = tempfile::tempdir().unwrap();
    let junit = tmp.path().join("junit.xml");
    let json = tmp.path().join("report.json");
    let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_replays"));
    cmd.current_dir(case_dir())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("CP_STUB_BASE", base)
        .env("SECRET_TOKEN", "var-s3cret-0001")
        .env("ADMIN_TOKEN", "adm1n-t0ken-0002")
        .args(["run", "--dir", "replays", "--env-file", "secrets.env"])
        .args(["--var", "FLAG_SECRET=flag-s3cret-0010", "--junit"])
        .arg(&junit)
        .arg("--json")
        .arg(&json)
        .timeout(Duration::from_secs(60));
    if quiet {
        cmd.arg("-q");
    }
    let out = cmd.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Outputs {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        junit: std::fs::read_to_string(&junit).unwrap(),
        json: std::fs::read_to_string(&json).unwrap(),
    }
}

fn leaks(o: &Outputs) -> Vec<String> {
    let mut found = Vec::new();
    for (what, text) in [
        ("stdout", &o.stdout),
        ("stderr", &o.stderr),
        ("junit", &o.junit),
        ("json", &o.json),
    ] {
        for (value, why) in SECRETS {
            if text.contains(value) {
                found.push(format!("{what} holds {value} ({why})"));
            }
        }
    }
    found
}

#[test]
fn no_secret_reaches_stdout_stderr_junit_or_json() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let stub = rt.block_on(start_default());
    for quiet in [false, true] {
        let o = run(&stub.base_url(), quiet);
        assert_eq!(leaks(&o), Vec::<String>::new(), "quiet={quiet}");

        // The outputs are the ones that would leak: the failure bundle with
        // its curl line and journal, the bodies, the shell output.
        let doc: Value = serde_json::from_str(&o.json).expect("the JSON report stays JSON");
        let replays = doc["replays"].as_array().unwrap();
        let bundle = &replays[0]["bundle"];
        let curl = bundle["curl"].as_str().unwrap();
        assert!(
            curl.contains("access_token=<redacted>")
                && curl.contains("-H 'X-Api-Key: <redacted>'")
                && curl.contains(r#""ADMIN_TOKEN":"<redacted>""#)
                && curl.contains("postgres://u:<redacted>@h/db"),
            "{curl}"
        );
        assert_eq!(bundle["journal"].as_array().unwrap().len(), 2, "{bundle}");
        assert!(replays[1]["output"]
            .as_str()
            .unwrap()
            .contains("token is <redacted>"));
        for text in [&o.stdout, &o.junit] {
            assert!(text.contains("MOLECULE_CP_SHARED_SECRET"), "{text}");
            assert!(text.contains("reproduce: curl"), "{text}");
        }
        quick_junit::Report::deserialize_from_str(&o.junit).expect("the JUnit stays XML");
    }
    rt.block_on(stub.shutdown());
}
