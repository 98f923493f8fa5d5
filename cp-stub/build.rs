//! Embeds the git commit the binary is built from as `CP_STUB_GIT_SHA`
//! (served by `/__/stub/version`). `CP_STUB_GIT_SHA` in the build
//! environment wins (image builds without `.git`); `unknown` otherwise.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=CP_STUB_GIT_SHA");
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let git_dir = Path::new(&manifest).join("..").join(".git");
    for watched in ["HEAD", "packed-refs", "refs/heads"] {
        let p = git_dir.join(watched);
        if p.exists() {
            println!("cargo:rerun-if-changed={}", p.display());
        }
    }
    let sha = std::env::var("CP_STUB_GIT_SHA")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| {
            Command::new("git")
                .args(["rev-parse", "--short", "HEAD"])
                .current_dir(&manifest)
                .output()
                .ok()
                .filter(|o| o.status.success())
                .and_then(|o| String::from_utf8(o.stdout).ok())
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        })
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=CP_STUB_GIT_SHA={sha}");
}
