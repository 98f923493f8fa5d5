//! `--shard K/N`: the partition of the shipped suite (disjoint, covering,
//! stable), `replays run --shard` against an in-process cp-stub (exit codes
//! and reports per shard, an empty shard), `replays report merge`, and the
//! embedded gate's shards covering the suite.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use replay_runner::{RunOptions, Selection, Shard};
use serde_json::Value;
use test_support::stub::start_default;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn shipped() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("cases")
}

fn shipped_names() -> Vec<String> {
    replay_runner::load_dir(&shipped())
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect()
}

fn shard(k: u32, n: u32) -> Shard {
    Shard::new(k, n).unwrap()
}

#[test]
fn the_shards_of_the_shipped_suite_are_disjoint_and_cover_it() {
    let all = replay_runner::load_dir(&shipped()).unwrap();
    let names: BTreeSet<String> = all.iter().map(|r| r.name.clone()).collect();
    assert!(names.len() >= 5, "{names:?}");
    for n in 1..=5 {
        let mut seen: BTreeMap<String, u32> = BTreeMap::new();
        for k in 1..=n {
            let sel = Selection::new(all.clone(), Some(shard(k, n)));
            let info = sel.shard.unwrap();
            assert_eq!((info.index, info.count, info.selected), (k, n, all.len()));
            for r in sel.replays {
                if let Some(other) = seen.insert(r.name.clone(), k) {
                    panic!("{} in shards {other} and {k} of {n}", r.name);
                }
            }
        }
        let covered: BTreeSet<String> = seen.keys().cloned().collect();
        assert_eq!(covered, names, "the {n} shards do not cover the suite");
    }
}

/// Which shard of 3 each shipped replay falls in. A change of the hash (or
/// of how it is reduced) moves replays and fails this; a replay added to
/// replays/cases needs no entry.
#[test]
fn the_partition_is_stable() {
    const GOLDEN_OF_3: &[(&str, u32)] = &[
        ("cp-stub-faults-round-trip", 1),
        ("cp-stub-provision-config", 2),
        ("cp-stub-reset-snapshot", 1),
        ("cp-stub-unmatched-501", 3),
        ("tenant-admin-restart", 2),
        ("tenant-config-applied", 2),
        ("tenant-cp-bases", 3),
        ("tenant-isolation", 2),
        ("tenant-provision-attributed", 2),
        ("tenant-stop-reaches-stub", 3),
    ];
    for (name, k) in GOLDEN_OF_3 {
        assert_eq!(Shard::of(name, 3), *k, "{name}");
        assert!(shard(*k, 3).contains(name), "{name}");
    }
    // Most of the golden names are still shipped (the list is not stale).
    let shipped = shipped_names();
    let present = GOLDEN_OF_3
        .iter()
        .filter(|(n, _)| shipped.iter().any(|s| s == n))
        .count();
    assert!(
        present >= 8,
        "only {present} golden names are shipped: refresh the list"
    );
}

const PASSING: &[&str] = &[
    "s-alpha",
    "s-beta",
    "s-gamma",
    "s-delta",
    "s-epsilon",
    "s-zeta",
];
const FAILING: &str = "s-fail";

/// A folder of replays against `${CP_STUB_BASE}`: six pass, `s-fail` fails.
fn suite() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in PASSING.iter().chain([&FAILING]) {
        let status = if *name == FAILING { 418 } else { 200 };
        std::fs::write(
            dir.path().join(format!("{name}.toml")),
            format!(
                "name = \"{name}\"\n[[step]]\nrequest.url = \"${{CP_STUB_BASE}}/healthz\"\nexpect.status = {status}\n"
            ),
        )
        .unwrap();
    }
    dir
}

