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
        "name = \"x\"\nowns_stub = true\nstub = \"${MY_STUB}\"\n[[step]]\nexpect.counters = [{ counter = \"provision_calls\", delta = 0 }]\n",
    )
    .unwrap();
    assert!(t.exclusive && t.needs_stub);
    assert!(t.requires.contains("MY_STUB"));
    let t = parse(
        "name = \"x\"\nowns_stub = true\n[[step]]\nrequest = { method = \"POST\", url = \"${B}/__/stub/reset\" }\n",
    )
    .unwrap();
    assert!(t.exclusive);
    let t = parse(
        "name = \"x\"\n[[step]]\nrequest = { url = \"${B}/__/stub/requests?route=provision&workspace=${W}\" }\n",
    )
    .unwrap();
    assert!(!t.exclusive, "journal reads are safe in parallel");
    let t =
        parse("name = \"x\"\nexclusive = true\n[[step]]\nrequest.url = \"http://h/\"\n").unwrap();
    assert!(t.exclusive);
    // The replay's own scope and a workspace are nobody else's: parallel.
    let t = parse(
        "name = \"x\"\n[[step]]\nrequest = { method = \"POST\", url = \"${B}/__/stub/reset?replay=${REPLAY_ID}\" }\nexpect.counters = [{ counter = \"total_requests\", delta = 0, replay = true }, { counter = \"stop\", delta = 0, workspace = \"${W}\" }]\n",
    )
    .unwrap();
    assert!(t.needs_stub && !t.exclusive);
    // An org is shared by every replay that drives its tenant: alone.
    let t = parse(
        "name = \"x\"\n[[step]]\nexpect.counters = [{ counter = \"provision\", delta = 0, org = \"${O}\" }]\n",
    )
    .unwrap();
    assert!(t.exclusive);
}

