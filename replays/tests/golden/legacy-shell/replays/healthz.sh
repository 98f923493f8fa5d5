#!/usr/bin/env bash
# description: the stub is up, as the old harness checked it
set -euo pipefail
: "${CP_STUB_BASE:?}"
body=$(curl -fsS "$CP_STUB_BASE/healthz")
[ "$body" = '{"status":"ok"}' ]
[ "$SHELL_ONLY_VAR" = from-env ]
[ -n "$REPLAY_ID" ] && [ "$REPLAY_NAME" = healthz ]
echo "[replay] healthz ok"
