# shellcheck shell=bash
# The one build of the workspace that the tests and the images share, sourced
# by scripts/test.sh, docker/build-images.sh and .ci/run (after `cd` to the
# repository root):
#
#   "${CP_HARNESS_CARGO_TEST[@]}" [--no-run] [args]
#   = cargo test --workspace --profile ci --target <host triple> ...
#
# The target's rustflags add +crt-static and a non-PIE relocation model:
# static binaries that run in a FROM scratch image (and carry no dynamic
# relocations). Because of --target those flags stay off build scripts and
# proc macros, which remain ordinary host code. Every test binary and the
# four binaries the images take (cp-stub, tenant-double, seed, replays) come
# out of that one compile, into $CP_HARNESS_BIN_DIR, so the tests run against
# the very binaries the images hold. Profile `ci` (Cargo.toml): see there.
#
#   CP_HARNESS_PROFILE    cargo profile [ci]
#   CP_HARNESS_TARGET     target triple [the host's, e.g. x86_64-unknown-linux-gnu]
#   CP_HARNESS_RUSTFLAGS  extra rustflags for that target (.ci/run: -D warnings)
CP_HARNESS_PROFILE=${CP_HARNESS_PROFILE:-ci}
CP_HARNESS_TARGET=${CP_HARNESS_TARGET:-$(rustc -vV | sed -n 's/^host: //p')}
case $CP_HARNESS_PROFILE in
  dev | test) CP_HARNESS_BIN_DIR=debug ;;
  bench) CP_HARNESS_BIN_DIR=release ;;
  *) CP_HARNESS_BIN_DIR=$CP_HARNESS_PROFILE ;;
esac
CP_HARNESS_BIN_DIR=${CARGO_TARGET_DIR:-target}/$CP_HARNESS_TARGET/$CP_HARNESS_BIN_DIR
# target.<triple>.rustflags, e.g. CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS.
CP_HARNESS_STATIC_FLAGS="-C target-feature=+crt-static -C relocation-model=static"
export "CARGO_TARGET_$(tr 'a-z.-' 'A-Z__' <<<"$CP_HARNESS_TARGET")_RUSTFLAGS=$CP_HARNESS_STATIC_FLAGS${CP_HARNESS_RUSTFLAGS:+ $CP_HARNESS_RUSTFLAGS}"
# The doctests link against the same (non-PIC) libraries.
case " ${RUSTDOCFLAGS:-} " in
  *" $CP_HARNESS_STATIC_FLAGS "*) ;;
  *) export RUSTDOCFLAGS="$CP_HARNESS_STATIC_FLAGS${RUSTDOCFLAGS:+ $RUSTDOCFLAGS}" ;;
esac
CP_HARNESS_CARGO_TEST=(cargo test --workspace --profile "$CP_HARNESS_PROFILE" --target "$CP_HARNESS_TARGET")
