#!/usr/bin/env bash
# The compose gate: the whole "Harness Replays" job against compose.yml.
#
#   docker/compose-gate.sh            # build images, up, wait, seed, replays, down
#   KEEP_UP=1 docker/compose-gate.sh  # leave the stack up (and .seed.env) afterwards
#
# Steps (each prints a banner and its time):
#   1. build    docker/build-images.sh (incremental; skipped with CP_HARNESS_NO_BUILD=1,
#               which only checks that the images exist), and the host's seed and
#               replays (cargo build, dev profile; skipped when SEED_BIN / REPLAYS_BIN are set)
#   2. up       <compose> -p <project> up -d
#   3. wait     every service healthy (docker health status; a service whose image
#               has no healthcheck is probed over HTTP on its published port),
#               failing fast when a container exits; GATE_UP_TIMEOUT seconds in all
#   4. seed     seed --out <env file> with CP_STUB_BASE=http://127.0.0.1:<stub port>
#   5. replays  replays run --env-file <env file> (every replay in replays/cases)
#   6. down     <compose> down -v (skipped with KEEP_UP=1)
# On any failure the services' logs are printed. Exit status: the replays'
# (0 all passed, 1 failures, 2 configuration error); 1 or 2 from an earlier
# step that failed (seed's own code; 2 when the stack did not come up).
#
# Environment:
#   KEEP_UP=1                  leave the stack up; prints how to take it down
#   COMPOSE                    compose command ["docker compose" when it works, else docker-compose]
#   COMPOSE_PROJECT_NAME       project name [cp-harness-gate-<pid>; cp-harness with KEEP_UP=1]
#   CP_STUB_PORT, ALPHA_PORT, BETA_PORT   host ports [9090, 8081, 8082]
#   TENANT_IMAGE, CP_STUB_IMAGE           images (see compose.yml)
#   CP_HARNESS_NO_BUILD=1      do not build images
#   GATE_UP_TIMEOUT            seconds for the stack to become healthy [120]
#   SEED_BIN, REPLAYS_BIN      binaries to run [built here: $CARGO_TARGET_DIR/debug/{seed,replays}]
#   SEED_ENV_FILE              env file seed writes [a temp file; .seed.env with KEEP_UP=1]
#   GATE_REPORT_DIR            where replays writes JUnit and JSON reports [target/compose-gate]
#   REPLAYS_*                  passed through to replays (REPLAYS_FILTER, REPLAYS_JOBS, ...)
#
# This script is the straight-line version of `replays gate --stack compose`.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

KEEP_UP=${KEEP_UP:-0}
export CP_STUB_PORT=${CP_STUB_PORT:-9090}
export ALPHA_PORT=${ALPHA_PORT:-8081}
export BETA_PORT=${BETA_PORT:-8082}
UP_TIMEOUT=${GATE_UP_TIMEOUT:-120}
SERVICES=(cp-stub tenant-alpha tenant-beta)
if [[ $KEEP_UP == 1 ]]; then
  PROJECT=${COMPOSE_PROJECT_NAME:-cp-harness}
else
  PROJECT=${COMPOSE_PROJECT_NAME:-cp-harness-gate-$$}
fi
REPORT_DIR=${GATE_REPORT_DIR:-$ROOT/target/compose-gate}
STUB_URL=http://127.0.0.1:$CP_STUB_PORT

if [[ -z ${COMPOSE:-} ]]; then
  if docker compose version >/dev/null 2>&1; then
    COMPOSE="docker compose"
  elif command -v docker-compose >/dev/null; then
    COMPOSE=docker-compose
  else
    echo "compose-gate: neither 'docker compose' nor 'docker-compose' is installed (Debian: apt-get install -y docker-compose)" >&2
    exit 2
  fi
fi
# shellcheck disable=SC2206 # "docker compose" is two words on purpose
COMPOSE_CMD=($COMPOSE -f "$ROOT/compose.yml" -p "$PROJECT")
compose() { "${COMPOSE_CMD[@]}" "$@"; }

GATE_START=$(date +%s)
STEP_START=$GATE_START
# Close the current step (print its time).
end_step() {
  if [[ -n ${STEP_NAME:-} ]]; then
    printf '[compose-gate] %s: %d s\n' "$STEP_NAME" $(($(date +%s) - STEP_START))
  fi
  STEP_NAME=""
}
step() {
  end_step
  STEP_NAME=$1
  STEP_START=$(date +%s)
  printf '\n==== [compose-gate] %s ====\n' "$1"
}
say() { printf '[compose-gate] %s\n' "$*"; }

UP=0
FAILED_STEP=""
ENV_FILE_IS_TEMP=0

print_logs() {
  [[ $UP == 1 ]] || return 0
  printf '\n==== [compose-gate] services (failed at: %s) ====\n' "${FAILED_STEP:-?}"
  compose ps || true
  for svc in "${SERVICES[@]}"; do
    printf '\n---- logs: %s (last 200 lines) ----\n' "$svc"
    compose logs --no-color --tail=200 "$svc" || true
  done
}

