#!/usr/bin/env bash
# xfail: D2 — tenants used to ignore CP_UPSTREAM_URL
set -euo pipefail
exit 0
