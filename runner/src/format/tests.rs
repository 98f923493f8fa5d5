use std::path::Path;

use super::*;

fn parse(src: &str) -> Result<TomlReplay, Vec<Diagnostic>> {
    parse_toml(Path::new("r.toml"), src)
}

fn messages(src: &str) -> Vec<String> {
    parse(src)
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn unknown_fields_are_errors_with_line_and_column() {
    let m =
        messages("name = \"x\"\n[[step]]\nrequest.url = \"http://h/\"\nrequest.methd = \"GET\"\n");
    assert_eq!(m.len(), 1);
    assert!(
        m[0].starts_with("r.toml:4:9: unknown field `methd`"),
        "{m:?}"
    );
    let m =
        messages("name = \"x\"\ndescripton = \"typo\"\n[[step]]\nrequest.url = \"http://h/\"\n");
    assert!(
        m[0].starts_with("r.toml:2:1: unknown field `descripton`"),
        "{m:?}"
    );
    let m = messages("name = \"x\"\n[[step]]\nrequest.url = \"http://h/\"\nexpect.json = [{ path = \"$.a\", exist = true }]\n");
    assert!(m[0].contains("unknown field `exist`"), "{m:?}");
    let m = messages("name = \"x\"\n[[step]]\nrequest.url = \"http://h/\"\nexpect.status = 99\n");
    assert!(m[0].contains("99 is not an HTTP status"), "{m:?}");
}

#[test]
fn requires_are_declared_plus_inferred() {
    let t = parse(
        r#"
name = "x"
requires = ["ALPHA_ID"]
[vars]
WS = "ws-${REPLAY_ID}-${SUFFIX}"
[[step]]
request = { url = "${CP_STUB_BASE}/cp/x/${WS}", headers = { Authorization = "Bearer ${TOKEN}" } }
capture = { GOT = "$.id" }
[[step]]
request = { url = "${CP_STUB_BASE}/cp/y/${GOT}" }
expect.json = [{ path = "$['${KEY}']", equals = "${WANT}" }]
"#,
    )
    .unwrap();
    let req: Vec<&str> = t.requires.iter().map(String::as_str).collect();
    assert_eq!(
        req,
        vec!["ALPHA_ID", "CP_STUB_BASE", "KEY", "SUFFIX", "TOKEN", "WANT"]
    );
    assert!(t.needs_stub, "CP_STUB_BASE is used");
    assert!(!t.exclusive, "no counters, no admin calls");
    assert_eq!(t.step_names, vec!["1", "2"]);
}

#[test]
fn counters_and_admin_calls_make_a_replay_exclusive() {
    let t = parse(
        "name = \"x\"\nstub = \"${MY_STUB}\"\n[[step]]\nexpect.counters = [{ counter = \"provision_calls\", delta = 0 }]\n",
    )
    .unwrap();
    assert!(t.exclusive && t.needs_stub);
    assert!(t.requires.contains("MY_STUB"));
    let t = parse(
        "name = \"x\"\n[[step]]\nrequest = { method = \"POST\", url = \"${B}/__/stub/reset\" }\n",
    )
    .unwrap();
    assert!(t.exclusive);
    let t = parse(
        "name = \"x\"\n[[step]]\nrequest = { url = \"${B}/__/stub/requests?route=provision\" }\n",
    )
    .unwrap();
    assert!(!t.exclusive, "journal reads are safe in parallel");
    let t =
        parse("name = \"x\"\nexclusive = true\n[[step]]\nrequest.url = \"http://h/\"\n").unwrap();
    assert!(t.exclusive);
}

#[test]
fn shared_admin_calls() {
    assert!(admin_call_is_shared("GET", "http://h/__/stub/state"));
    assert!(admin_call_is_shared("GET", "http://h/__stub/state"));
    assert!(admin_call_is_shared("POST", "http://h/__/stub/snapshot"));
    assert!(admin_call_is_shared("DELETE", "http://h/__/stub/faults/3"));
    assert!(admin_call_is_shared("GET", "http://h/__/stub/faults"));
    assert!(!admin_call_is_shared("GET", "http://h/__/stub/version"));
    assert!(!admin_call_is_shared(
        "GET",
        "http://h/__/stub/requests?org=a"
    ));
    assert!(!admin_call_is_shared(
        "POST",
        "http://h/cp/workspaces/provision"
    ));
}

#[test]
fn semantic_errors_point_at_the_field() {
    let m = messages(
        r#"name = "x"
[[step]]
name = "a"
request.url = "http://h/"
expect.counters = [{ counter = "nope", delta = 1, since = "b" }]
[[step]]
name = "b"
request = { url = "http://h/", json = {}, body = "x" }
[[step]]
name = "a"
request.url = "http://h/"
"#,
    );
    assert!(
        m.iter()
            .any(|l| l.starts_with("r.toml:5:32: unknown counter `nope`")),
        "{m:#?}"
    );
    assert!(m.iter().any(|l| l.contains("names a later step")), "{m:#?}");
    assert!(
        m.iter().any(|l| l.contains("either `json` or `body`")),
        "{m:#?}"
    );
    assert!(
        m.iter().any(|l| l.contains("step name `a` is used twice")),
        "{m:#?}"
    );
}

#[test]
fn empty_replays_and_bad_templates() {
    let m = messages("name = \"\"\n");
    assert!(m.iter().any(|l| l.contains("`name` is empty")));
    assert!(m.iter().any(|l| l.contains("no steps")));
    let m = messages("name = \"x\"\n[[step]]\nrequest.url = \"${CP_STUB_BASE/x\"\n");
    assert!(m.iter().any(|l| l.contains("unclosed `${`")), "{m:?}");
}

#[test]
fn poll_and_durations() {
    let t = parse(
        "name = \"x\"\ntimeout = \"2m\"\n[[step]]\nrequest = { url = \"http://h/\", timeout = 3 }\npoll = { timeout = \"5s\", interval = \"100ms\" }\n",
    )
    .unwrap();
    assert_eq!(t.doc.timeout.unwrap().get().as_secs(), 120);
    let m = messages("name = \"x\"\n[[step]]\nrequest.url = \"http://h/\"\npoll = { timeout = \"1s\", interval = \"2s\" }\n");
    assert!(
        m[0].contains("poll interval 2s is longer than its timeout 1s"),
        "{m:?}"
    );
    let m = messages("name = \"x\"\ntimeout = \"soon\"\n[[step]]\nrequest.url = \"http://h/\"\n");
    assert!(m[0].contains("is not a duration"), "{m:?}");
}

#[test]
fn load_dir_finds_both_kinds_and_rejects_duplicate_names() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.toml"),
        "name = \"same\"\n[[step]]\nrequest.url = \"http://h/\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("b.sh"),
        "#!/bin/bash\n# name: same\nexit 0\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.md"), "ignored").unwrap();
    match load_dir(dir.path()) {
        Err(LoadError::Invalid(d)) => {
            assert_eq!(d.len(), 1);
            assert!(d[0].message.contains("names must be unique"));
        }
        other => panic!("{other:?}"),
    }
    std::fs::write(dir.path().join("b.sh"), "#!/bin/bash\nexit 0\n").unwrap();
    let r = load_dir(dir.path()).unwrap();
    assert_eq!(r.len(), 2);
    assert!(r[1].exclusive(), "shell replays always run alone");
}
