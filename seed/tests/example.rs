//! `.seed.env.example` at the repo root is generated from `seed::KEYS`;
//! `UPDATE_SEED_EXAMPLE=1 cargo test -p seed --test example` rewrites it.

use std::path::Path;

#[test]
fn the_checked_in_example_matches_the_key_table() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.seed.env.example");
    let expected = seed::example_text();
    if std::env::var_os("UPDATE_SEED_EXAMPLE").is_some() {
        std::fs::write(&path, &expected).unwrap();
    }
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        ".seed.env.example is out of date with contract/src/seed_env.rs; run \
         `UPDATE_SEED_EXAMPLE=1 cargo test -p seed --test example`"
    );
    // Every key is documented by a comment line right above it.
    let lines: Vec<&str> = actual.lines().collect();
    for (name, _) in seed::parse_example(&actual) {
        let at = lines
            .iter()
            .position(|l| l.trim_start_matches("# ").starts_with(&format!("{name}=")))
            .unwrap();
        assert!(lines[at - 1].starts_with("# "), "{name} has no comment");
    }
}