fn replays(cwd: &Path, stub: &str, args: &[&str]) -> std::process::Output {
    assert_cmd::Command::new(env!("CARGO_BIN_EXE_replays"))
        .current_dir(cwd)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("CP_STUB_BASE", stub)
        .env("NO_COLOR", "1")
        .args(args)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap()
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn junit(path: &Path) -> quick_junit::Report {
    quick_junit::Report::deserialize_from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn run_shards_exit_and_report_on_their_own_and_merge() {
    let rt = runtime();
    let stub = rt.block_on(start_default());
    let base = stub.base_url();
    let dir = suite();
    let d = dir.path();
    let failing_shard = Shard::of(FAILING, 3);
    let mut names = BTreeSet::new();
    for k in 1..=3u32 {
        let out = replays(
            d,
            &base,
            &[
                "run",
                "--no-env-file",
                "--dir",
                ".",
                "--shard",
                &format!("{k}/3"),
                "--report-dir",
                "reports",
            ],
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let expected = i32::from(k == failing_shard);
        assert_eq!(out.status.code(), Some(expected), "shard {k}/3:\n{stdout}");
        assert!(stdout.starts_with(&format!("Shard {k}/3: ")), "{stdout}");
        assert!(stdout.contains(" of 7 replays"), "{stdout}");
        let j = json(&d.join(format!("reports/replays-shard-{k}-of-3.json")));
        assert_eq!(j["shard"]["index"], k);
        assert_eq!(j["shard"]["count"], 3);
        assert_eq!(j["shard"]["selected"], 7);
        assert_eq!(j["exit_code"], expected);
        let x = junit(&d.join(format!("reports/junit-shard-{k}-of-3.xml")));
        assert_eq!(x.test_suites.len(), 1);
        assert_eq!(
            x.test_suites[0].name.as_str(),
            format!("replays (shard {k}/3)")
        );
        let in_json: BTreeSet<String> = j["replays"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect();
        let in_junit: BTreeSet<String> = x.test_suites[0]
            .test_cases
            .iter()
            .map(|c| c.name.as_str().to_string())
            .collect();
        assert_eq!(in_json, in_junit);
        for n in in_json {
            assert!(shard(k, 3).contains(&n), "{n} is not of shard {k}/3");
            assert!(names.insert(n.clone()), "{n} ran in two shards");
        }
    }
    let all: BTreeSet<String> = PASSING
        .iter()
        .chain([&FAILING])
        .map(|s| s.to_string())
        .collect();
    assert_eq!(names, all);

    // Merge: every shard, any order.
    let out = replays(
        d,
        &base,
        &[
            "report",
            "merge",
            "reports/replays-shard-3-of-3.json",
            "reports/replays-shard-1-of-3.json",
            "reports/replays-shard-2-of-3.json",
            "-o",
            "all.json",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("3 shards: 6 passed, 1 failed, 0 skipped (of 7 total); wrote all.json"),
        "{stderr}"
    );
    let m = json(&d.join("all.json"));
    assert_eq!(m["summary"]["total"], 7);
    assert_eq!(m["counts"]["fail"], 1);
    assert_eq!(m["exit_code"], 1);
    assert_eq!(m["shards"].as_array().unwrap().len(), 3);
    // A shard missing, a shard twice: exit 2, named.
    let out = replays(
        d,
        &base,
        &[
            "report",
            "merge",
            "reports/replays-shard-1-of-3.json",
            "reports/replays-shard-2-of-3.json",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("shard(s) 3 of 3 missing"), "{stderr}");
    let out = replays(
        d,
        &base,
        &[
            "report",
            "merge",
            "reports/replays-shard-1-of-3.json",
            "reports/replays-shard-1-of-3.json",
            "reports/replays-shard-2-of-3.json",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("shard 1/3 twice"));
    rt.block_on(stub.shutdown());
}

#[test]
fn an_empty_shard_passes_with_valid_reports() {
    let rt = runtime();
    let stub = rt.block_on(start_default());
    let dir = suite();
    let d = dir.path();
    let names: Vec<&str> = PASSING.iter().copied().chain([FAILING]).collect();
    let empty = (1..=8u32)
        .find(|k| !names.iter().any(|n| shard(*k, 8).contains(n)))
        .expect("7 replays leave a shard of 8 empty");
    let out = replays(
        d,
        &stub.base_url(),
        &[
            "run",
            "--no-env-file",
            "--dir",
            ".",
            "--shard",
            &format!("{empty}/8"),
            "--junit",
            "e.xml",
            "--json",
            "e.json",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "Shard {empty}/8: selected 0 of 7 replays (by a hash of the name, mod 8): nothing to run in this shard, a PASS"
        )),
        "{stdout}"
    );
    assert!(stdout.contains("(of 0 total)"), "{stdout}");
    let x = junit(&d.join("e.xml"));
    assert_eq!(
        x.test_suites[0].name.as_str(),
        format!("replays (shard {empty}/8)")
    );
    assert!(x.test_suites[0].test_cases.is_empty());
    let j = json(&d.join("e.json"));
    assert_eq!(
        (j["exit_code"].clone(), j["summary"]["total"].clone()),
        (0.into(), 0.into())
    );
    assert_eq!(j["shard"]["selected"], 7);
    rt.block_on(stub.shutdown());
}

#[test]
fn embedded_gate_shards_cover_the_suite() {
    let rt = runtime();
    let mut ran: BTreeMap<String, u32> = BTreeMap::new();
    for k in 1..=2 {
        let opts = replays::GateOptions {
            run: RunOptions {
                dir: shipped(),
                shard: Some(shard(k, 2)),
                print: false,
                ..RunOptions::default()
            },
            progress: false,
            ..Default::default()
        };
        let outcome = rt.block_on(replays::gate(&opts)).unwrap();
        assert_eq!(outcome.exit_code, 0, "shard {k}/2: {:?}", outcome.failure);
        let info = outcome.summary.shard.expect("the summary names its shard");
        assert_eq!((info.index, info.count), (k, 2));
        for r in &outcome.summary.replays {
            if let Some(other) = ran.insert(r.name.clone(), k) {
                panic!("{} in gate shards {other} and {k}", r.name);
            }
        }
    }
    let covered: Vec<String> = ran.into_keys().collect();
    let mut all = shipped_names();
    all.sort();
    assert_eq!(covered, all);
}

#[test]
fn list_shows_the_partition() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = replays(root, "", &["list", "--dir", "cases", "--shards", "3"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut listed = Vec::new();
    for line in stdout.lines() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        let [name, "shard", k, file] = cols[..] else {
            panic!("line `{line}`")
        };
        assert_eq!(k, format!("{}/3", Shard::of(name, 3)), "{line}");
        assert_eq!(file, format!("cases/{name}.toml"));
        listed.push(name.to_string());
    }
    assert_eq!(listed, shipped_names());
    // --shard K/N lists what `run --shard K/N` runs, after the same note.
    let out = replays(root, "", &["list", "--dir", "cases", "--shard", "2/3"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut lines = stdout.lines();
    assert!(lines.next().unwrap().starts_with("Shard 2/3: "), "{stdout}");
    let names: Vec<&str> = lines
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    let expected: Vec<String> = shipped_names()
        .into_iter()
        .filter(|n| shard(2, 3).contains(n))
        .collect();
    assert_eq!(names, expected);
    let out = replays(root, "", &["list", "--dir", "cases", "--shard", "4/3"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("K must be between 1 and 3"));
}

/// Two compose shards at once on this host: each its own project and
/// ports, both pass, and together they ran the suite once. Needs Docker
/// and the images: `cargo test -p replays --test shards -- --ignored`.
#[test]
#[ignore = "needs Docker, compose and the cp-harness images"]
fn two_compose_shards_run_side_by_side() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let reports = tempfile::tempdir().unwrap();
    let children: Vec<_> = (1..=2)
        .map(|k| {
            let dir = reports.path().to_path_buf();
            let root = root.clone();
            std::thread::spawn(move || {
                assert_cmd::Command::new(env!("CARGO_BIN_EXE_replays"))
                    .current_dir(&root)
                    .env_remove("KEEP_UP")
                    .env_remove("COMPOSE_PROJECT_NAME")
                    .env_remove("CP_STUB_PORT")
                    .env_remove("ALPHA_PORT")
                    .env_remove("BETA_PORT")
                    .args(["gate", "--stack", "compose", "--color", "never", "--shard"])
                    .arg(format!("{k}/2"))
                    .arg("--report-dir")
                    .arg(&dir)
                    .timeout(Duration::from_secs(900))
                    .output()
                    .unwrap()
            })
        })
        .collect();
    let mut ran = BTreeSet::new();
    for (k, child) in (1..=2u32).zip(children) {
        let out = child.join().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "shard {k}/2:\n{stderr}");
        let p = 9090 + 10 * k;
        assert!(
            stderr.contains(&format!("cp-stub http://127.0.0.1:{p},")),
            "{stderr}"
        );
        assert!(
            stderr.contains(&format!("-shard-{k}-of-2 up -d")),
            "{stderr}"
        );
        let j = json(&reports.path().join(format!("replays-shard-{k}-of-2.json")));
        for r in j["replays"].as_array().unwrap() {
            assert!(ran.insert(r["name"].as_str().unwrap().to_string()));
        }
    }
    assert_eq!(ran.into_iter().collect::<Vec<_>>(), shipped_names());
}
