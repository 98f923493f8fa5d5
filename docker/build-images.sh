#!/usr/bin/env bash
# Build the cp-harness images with no registry access.
#
#   docker/build-images.sh                # the two images compose.yml runs
#   docker/build-images.sh --tools        # ... and cp-harness:local (seed + replays)
#   docker/build-images.sh --force        # rebuild the images even if up to date
#   docker/build-images.sh --no-cargo     # package the binaries already in docker/dist/
#   docker/build-images.sh --from-source  # docker/Dockerfile instead (needs registry access)
#
# Default flow: the workspace's one test-and-image build
# (scripts/build-env.sh: cargo test --workspace --no-run --profile ci
# --target <host>, static: +crt-static), so the images hold the very
# binaries the tests run and scripts/test.sh compiles nothing twice; copy
# cp-stub and tenant-double (with --tools also seed and replays) stripped to
# docker/dist/, then `docker build` docker/Dockerfile.scratch once per image:
#
#   target         tag (override)                                    contents
#   cp-stub        cp-harness/cp-stub:local       (CP_STUB_IMAGE)       /cp-stub
#   tenant-double  cp-harness/tenant-double:local (TENANT_DOUBLE_IMAGE) /tenant-double
#   tools          cp-harness:local               (TOOLS_IMAGE)         /seed, /replays
#
# An image is rebuilt only when its binaries, the rootfs or the Dockerfile
# changed (a content hash is kept in its label cp-harness.content); cargo
# itself is incremental. Nothing is pulled.
#
# Environment (scripts/build-env.sh):
#   CP_HARNESS_PROFILE            cargo profile [ci]
#   CP_HARNESS_TARGET             target triple [the host's, e.g. x86_64-unknown-linux-gnu]
#   CP_HARNESS_MAX_IMAGE_MB       warn when an image is larger [15]
#
# Prints one line per image with its size and writes docker/dist/image-sizes.txt.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

FROM_SOURCE=0
FORCE=0
NO_CARGO=0
TOOLS=0
for arg in "$@"; do
  case "$arg" in
    --from-source) FROM_SOURCE=1 ;;
    --force) FORCE=1 ;;
    --no-cargo) NO_CARGO=1 ;;
    --tools) TOOLS=1 ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "build-images.sh: unknown argument '$arg' (try --help)" >&2
      exit 2
      ;;
  esac
done

MAX_MB=${CP_HARNESS_MAX_IMAGE_MB:-15}
# Dockerfile target | tag | binaries it holds
TARGETS=(
  "cp-stub|${CP_STUB_IMAGE:-cp-harness/cp-stub:local}|cp-stub"
  "tenant-double|${TENANT_DOUBLE_IMAGE:-cp-harness/tenant-double:local}|tenant-double"
)
if [[ $TOOLS == 1 ]]; then
  TARGETS+=("tools|${TOOLS_IMAGE:-cp-harness:local}|seed replays")
fi
BINS=()
for entry in "${TARGETS[@]}"; do
  IFS='|' read -r _ _ bins <<<"$entry"
  read -r -a more <<<"$bins"
  BINS+=("${more[@]}")
done

log() { printf '[build-images] %s\n' "$*" >&2; }
die() {
  printf '[build-images] error: %s\n' "$*" >&2
  exit 1
}

command -v docker >/dev/null || die "docker not found: install Docker (Debian: apt-get install -y docker.io)"
docker info >/dev/null 2>&1 || die "the Docker engine does not answer (docker info failed): start dockerd"

git_sha() { git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown; }

# docker build with its (chatty) output shown only on failure.
docker_build() {
  local out
  if ! out=$(docker build "$@" 2>&1); then
    printf '%s\n' "$out" >&2
    die "docker build $* failed"
  fi
}

sha=$(git_sha)
if [[ $FROM_SOURCE == 1 ]]; then
  for entry in "${TARGETS[@]}"; do
    IFS='|' read -r target tag _ <<<"$entry"
    log "docker build -f docker/Dockerfile --target $target -t $tag . (from source; pulls rust and distroless)"
    docker_build -f docker/Dockerfile --target "$target" --build-arg GIT_SHA="$sha" -t "$tag" .
  done
else
  # shellcheck source=../scripts/build-env.sh
  source scripts/build-env.sh
  mkdir -p docker/dist
  if [[ $NO_CARGO == 0 ]]; then
    log "${CP_HARNESS_CARGO_TEST[*]} --no-run (static: +crt-static; the build the tests use)"
    start=$(date +%s)
    "${CP_HARNESS_CARGO_TEST[@]}" --no-run
    log "static build: $(($(date +%s) - start)) s"
    for bin in "${BINS[@]}"; do
      src="$CP_HARNESS_BIN_DIR/$bin"
      [[ -x $src ]] || die "$src was not built"
      # Symbols and debug info stay in the target dir, not in the image.
      if command -v strip >/dev/null; then
        strip -o "docker/dist/$bin.tmp" "$src"
      else
        log "strip not found (binutils): $bin goes into the image unstripped"
        cp -f "$src" "docker/dist/$bin.tmp"
      fi
      if cmp -s "docker/dist/$bin.tmp" "docker/dist/$bin"; then
        rm -f "docker/dist/$bin.tmp"
      else
        mv -f "docker/dist/$bin.tmp" "docker/dist/$bin"
      fi
    done
  fi
  for bin in "${BINS[@]}"; do
    [[ -x docker/dist/$bin ]] || die "docker/dist/$bin is missing (run without --no-cargo)"
    # A dynamically linked binary would not start in a FROM scratch image.
    if command -v readelf >/dev/null && readelf -l "docker/dist/$bin" | grep -q 'program interpreter'; then
      die "docker/dist/$bin is dynamically linked (has a program interpreter): build it with RUSTFLAGS='-C target-feature=+crt-static' and --target"
    fi
  done

  common=$(
    sha256sum docker/Dockerfile.scratch
    cd docker && find rootfs -type f -print0 | sort -z | xargs -0 sha256sum
  )
  for entry in "${TARGETS[@]}"; do
    IFS='|' read -r target tag bins <<<"$entry"
    read -r -a own <<<"$bins"
    # Content hash of everything this image is made of.
    content=$(
      {
        printf '%s\n' "$target" "$common"
        (cd docker/dist && sha256sum "${own[@]}")
      } | sha256sum | cut -c1-16
    )
    have=$(docker image inspect -f '{{index .Config.Labels "cp-harness.content"}}' "$tag" 2>/dev/null || true)
    if [[ $FORCE == 0 && $have == "$content" ]]; then
      log "$tag is up to date (content $content)"
      continue
    fi
    log "docker build -f docker/Dockerfile.scratch --target $target -t $tag docker"
    docker_build -f docker/Dockerfile.scratch --target "$target" \
      --build-arg GIT_SHA="$sha" --label "cp-harness.content=$content" -t "$tag" docker
  done
fi

# Sizes (uncompressed, as `docker images` shows them).
sizes_file=docker/dist/image-sizes.txt
mkdir -p docker/dist
: >"$sizes_file"
for entry in "${TARGETS[@]}"; do
  IFS='|' read -r _ tag _ <<<"$entry"
  bytes=$(docker image inspect -f '{{.Size}}' "$tag")
  mb=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1000000 }')
  printf '%s %s bytes (%s MB)\n' "$tag" "$bytes" "$mb" | tee -a "$sizes_file"
  if awk -v b="$bytes" -v m="$MAX_MB" 'BEGIN { exit !(b > m * 1000000) }'; then
    log "WARNING: $tag is $mb MB, above the $MAX_MB MB target"
  fi
done