cleanup() {
  local rc=$?
  set +e
  end_step
  if [[ $rc != 0 ]]; then
    print_logs
  fi
  if [[ $UP == 1 ]]; then
    if [[ $KEEP_UP == 1 ]]; then
      say "KEEP_UP=1: the stack stays up (project $PROJECT). Take it down with:"
      say "  $COMPOSE -f compose.yml -p $PROJECT down -v"
    else
      step down
      compose down -v --timeout 5 >/dev/null 2>&1 || compose down -v --timeout 5
      end_step
    fi
  fi
  if [[ $ENV_FILE_IS_TEMP == 1 ]]; then
    rm -f "$SEED_ENV_FILE"
  fi
  say "total: $(($(date +%s) - GATE_START)) s, exit $rc"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- 1. build
step build
if [[ ${CP_HARNESS_NO_BUILD:-0} == 1 ]]; then
  for img in "${CP_STUB_IMAGE:-cp-harness/cp-stub:local}" "${TENANT_IMAGE:-cp-harness/tenant-double:local}"; do
    docker image inspect "$img" >/dev/null 2>&1 ||
      say "image $img is not present locally; compose will try to pull it (build ours with docker/build-images.sh)"
  done
else
  FAILED_STEP=images
  "$ROOT/docker/build-images.sh" || exit 2
fi
if [[ -z ${SEED_BIN:-} || -z ${REPLAYS_BIN:-} ]]; then
  FAILED_STEP=build
  cargo build --bin seed --bin replays || exit 2
  SEED_BIN=${SEED_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/seed}
  REPLAYS_BIN=${REPLAYS_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/replays}
fi
for bin in "$SEED_BIN" "$REPLAYS_BIN"; do
  [[ -x $bin ]] || {
    say "$bin is not an executable (SEED_BIN / REPLAYS_BIN)"
    exit 2
  }
done

# ---------------------------------------------------------------- 2. up
step "up (project $PROJECT, $COMPOSE)"
FAILED_STEP=up
UP=1
if ! compose up -d; then
  say "'$COMPOSE up -d' failed (a port in use? CP_STUB_PORT=$CP_STUB_PORT ALPHA_PORT=$ALPHA_PORT BETA_PORT=$BETA_PORT)"
  exit 2
fi

# ---------------------------------------------------------------- 3. wait
step "wait for healthy (timeout ${UP_TIMEOUT}s)"
FAILED_STEP=wait
http_ok() { curl -fsS --noproxy '*' -m 2 -o /dev/null "$1" 2>/dev/null; }
published_health_url() {
  case $1 in
    cp-stub) echo "$STUB_URL/healthz" ;;
    tenant-alpha) echo "http://127.0.0.1:$ALPHA_PORT/health" ;;
    tenant-beta) echo "http://127.0.0.1:$BETA_PORT/health" ;;
  esac
}
deadline=$(($(date +%s) + UP_TIMEOUT))
last_report=0
while :; do
  ready=0 summary=""
  for svc in "${SERVICES[@]}"; do
    cid=$(compose ps -q "$svc" 2>/dev/null || true)
    if [[ -z $cid ]]; then
      state="missing"
    else
      state=$(docker inspect -f '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}} {{.State.ExitCode}}' "$cid" 2>/dev/null || echo "missing - -")
    fi
    read -r status health code <<<"$state"
    case $status in
      exited | dead)
        say "$svc stopped (exit code $code) before the stack was healthy"
        exit 2
        ;;
    esac
    if [[ $health == healthy ]] || { [[ $health == none && $status == running ]] && http_ok "$(published_health_url "$svc")"; }; then
      ready=$((ready + 1))
      summary+=" $svc=ready"
    else
      summary+=" $svc=$status/$health"
    fi
  done
  if [[ $ready == "${#SERVICES[@]}" ]]; then
    say "healthy:$summary"
    break
  fi
  now=$(date +%s)
  if ((now >= deadline)); then
    say "not healthy after ${UP_TIMEOUT}s:$summary"
    exit 2
  fi
  if ((now - last_report >= 5)); then
    say "waiting:$summary"
    last_report=$now
  fi
  sleep 1
done
if version=$(curl -fsS --noproxy '*' -m 5 "$STUB_URL/__/stub/version" 2>/dev/null); then
  say "cp-stub version: $version"
fi

# ---------------------------------------------------------------- 4. seed
step seed
FAILED_STEP=seed
export CP_STUB_BASE=$STUB_URL
export ALPHA_BASE=http://127.0.0.1:$ALPHA_PORT
export BETA_BASE=http://127.0.0.1:$BETA_PORT
if [[ -z ${SEED_ENV_FILE:-} ]]; then
  if [[ $KEEP_UP == 1 ]]; then
    SEED_ENV_FILE=$ROOT/.seed.env
  else
    SEED_ENV_FILE=$(mktemp "${TMPDIR:-/tmp}/cp-harness-seed.XXXXXX")
    rm -f "$SEED_ENV_FILE" # seed writes it atomically itself
    ENV_FILE_IS_TEMP=1
  fi
fi
export SEED_ENV_FILE
seed_rc=0
"$SEED_BIN" --out "$SEED_ENV_FILE" --stack-id "$PROJECT" || seed_rc=$?
if [[ $seed_rc != 0 ]]; then
  say "seed failed (exit $seed_rc)"
  exit "$seed_rc"
fi

# ---------------------------------------------------------------- 5. replays
step replays
FAILED_STEP=replays
mkdir -p "$REPORT_DIR"
replays_rc=0
"$REPLAYS_BIN" run --env-file "$SEED_ENV_FILE" \
  --junit "$REPORT_DIR/junit.xml" --json "$REPORT_DIR/report.json" || replays_rc=$?
say "replays exit $replays_rc (reports in $REPORT_DIR)"
[[ $replays_rc == 0 ]] && FAILED_STEP=""
exit "$replays_rc"
