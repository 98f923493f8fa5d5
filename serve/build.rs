//! Embeds the git commit the workspace is built from as `HARNESS_GIT_SHA`,
//! which both servers serve (`harness_serve::GIT_SHA`: cp-stub at
//! `/__/stub/version`, tenant-double at `/buildinfo`, as the real tenant
//! serves its own). `GIT_SHA`, else `CP_STUB_GIT_SHA` (what the multi-stage
//! image build sets for the whole workspace), in the build environment wins
//! (builds without `.git`); else `git rev-parse`; `unknown` otherwise.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=GIT_SHA");
    println!("cargo:rerun-if-env-changed=CP_STUB_GIT_SHA");
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let git_dir = Path::new(&manifest).join("..").join(".git");
    for watched in ["HEAD", "packed-refs", "refs/heads"] {
        let p = git_dir.join(watched);
        if p.exists() {
            println!("cargo:rerun-if-changed={}", p.display());
        }
    }
    let given = |name: &str| {
        std::env::var(name)
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty() && s != "unknown")
    };
    let sha = given("GIT_SHA")
        .or_else(|| given("CP_STUB_GIT_SHA"))
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
    println!("cargo:rustc-env=HARNESS_GIT_SHA={sha}");
}