#[test]
fn unscoped_exact_checks_are_rejected_naming_the_step_line_and_fix() {
    let m = messages(
        r#"name = "x"
[[step]]
name = "count"
request.url = "${B}/cp/x"
expect.counters = [{ counter = "unmatched", delta = 1 }]
[[step]]
name = "journal"
request.url = "${B}/__/stub/requests?route=stop"
[[step]]
name = "wipe"
request = { method = "POST", url = "${B}/__/stub/snapshot" }
[[step]]
name = "fault"
request = { method = "POST", url = "${B}/__/stub/faults", json = { route = "provision", status = 503 } }
[[step]]
name = "two"
request.url = "${B}/cp/x"
expect.counters = [{ counter = "unmatched", delta = 1, replay = true, org = "o" }]
"#,
    );
    assert_eq!(m.len(), 5, "{m:#?}");
    assert!(m[0].starts_with("r.toml:5:"), "{}", m[0]);
    assert!(
        m[0].contains("step `count`: counter `unmatched +1` has no scope"),
        "{}",
        m[0]
    );
    assert!(
        m[0].contains("add `replay = true`") && m[0].contains("`owns_stub = true`"),
        "{}",
        m[0]
    );
    assert!(
        m[1].starts_with("r.toml:8:") && m[1].contains("step `journal`: the journal query"),
        "{}",
        m[1]
    );
    assert!(m[1].contains("workspace=${WS_ID}"), "{}", m[1]);
    assert!(m[2].contains("step `wipe`: the snapshot"), "{}", m[2]);
    assert!(m[3].contains("step `fault`: the fault"), "{}", m[3]);
    assert!(
        m[4].contains("step `two`: counter `unmatched` names 2 scopes"),
        "{}",
        m[4]
    );
    // owns_stub allows them all but the double scope.
    let owned = parse(&format!(
        "owns_stub = true\n{}",
        r#"name = "x"
[[step]]
request.url = "${B}/cp/x"
expect.counters = [{ counter = "unmatched", delta = 1 }]
[[step]]
request.url = "${B}/__/stub/requests?route=stop"
"#
    ));
    assert!(owned.is_ok(), "{owned:#?}");
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
        "GET",
        "http://h/__/stub/counts?org=a"
    ));
    assert!(!admin_call_is_shared(
        "POST",
        "http://h/__/stub/snapshot?replay=${REPLAY_ID}"
    ));
    assert!(admin_call_is_shared("POST", "http://h/__/stub/reset?org=o"));
    assert!(admin_call_is_shared(
        "POST",
        "http://h/__/stub/reset?replay="
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

#[test]
fn vars_use_earlier_vars_in_file_order() {
    let t = parse(
        "name = \"x\"\n[vars]\nZ = \"z-${OUTSIDE}\"\nB = \"${Z}/b\"\nA = \"${B}/a\"\n[[step]]\nrequest.url = \"http://h/${A}\"\n",
    )
    .unwrap();
    assert_eq!(t.var_order, vec!["Z", "B", "A"]);
    let req: Vec<&str> = t.requires.iter().map(String::as_str).collect();
    assert_eq!(req, vec!["OUTSIDE"]);

    let m = messages(
        "name = \"x\"\n[vars]\nA = \"${B}\"\nB = \"b\"\n[[step]]\nrequest.url = \"http://h/\"\n",
    );
    assert_eq!(
        m,
        vec!["r.toml:3:5: [vars] `A` uses `${B}`, which is defined below it (line 4); [vars] are resolved in file order: move `B` above `A`"]
    );
    let m = messages("name = \"x\"\n[vars]\nA = \"${B}\"\nB = \"${C}\"\nC = \"${A}\"\n[[step]]\nrequest.url = \"http://h/\"\n");
    assert_eq!(m.len(), 2, "{m:?}");
    assert!(
        m[0].starts_with("r.toml:3:5: [vars] cycle: A → B → C → A;"),
        "{m:?}"
    );
    assert!(
        m[1].starts_with("r.toml:4:5: [vars] cycle: B → C → A → B;"),
        "{m:?}"
    );
    let m = messages(
        "name = \"x\"\n[vars]\nA = \"${A}-${A}\"\n[[step]]\nrequest.url = \"http://h/\"\n",
    );
    assert_eq!(m.len(), 1, "{m:?}");
    assert!(
        m[0].starts_with("r.toml:3:5: [vars] `A` refers to itself"),
        "{m:?}"
    );
    for msg in m {
        assert!(!msg.contains("Missing("), "{msg}");
    }
}

#[test]
fn header_names_and_values_are_checked_where_written() {
    let m = messages(
        "name = \"x\"\n[[step]]\nrequest = { url = \"http://h/\", headers = { \"X Bad\" = \"v\", \"X-Ok\" = \"a\\r\\nInjected: 1\", Authorization = \"Bearer s3cr3t\\n\" } }\nexpect.headers = { \"Bad Name\" = \"v\" }\n",
    );
    assert_eq!(m.len(), 4, "{m:?}");
    assert!(
        m.iter().any(|l| l.starts_with("r.toml:3:")
            && l.contains("header name `X Bad` is not an HTTP header name")),
        "{m:?}"
    );
    assert!(
        m.iter().any(|l| l.starts_with("r.toml:3:")
            && l.contains("the value of header `X-Ok` holds a CR, LF")),
        "{m:?}"
    );
    assert!(
        m.iter()
            .any(|l| l.starts_with("r.toml:4:") && l.contains("header name `Bad Name`")),
        "{m:?}"
    );
    // A value is never echoed: it may be a secret.
    assert!(
        m.iter()
            .all(|l| !l.contains("s3cr3t") && !l.contains("Injected")),
        "{m:?}"
    );
}

#[test]
fn a_file_that_is_not_utf8_gets_the_position_of_its_first_bad_byte() {
    let d = decode(Path::new("r.toml"), b"name = \"x\"\n# caf\xe9\n").unwrap_err();
    assert_eq!((d.line, d.column), (2, 6), "{d}");
    assert!(
        d.to_string()
            .starts_with("r.toml:2:6: not UTF-8: byte 0xe9"),
        "{d}"
    );
    assert_eq!(
        decode(Path::new("r.toml"), "ok é".as_bytes()).unwrap(),
        "ok é"
    );
}

#[test]
fn an_empty_folder_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let e = check(dir.path()).unwrap_err();
    assert!(matches!(e, LoadError::Empty(_)), "{e}");
    assert!(
        e.to_string().contains(&dir.path().display().to_string()),
        "{e}"
    );
    assert!(e.to_string().contains("pass --dir"), "{e}");
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Pieces of replay files, valid and broken, glued in any order.
    const PIECES: &[&str] = &[
        "name = \"x\"\n",
        "[[step]]\n",
        "[vars]\n",
        "[step.expect]\n",
        "[step.poll]\n",
        "request.url = \"http://h/${A}\"\n",
        "request = { url = \"${CP_STUB_BASE}/x\", headers = { \"X Y\" = \"a\\r\\n\" } }\n",
        "A = \"${B}\"\n",
        "B = \"${A}\"\n",
        "expect.status = 201\n",
        "expect.status = [\n",
        "expect.json = [{ path = \"$.a\", equals = 1 }]\n",
        "capture = { T = \"$.t\" }\n",
        "counters = [{ counter = \"provision_calls\", delta = 1, since = \"s\" }]\n",
        "timeout = \"10s\"\n",
        "interval = \"1h\"\n",
        "\"",
        "{",
        "}",
        "[",
        "]",
        "=",
        "\n",
        " ",
        "${",
        "é",
        "\u{0}",
        "\r\n",
        "# c\n",
        "json = { a = [1, {b = \"${X}\"}] }\n",
    ];

    fn toml_ish() -> impl Strategy<Value = String> {
        prop_oneof![
            proptest::collection::vec(proptest::sample::select(PIECES), 0..40)
                .prop_map(|v| v.concat()),
            any::<String>(),
        ]
    }

    /// Whether a diagnostic's position lies within `src` (line 1-based,
    /// column at most one past the line's last character).
    fn within(src: &str, d: &Diagnostic) -> bool {
        let lines: Vec<&str> = src.split('\n').collect();
        d.line >= 1
            && d.line <= lines.len()
            && d.column >= 1
            && d.column <= lines[d.line - 1].chars().count() + 1
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any text: no panic, and every error carries a position inside it.
        #[test]
        fn errors_carry_positions_within_the_input(src in toml_ish()) {
            if let Err(diags) = parse(&src) {
                prop_assert!(!diags.is_empty());
                for d in &diags {
                    prop_assert!(within(&src, d), "{} outside {:?}", d, src);
                    prop_assert!(!d.message.contains("Missing("), "{}", d);
                }
            }
        }

        /// Any bytes: text that is not UTF-8 is an error at its first bad byte.
        #[test]
        fn bytes_decode_or_point_at_the_bad_one(
            bytes in proptest::collection::vec(any::<u8>(), 0..200)
        ) {
            match decode(Path::new("r.toml"), &bytes) {
                Ok(src) => prop_assert_eq!(src.as_bytes(), &bytes[..]),
                Err(d) => {
                    let good = std::str::from_utf8(&bytes[..std::str::from_utf8(&bytes).unwrap_err().valid_up_to()]).unwrap();
                    prop_assert!(within(good, &d), "{} outside {:?}", d, good);
                }
            }
        }
    }
}
